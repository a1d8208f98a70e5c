package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.WorkflowGate;
import dev.usher.session.SessionManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The example application end to end on a real port, one subclass per session store. Each test works
 * with its own session (from /api/login), so the per-session rate limit of one test never meets another's.
 */
abstract class ChatApplicationContract {
    static final Duration PATIENCE = Duration.ofSeconds(60);

    @LocalServerPort
    int port;
    @Autowired
    WorkflowGate<?> gate;
    @Autowired
    SessionManager sessions;
    @Autowired
    dev.usher.servlet.UsherFilter filter;

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    HttpResponse<String> post(String path, String json, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(PATIENCE)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(PATIENCE).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static String cookie(HttpResponse<?> response) {
        String setCookie = response.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie).startsWith("USHER_SESSION=").contains("HttpOnly").contains("SameSite=Lax");
        return setCookie.substring("USHER_SESSION=".length(), setCookie.indexOf(';'));
    }

    String login(String user) throws Exception {
        HttpResponse<String> response = post("/api/login", "{\"user\":\"" + user + "\"}");
        assertThat(response.statusCode()).isEqualTo(200);
        return cookie(response);
    }

    @Test
    void runsAWorkflowForTheSessionInTheStore() throws Exception {
        String id = login("ada");
        assertThat(sessions.find(id)).hasValueSatisfying(s -> assertThat(s.owner()).isEqualTo("ada"));
        HttpResponse<String> run = post("/api/workflow/execute", "{\"prompt\":\"hello\"}", "Cookie", "USHER_SESSION=" + id);
        assertThat(run.statusCode()).isEqualTo(200);
        assertThat(run.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/x-ndjson"));
        assertThat(run.headers().firstValue("Set-Cookie")).isEmpty();
        assertThat(run.body()).contains("{\"type\":\"started\",").contains("{\"type\":\"token\",\"text\":\"\\\"hello\\\". \"}")
                .endsWith("{\"type\":\"done\"}\n");
        assertThat(sessions.find(id)).hasValueSatisfying(s -> assertThat(s.attributes()).isNotEmpty()); // the workspace mapping
    }

    @Test
    void asyncResponseKeepsItsRunUntilItCompletes() throws Exception {
        String id = login("async");
        HttpResponse<String> run = post("/api/workflow/answer?prompt=later", "", "Cookie", "USHER_SESSION=" + id);
        assertThat(run.statusCode()).isEqualTo(200);
        assertThat(run.body()).startsWith("You asked: \"later\".").endsWith("here. ");
        assertThat(gate.queue().stats().admitted()).isPositive();
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while ((filter.inFlight() > 0 || gate.queue().stats().running() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(filter.inFlight()).isZero();
        assertThat(gate.queue().stats().running()).isZero();
    }

    @Test
    void loginRotatesTheSessionId() throws Exception {
        // (not an anonymous run first: with limits in Redis, the per-address bucket outlives this test run)
        String before = login("ada");
        HttpResponse<String> login = post("/api/login", "{\"user\":\"grace\"}", "Cookie", "USHER_SESSION=" + before);
        String rotated = cookie(login);
        assertThat(rotated).isNotEqualTo(before);
        assertThat(sessions.find(before)).isEmpty();
        assertThat(sessions.find(rotated)).hasValueSatisfying(s -> assertThat(s.owner()).isEqualTo("grace"));
    }

    @Test
    void streamedRequestsAllGetAdmittedAndAnswered() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> runs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String id = login("user" + i);
            runs.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/workflow/execute"))
                    .timeout(PATIENCE).header("Content-Type", "application/json").header("Accept", "application/x-ndjson")
                    .header("Cookie", "USHER_SESSION=" + id)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"q" + i + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : runs) {
            HttpResponse<String> r = f.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            List<String> types = r.body().lines().filter(l -> !l.contains("keepalive"))
                    .map(l -> l.substring(9, l.indexOf('"', 9))).distinct().toList();
            // queued and position events, if any, come before admission; the answer after it
            assertThat(types).containsSubsequence("admitted", "started", "token", "done");
            assertThat(types.indexOf("admitted")).isGreaterThanOrEqualTo(types.contains("queued") ? 1 : 0);
        }
        assertThat(gate.queue().stats().running()).isZero();
        assertThat(gate.queue().stats().queued()).isZero();
    }

    @Test
    void rateLimitAnswers429WithTheStandardHeaders() throws Exception {
        String id = login("mallory");
        int ok = 0;
        HttpResponse<String> limited = null;
        for (int i = 0; i < 20 && limited == null; i++) {
            HttpResponse<String> r = post("/api/workflow/execute", "{\"prompt\":\"x\"}", "Cookie", "USHER_SESSION=" + id);
            if (r.statusCode() == 429) {
                limited = r;
            } else {
                assertThat(r.statusCode()).isEqualTo(200);
                ok++;
            }
        }
        assertThat(ok).isEqualTo(3); // usher.rate-limit.limits.test.quota in the test properties
        assertThat(limited).isNotNull();
        assertThat(limited.headers().firstValue("RateLimit-Policy")).hasValueSatisfying(v -> assertThat(v).contains("\"test\";q=3;w=3600"));
        assertThat(limited.headers().firstValue("RateLimit")).hasValueSatisfying(v -> assertThat(v).contains("\"test\";r=0;"));
        assertThat(limited.headers().firstValue("Retry-After")).isPresent();
        assertThat(limited.body()).contains("\"error\":\"rate_limited\"");
    }

    @Test
    void healthAndMetricsAreExposed() throws Exception {
        HttpResponse<String> health = get("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(componentStatus(health.body(), "usherSessionStore")).isEqualTo("UP");
        post("/api/workflow/execute", "{\"prompt\":\"metrics\"}", "Cookie", "USHER_SESSION=" + login("meter"));
        HttpResponse<String> admitted = get("/actuator/metrics/usher.queue.admitted");
        assertThat(admitted.statusCode()).isEqualTo(200);
        assertThat(admitted.body()).contains("\"name\":\"usher.queue.admitted\"");
    }

    /** The status of one health component in the /actuator/health JSON. */
    static String componentStatus(String healthJson, String component) {
        int at = healthJson.indexOf("\"" + component + "\":{");
        assertThat(at).as("health component %s in %s", component, healthJson).isNotNegative();
        int status = healthJson.indexOf("\"status\":\"", at) + "\"status\":\"".length();
        return healthJson.substring(status, healthJson.indexOf('"', status));
    }

    @Test
    void thePageIsServed() throws Exception {
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<title>Usher example chat</title>").contains("application/x-ndjson");
    }
}
