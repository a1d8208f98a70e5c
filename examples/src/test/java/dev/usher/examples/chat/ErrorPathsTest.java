package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every error of the example server is answered with its status and a JSON body naming the problem, never a
 * closed connection; and a request turned away (400, 405, 413, 429, 503) leaves no session and no workspace.
 */
class ErrorPathsTest {
    @TempDir
    Path dataDir;
    private ChatServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    private void start(Map<String, String> overrides) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("USHER_PORT", "0");
        env.put("USHER_DATA_DIR", dataDir.toString());
        env.put("USHER_TOKEN_DELAY_MS", "5");
        env.putAll(overrides);
        server = ChatServer.start(Config.from(env));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Asserts the status and a JSON error body {@code {"error": status, "message": "...<fragment>..."}}. */
    private HttpResponse<String> expectError(int status, String fragment, String method, String path, String body)
            throws Exception {
        HttpResponse<String> r = send(method, path, body);
        assertThat(r.statusCode()).as("%s %s %s", method, path, r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        Map<?, ?> json = Client.JSON.readValue(r.body(), Map.class);
        assertThat(json.get("error")).isEqualTo(status);
        assertThat((String) json.get("message")).contains(fragment);
        return r;
    }

    private void assertNothingCreated() throws Exception {
        assertThat(server.gate().sessions().stats().created()).isZero();
        Path workspaces = dataDir.resolve("workspaces");
        if (Files.isDirectory(workspaces)) {
            try (var dirs = Files.list(workspaces)) {
                assertThat(dirs.filter(p -> !p.getFileName().toString().startsWith("."))).isEmpty();
            }
        }
    }

    @Test
    void badJsonIs400() throws Exception {
        start(Map.of());
        expectError(400, "not valid JSON", "POST", "/api/workflow/execute", "{\"prompt\": ");
        expectError(400, "not valid JSON", "POST", "/api/login", "user=alice");
        expectError(400, "must be a JSON object", "POST", "/api/workflow/execute", "[\"prompt\"]");
        expectError(400, "'prompt' must be a string", "POST", "/api/workflow/execute", "{\"prompt\": {\"a\": 1}}");
        assertNothingCreated();
    }

    @Test
    void aMissingPromptIs400() throws Exception {
        start(Map.of());
        expectError(400, "'prompt' is required", "POST", "/api/workflow/execute", "{}");
        expectError(400, "'prompt' is required", "POST", "/api/workflow/execute", "{\"prompt\": \"   \"}");
        expectError(400, "'prompt' is required", "POST", "/api/workflow/execute", "");
        assertNothingCreated();
    }

    @Test
    void aWrongMethodIs405WithAllow() throws Exception {
        start(Map.of());
        HttpResponse<String> r = expectError(405, "use POST", "GET", "/api/workflow/execute", null);
        assertThat(r.headers().firstValue("Allow")).hasValue("POST");
        expectError(405, "use POST", "PUT", "/api/login", "{}");
        expectError(405, "use GET", "POST", "/api/queue", "{}");
        expectError(405, "use GET", "DELETE", "/healthz", null);
        expectError(405, "use GET", "POST", "/metrics", "{}");
        expectError(405, "use GET", "POST", "/", "{}");
        assertNothingCreated();
    }

    @Test
    void anOversizedPromptOrBodyIs413() throws Exception {
        start(Map.of());
        expectError(413, "over the limit of 4000", "POST", "/api/workflow/execute",
                "{\"prompt\": \"" + "x".repeat(4_001) + "\"}");
        expectError(413, "over the limit of 65536 bytes", "POST", "/api/workflow/execute",
                "{\"prompt\": \"" + "x".repeat(70_000) + "\"}");
        expectError(413, "over the limit of 64", "POST", "/api/login", "{\"user\": \"" + "n".repeat(65) + "\"}");
        assertNothingCreated();
    }

    @Test
    void aLoginWithoutANameIs400() throws Exception {
        start(Map.of());
        expectError(400, "'user' is required", "POST", "/api/login", "{}");
        expectError(400, "'user' is required", "POST", "/api/login", "{\"user\": \" \"}");
        expectError(400, "'user' is required", "POST", "/api/login", "{\"user\": null}");
        expectError(400, "'user' must be a string", "POST", "/api/login", "{\"user\": 42}");
        assertNothingCreated();
    }

    @Test
    void unknownPathsAre404AndFilesWithoutASessionAre401() throws Exception {
        start(Map.of());
        expectError(404, "no such page", "GET", "/nope", null);
        expectError(404, "no such endpoint", "POST", "/api/login/extra", "{}");
        expectError(404, "no such endpoint", "GET", "/api/queue/x", null);
        expectError(401, "no session", "GET", "/api/workspace/files/", null);
        expectError(404, "admin API is off", "GET", "/api/admin/sessions", null);
        assertNothingCreated();
    }

    @Test
    void aWrongMethodOnTheWorkspaceIs405() throws Exception {
        start(Map.of());
        Client client = new Client(server.port());
        client.login("alice");
        HttpResponse<String> r = client.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/api/workspace/files/a.txt")).method("PATCH", HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.headers().firstValue("Allow")).hasValue("PUT, GET, DELETE");
        assertThat(r.body()).contains("\"error\":405");
    }

    @Test
    void requestsTurnedAwayWith429Or503CreateNoSessionAndNoWorkspace() throws Exception {
        start(Map.of("USHER_MAX_RUNNING", "1", "USHER_MAX_QUEUED", "0", "USHER_TOKEN_DELAY_MS", "100",
                "USHER_REQUESTS_PER_MINUTE", "1000", "USHER_BURST_PER_SECOND", "1000"));
        Client first = new Client(server.port());
        first.login("first");
        HttpResponse<InputStream> running = first.execute("a long question");
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(running.body()))) {
            assertThat(lines.readLine()).contains("\"started\"");
            long sessions = server.gate().sessions().stats().active();
            long workspaces = countWorkspaces();
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> refused = send("POST", "/api/workflow/execute", "{\"prompt\": \"me too\"}");
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(refused.headers().firstValue("Retry-After")).isPresent();
                assertThat(refused.headers().firstValue("Set-Cookie")).isEmpty();
                assertThat(Client.JSON.readValue(refused.body(), Map.class).get("error")).isEqualTo(503);
            }
            assertThat(server.gate().sessions().stats().active()).isEqualTo(sessions);
            assertThat(countWorkspaces()).isEqualTo(workspaces);
        }
        server.close();
        server = null;
        start(Map.of("USHER_REQUESTS_PER_MINUTE", "1", "USHER_BURST_PER_SECOND", "1"));
        assertThat(send("POST", "/api/workflow/execute", "{\"prompt\": \"one\"}").statusCode()).isEqualTo(200);
        long sessions = server.gate().sessions().stats().active();
        long workspaces = countWorkspaces();
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> limited = send("POST", "/api/workflow/execute", "{\"prompt\": \"again\"}");
            assertThat(limited.statusCode()).isEqualTo(429);
            assertThat(limited.headers().firstValue("Retry-After")).isPresent();
            assertThat(limited.headers().firstValue("Set-Cookie")).isEmpty();
        }
        assertThat(server.gate().sessions().stats().active()).isEqualTo(sessions);
        assertThat(countWorkspaces()).isEqualTo(workspaces);
    }

    private long countWorkspaces() throws Exception {
        Path workspaces = dataDir.resolve("workspaces");
        if (!Files.isDirectory(workspaces)) {
            return 0;
        }
        try (var dirs = Files.list(workspaces)) {
            return dirs.filter(p -> !p.getFileName().toString().startsWith(".")).count();
        }
    }
}
