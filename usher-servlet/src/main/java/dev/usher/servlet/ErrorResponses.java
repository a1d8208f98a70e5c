package dev.usher.servlet;

import dev.usher.gate.GateOutcome;
import dev.usher.gate.ratelimit.RateLimitHeaders;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The filter's JSON refusals ({@code {"error", "message", "retryAfterSeconds"}}), written the same way by
 * {@link UsherFilter} on the container's thread and by {@link QueuedWait} after a streamed wait. Stateless.
 */
final class ErrorResponses {
    private ErrorResponses() {
    }

    static String message(GateOutcome.Rejected.Reason reason) {
        return switch (reason) {
            case QUEUE_FULL -> "The queue is full.";
            case TIMED_OUT -> "The wait in the queue passed its limit.";
            case CANCELLED -> "The request left the queue.";
        };
    }

    /** 503 with {@code Retry-After} (whole seconds, rounded up, at least 1); the response must not be committed. */
    static void unavailable(HttpServletResponse response, String error, String message, Duration retryAfter)
            throws IOException {
        long seconds = Math.max(1, ceilSeconds(retryAfter));
        response.setHeader(RateLimitHeaders.RETRY_AFTER, Long.toString(seconds));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", error);
        body.put("message", message);
        body.put("retryAfterSeconds", seconds);
        json(response, 503, body);
    }

    static void json(HttpServletResponse response, int status, Map<String, Object> body) throws IOException {
        byte[] bytes = Json.object(body).getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
        response.flushBuffer();
    }

    static long ceilSeconds(Duration d) {
        return d.getSeconds() + (d.getNano() > 0 ? 1 : 0);
    }
}
