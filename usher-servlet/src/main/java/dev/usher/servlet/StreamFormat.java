package dev.usher.servlet;

import jakarta.servlet.http.HttpServletRequest;
import java.util.Locale;
import java.util.Optional;

/**
 * How {@link UsherFilter} streams a queued request's positions: chosen by the request's {@code Accept}
 * header. The handler that runs after admission keeps writing in the same format.
 */
public enum StreamFormat {
    /** {@code application/x-ndjson}: one JSON object per line, e.g. {@code {"type":"position","position":3}}. */
    NDJSON("application/x-ndjson"),
    /** {@code text/event-stream} (Server-Sent Events): {@code event: position} then {@code data: {...}}. */
    SSE("text/event-stream");

    private final String mediaType;

    StreamFormat(String mediaType) {
        this.mediaType = mediaType;
    }

    public String mediaType() {
        return mediaType;
    }

    /** The format the request's {@code Accept} header asks for, if it names one of these. */
    static Optional<StreamFormat> requestedBy(HttpServletRequest request) {
        String accept = request.getHeader("Accept");
        if (accept == null) {
            return Optional.empty();
        }
        String lower = accept.toLowerCase(Locale.ROOT);
        if (lower.contains(SSE.mediaType)) {
            return Optional.of(SSE);
        }
        if (lower.contains(NDJSON.mediaType)) {
            return Optional.of(NDJSON);
        }
        return Optional.empty();
    }

    /** One event, framed for this format. {@code json} is a JSON object with a "type" member. */
    String frame(String type, String json) {
        return this == NDJSON ? json + "\n" : "event: " + type + "\ndata: " + json + "\n\n";
    }

    /** A keep-alive: NDJSON readers get an event they ignore, SSE readers a comment. */
    String keepAlive() {
        return this == NDJSON ? "{\"type\":\"keepalive\"}\n" : ": keepalive\n\n";
    }
}
