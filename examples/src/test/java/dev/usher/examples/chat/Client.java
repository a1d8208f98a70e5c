package dev.usher.examples.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.CookieManager;
import java.net.HttpCookie;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** One browser-like user of the example server: its own cookie jar, hence its own session. */
final class Client {
    static final ObjectMapper JSON = new ObjectMapper();
    final CookieManager cookies;
    final HttpClient http;
    final URI base;
    /** Sent with every request (e.g. Authorization, X-Forwarded-For). */
    final Map<String, String> headers = new java.util.concurrent.ConcurrentHashMap<>();

    Client(int port) {
        this(port, new CookieManager());
    }

    private Client(int port, CookieManager cookies) {
        this(URI.create("http://127.0.0.1:" + port), cookies);
    }

    /** A client of {@code base}, e.g. a stand-in reverse proxy in front of the server. */
    Client(URI base, CookieManager cookies) {
        this.cookies = cookies;
        this.http = HttpClient.newBuilder().cookieHandler(cookies).build();
        this.base = base;
    }

    Client header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri);
        headers.forEach(b::header);
        return b;
    }

    /** The same user (same cookies) talking to another server. */
    Client on(int port) {
        return new Client(port, cookies);
    }

    /** Presents {@code sessionId} as the session cookie, as a returning browser would. */
    void useSession(String sessionId) {
        HttpCookie cookie = new HttpCookie("USHER_SESSION", sessionId);
        cookie.setPath("/");
        cookie.setVersion(0); // a plain Netscape/RFC 6265 cookie, as browsers send it
        cookies.getCookieStore().add(base, cookie);
    }

    String sessionId() {
        for (HttpCookie c : cookies.getCookieStore().getCookies()) {
            if (c.getName().equals("USHER_SESSION")) {
                return c.getValue();
            }
        }
        return null;
    }

    HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return http.send(request(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String rawPath) throws IOException, InterruptedException {
        return http.send(request(URI.create(base + rawPath)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> put(String rawPath, String body) throws IOException, InterruptedException {
        return http.send(request(URI.create(base + rawPath))
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> delete(String rawPath) throws IOException, InterruptedException {
        return http.send(request(URI.create(base + rawPath)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    void login(String user) throws IOException, InterruptedException {
        HttpResponse<String> r = post("/api/login", "{\"user\":\"" + user + "\"}");
        if (r.statusCode() != 200) {
            throw new IllegalStateException("login failed: " + r.statusCode() + " " + r.body());
        }
    }

    /** Opens the execute stream; the caller reads events and closes it. */
    HttpResponse<InputStream> execute(String prompt) throws IOException, InterruptedException {
        return http.send(request(base.resolve("/api/workflow/execute")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("prompt", prompt, "projectName", "proj " + prompt))))
                .build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    /** Runs one prompt to the end, handing each event to {@code onEvent}; returns all events. */
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> run(String prompt, Consumer<Map<String, Object>> onEvent) throws IOException, InterruptedException {
        HttpResponse<InputStream> response = execute(prompt);
        List<Map<String, Object>> events = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            if (response.statusCode() != 200) {
                Map<String, Object> error = JSON.readValue(lines, Map.class);
                error.put("status", response.statusCode());
                events.add(error);
                return events;
            }
            String line;
            while ((line = lines.readLine()) != null) {
                Map<String, Object> event = JSON.readValue(line, Map.class);
                events.add(event);
                onEvent.accept(event);
            }
        }
        return events;
    }
}
