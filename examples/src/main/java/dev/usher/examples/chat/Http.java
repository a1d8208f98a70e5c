package dev.usher.examples.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Small helpers for the JDK's {@code HttpServer}: JSON in and out, client errors, the request executor. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_JSON_BODY = 64 * 1024;

    private Http() {
    }

    /** Virtual threads when the JDK has them (21+), so each waiting request costs almost nothing. */
    static ExecutorService requestExecutor() {
        try {
            Method m = Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
            return (ExecutorService) m.invoke(null);
        } catch (ReflectiveOperationException e) {
            return Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "chat-request");
                t.setDaemon(true);
                return t;
            });
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> readJson(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_JSON_BODY + 1);
            if (body.length > MAX_JSON_BODY) {
                throw new ClientError(413, "the request body is over the limit of " + MAX_JSON_BODY + " bytes");
            }
            if (body.length == 0) {
                return Map.of();
            }
            try {
                Object parsed = JSON.readValue(body, Object.class);
                if (parsed instanceof Map<?, ?> map) {
                    return (Map<String, Object>) map;
                }
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw ClientError.badRequest("the request body is not valid JSON: " + e.getOriginalMessage());
            }
            throw ClientError.badRequest("the request body must be a JSON object");
        }
    }

    /** A string field: null when absent or JSON null; 400 when not a string; 413 when over {@code maxLength}. */
    static String string(Map<String, Object> json, String field, int maxLength) {
        Object value = json.get(field);
        if (value == null) {
            return null;
        }
        if (!(value instanceof String s)) {
            throw ClientError.badRequest("'" + field + "' must be a string");
        }
        if (s.length() > maxLength) {
            throw new ClientError(413, "'" + field + "' is " + s.length() + " characters, over the limit of " + maxLength);
        }
        return s;
    }

    static void sendJson(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    static void sendText(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    static void sendError(HttpExchange exchange, int status, String message) throws IOException {
        sendJson(exchange, status, Map.of("error", status, "message", message));
    }

    /**
     * A client error with a message safe to show, answered with its status and a JSON body
     * {@code {"error": status, "message": ...}}; a 405 also names the allowed methods.
     */
    static final class ClientError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        final int status;
        final String allow;

        ClientError(int status, String message) {
            this(status, message, null);
        }

        private ClientError(int status, String message, String allow) {
            super(message, null, false, false); // control flow, not a fault: no stack trace
            this.status = status;
            this.allow = allow;
        }

        static ClientError badRequest(String message) {
            return new ClientError(400, message);
        }

        static ClientError methodNotAllowed(String... allowed) {
            String list = String.join(", ", allowed);
            return new ClientError(405, "use " + list, list);
        }
    }
}
