package dev.usher.examples.chat;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * A streamed {@code application/x-ndjson} response: one JSON object per line, flushed at once so the
 * browser sees each event as it happens. The status line and headers go out with the first event.
 * A write to a client that went away throws {@link UncheckedIOException}, which is how the server
 * learns of the disconnect and gives back the queue place or the run.
 */
final class NdjsonStream implements AutoCloseable {
    private final HttpExchange exchange;
    private OutputStream out;

    NdjsonStream(HttpExchange exchange) {
        this.exchange = exchange;
    }

    boolean started() {
        return out != null;
    }

    void send(Map<String, ?> event) {
        try {
            if (out == null) {
                exchange.getResponseHeaders().set("Content-Type", "application/x-ndjson; charset=utf-8");
                exchange.getResponseHeaders().set("Cache-Control", "no-store");
                exchange.sendResponseHeaders(200, 0); // 0 = chunked
                out = exchange.getResponseBody();
            }
            out.write(Http.JSON.writeValueAsBytes(event));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("client went away", e);
        }
    }

    @Override
    public void close() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            // the client is gone; nothing left to tell it
        }
    }
}
