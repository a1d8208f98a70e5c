package dev.usher.examples.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Small helpers for the JDK's {@code HttpServer}: JSON in and out, cookies, the request executor. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String SESSION_COOKIE = "USHER_SESSION";
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

    static Optional<String> sessionCookie(HttpExchange exchange) {
        for (String header : exchange.getRequestHeaders().getOrDefault("Cookie", java.util.List.of())) {
            for (String part : header.split(";")) {
                String[] kv = part.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals(SESSION_COOKIE)) {
                    String value = kv[1];
                    // RFC 6265 allows the value in double quotes.
                    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                        value = value.substring(1, value.length() - 1);
                    }
                    return Optional.of(value);
                }
            }
        }
        return Optional.empty();
    }

    /** HttpOnly: scripts cannot read it; SameSite=Lax: not sent on cross-site POSTs (CSRF). */
    static void setSessionCookie(HttpExchange exchange, String sessionId) {
        exchange.getResponseHeaders().add("Set-Cookie",
                SESSION_COOKIE + "=" + sessionId + "; Path=/; HttpOnly; SameSite=Lax");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> readJson(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_JSON_BODY + 1);
            if (body.length > MAX_JSON_BODY) {
                throw new BadRequest("request body is over " + MAX_JSON_BODY + " bytes");
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
                throw new BadRequest("request body is not valid JSON: " + e.getOriginalMessage());
            }
            throw new BadRequest("request body must be a JSON object");
        }
    }

    static String string(Map<String, Object> json, String field, int maxLength) {
        Object value = json.get(field);
        if (value == null) {
            return null;
        }
        String s = value.toString();
        if (s.length() > maxLength) {
            throw new BadRequest("'" + field + "' is " + s.length() + " characters, over the limit of " + maxLength);
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

    /** A client error with a message safe to show; answered with 400. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadRequest(String message) {
            super(message);
        }
    }
}
