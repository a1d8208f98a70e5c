package dev.usher.examples.chat;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A streamed {@code application/x-ndjson} response: one JSON object per line, flushed at once so the
 * browser sees each event as it happens. The status line and headers go out with the first event.
 * A write to a client that went away throws {@link UncheckedIOException}, which is how the server
 * learns of the disconnect and gives back the queue place or the run.
 *
 * <p>While the request waits, each call from the gate becomes one event: {@code queued} first, then
 * {@code position} when the place or the estimate changed, and {@code waiting} (the same values again)
 * for the gate's keep-alive tick. The tick is what finds a client that left while the line stood still:
 * the JDK {@code HttpServer} gives no way to read from the connection once the request body is consumed,
 * so a failed write is the only sign. After the peer closed, the first write usually still succeeds (the
 * peer answers it with a reset) and the next one fails, so a departed client is gone from the line within
 * two keep-alive intervals. (A server that can watch the socket, e.g. Netty's {@code channelInactive} or a
 * Servlet container's {@code AsyncListener.onError}, learns it at once.)
 */
final class NdjsonStream implements AutoCloseable {
    private final HttpExchange exchange;
    private OutputStream out;

    NdjsonStream(HttpExchange exchange) {
        this.exchange = exchange;
    }

    private Integer lastPosition;
    private Object lastEstimate;

    boolean started() {
        return out != null;
    }

    /** One event for the gate's observer call; see the class comment. */
    void sendWaiting(int position, Optional<Duration> estimatedWait) {
        Object estimate = estimatedWait.map(d -> Math.ceil(d.toMillis() / 1000.0)).orElse(null);
        String type = !started() ? "queued"
                : Objects.equals(lastPosition, position) && Objects.equals(lastEstimate, estimate) ? "waiting"
                : "position";
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", type);
        event.put("position", position);
        event.put("estimatedWaitSeconds", estimate);
        event.put("estimatedWaitMillis", estimatedWait.map(Duration::toMillis).orElse(null));
        send(event);
        lastPosition = position;
        lastEstimate = estimate;
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
