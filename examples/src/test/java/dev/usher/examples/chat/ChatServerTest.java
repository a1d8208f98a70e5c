package dev.usher.examples.chat;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.AdmissionStats;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example server over HTTP, on its embedded default (a SQLite file), with real clients. */
class ChatServerTest {
    @TempDir
    Path dataDir;
    private ChatServer server;

    private ChatServer start(Map<String, String> overrides) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("USHER_PORT", "0");
        env.put("USHER_DATA_DIR", dataDir.toString());
        env.put("USHER_TOKEN_DELAY_MS", "5");
        env.putAll(overrides);
        server = ChatServer.start(Config.from(env));
        return server;
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    @Tag("slow") // seconds of real waiting: run by the README test command, not by plain mvn test
    void moreUsersThanRunsWaitInLineAndAllGetTheirAnswer() throws Exception {
        start(Map.of("USHER_MAX_RUNNING", "1", "USHER_TOKEN_DELAY_MS", "20"));
        int users = 4;
        // Samples the server's running count throughout: it must never pass maxRunning.
        java.util.concurrent.atomic.AtomicBoolean sampling = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger maxRunningSeen = new java.util.concurrent.atomic.AtomicInteger();
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                maxRunningSeen.accumulateAndGet(server.gate().queue().stats().running(), Math::max);
                Thread.onSpinWait();
            }
        });
        sampler.start();
        ExecutorService pool = Executors.newFixedThreadPool(users);
        List<Future<List<Map<String, Object>>>> results = new ArrayList<>();
        for (int u = 0; u < users; u++) {
            Client client = new Client(server.port());
            client.login("user" + u);
            int user = u;
            results.add(pool.submit(() -> client.run("hello " + user, e -> { })));
        }
        int queuedUsers = 0;
        for (Future<List<Map<String, Object>>> f : results) {
            List<Map<String, Object>> events = f.get(2, TimeUnit.MINUTES);
            List<Object> types = events.stream().map(e -> e.get("type")).toList();
            assertThat(types).contains("started", "token", "done");
            assertThat(types.get(types.size() - 1)).isEqualTo("done");
            if (types.get(0).equals("queued")) {
                queuedUsers++;
                List<Integer> positions = events.stream().filter(e -> e.containsKey("position"))
                        .map(e -> (Integer) e.get("position")).toList();
                assertThat(positions.get(0)).isBetween(1, users - 1);
                assertThat(positions).isSortedAccordingTo((a, b) -> Integer.compare(b, a)); // only moves forward
                assertThat(events.get(0)).containsKey("estimatedWaitSeconds");
            }
        }
        pool.shutdown();
        sampling.set(false);
        sampler.join();
        assertThat(queuedUsers).as("with one run at a time, the others waited").isGreaterThanOrEqualTo(1);
        assertThat(maxRunningSeen.get()).as("never more than maxRunning answers at once").isEqualTo(1);
    }

    @Test
    void overTheRateLimitIs429WithRetryAfterAndRateLimitHeaders() throws Exception {
        start(Map.of("USHER_REQUESTS_PER_MINUTE", "2", "USHER_BURST_PER_SECOND", "100"));
        Client client = new Client(server.port());
        client.login("alice");
        assertThat(client.run("one", e -> { })).last().satisfies(e -> assertThat(e.get("type")).isEqualTo("done"));
        assertThat(client.run("two", e -> { })).last().satisfies(e -> assertThat(e.get("type")).isEqualTo("done"));
        HttpResponse<InputStream> third = client.execute("three");
        third.body().close();
        assertThat(third.statusCode()).isEqualTo(429);
        assertThat(third.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
        assertThat(third.headers().firstValue("RateLimit")).isPresent();
        assertThat(third.headers().firstValue("RateLimit-Policy")).isPresent();
    }

    @Test
    void aFullQueueIs503WithRetryAfter() throws Exception {
        start(Map.of("USHER_MAX_RUNNING", "1", "USHER_MAX_QUEUED", "0", "USHER_TOKEN_DELAY_MS", "100"));
        Client first = new Client(server.port());
        first.login("first");
        HttpResponse<InputStream> running = first.execute("long question");
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(running.body(), StandardCharsets.UTF_8))) {
            assertThat(lines.readLine()).contains("\"started\"");
            Client second = new Client(server.port());
            second.login("second");
            HttpResponse<InputStream> refused = second.execute("me too");
            refused.body().close();
            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        }
    }

    @Test
    void theSessionCookieIsHttpOnlyLaxAndRotatedOnLogin() throws Exception {
        start(Map.of());
        Client client = new Client(server.port());
        HttpResponse<InputStream> first = client.execute("hi");
        first.body().close();
        String cookieHeader = first.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(cookieHeader).startsWith("USHER_SESSION=").contains("HttpOnly").contains("SameSite=Lax").contains("Path=/");
        String anonymousId = client.sessionId();
        assertThat(anonymousId).hasSize(43);

        client.login("alice");
        String loggedInId = client.sessionId();
        assertThat(loggedInId).isNotEqualTo(anonymousId);
        assertThat(server.gate().sessions().find(anonymousId)).as("the pre-login id is dead").isEmpty();
        assertThat(server.gate().sessions().find(loggedInId).orElseThrow().owner()).isEqualTo("alice");
    }

    @Test
    void workspaceFilesGoThroughResolveAndHostilePathsAre400() throws Exception {
        start(Map.of());
        Client client = new Client(server.port());
        assertThat(client.get("/api/workspace/files/").statusCode()).isEqualTo(401);
        client.login("alice");
        assertThat(client.put("/api/workspace/files/notes/today.md", "# 오늘").statusCode()).isEqualTo(200);
        HttpResponse<String> read = client.get("/api/workspace/files/notes/today.md");
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(read.body()).isEqualTo("# 오늘");
        assertThat(client.get("/api/workspace/files/").body()).contains("notes/");
        assertThat(client.get("/api/workspace/files/notes/").body()).contains("today.md");

        for (String hostile : List.of("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "notes%2F..%2F..%2Fsecret",
                "a%00b", "C:%5Cwindows%5Cwin.ini", "%5C%5Cserver%5Cshare")) {
            HttpResponse<String> r = client.put("/api/workspace/files/" + hostile, "x");
            assertThat(r.statusCode()).as(hostile).isEqualTo(400);
            assertThat(r.body()).as(hostile).contains("message");
        }
        assertThat(client.delete("/api/workspace/files/notes/today.md").body()).contains("true");
    }

    @Test
    @Tag("slow") // seconds of real waiting: run by the README test command, not by plain mvn test
    void aClientThatLeavesTheQueueGivesItsPlaceBack() throws Exception {
        start(Map.of("USHER_MAX_RUNNING", "1", "USHER_TOKEN_DELAY_MS", "60"));
        Client runner = new Client(server.port());
        runner.login("runner");
        Client leaver = new Client(server.port());
        leaver.login("leaver");
        HttpResponse<InputStream> running = runner.execute("occupy the only slot");
        BufferedReader runnerLines = new BufferedReader(new InputStreamReader(running.body(), StandardCharsets.UTF_8));
        assertThat(runnerLines.readLine()).contains("\"started\"");

        HttpResponse<InputStream> waiting = leaver.execute("I will not wait");
        BufferedReader leaverLines = new BufferedReader(new InputStreamReader(waiting.body(), StandardCharsets.UTF_8));
        assertThat(leaverLines.readLine()).contains("\"queued\"").contains("\"position\":1");
        waiting.body().close(); // the user closed the tab

        while (runnerLines.readLine() != null) {
            // let the runner finish
        }
        runnerLines.close();
        awaitCondition(() -> {
            AdmissionStats s = server.gate().queue().stats();
            return s.running() == 0 && s.queued() == 0;
        });
        // The place was given back: a third user runs at once.
        Client third = new Client(server.port());
        third.login("third");
        List<Map<String, Object>> events = third.run("after", e -> { });
        assertThat(events.get(0).get("type")).isEqualTo("started");
        assertThat(server.gate().workflows().stats().leased()).isZero();
    }

    @Test
    void adminHealthAndMetrics() throws Exception {
        String token = "an-admin-token-of-some-length";
        start(Map.of("USHER_ADMIN_TOKEN", token));
        Client client = new Client(server.port());
        client.login("alice");
        String id = client.sessionId();
        assertThat(client.get("/api/admin/sessions").statusCode()).isEqualTo(401);
        client.header("Authorization", "Bearer " + token);
        HttpResponse<String> list = client.get("/api/admin/sessions");
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.body()).doesNotContain(id).contains(id.substring(0, 6) + "…").contains("alice");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) Client.JSON.readValue(list.body(), Map.class).get("sessions");
        String handle = (String) rows.get(0).get("handle");
        assertThat(server.gate().sessions().find(handle)).isEmpty();
        assertThat(client.delete("/api/admin/sessions/" + handle).statusCode()).isEqualTo(200);
        assertThat(server.gate().sessions().find(id)).isEmpty();
        assertThat(client.delete("/api/admin/sessions/" + handle).statusCode()).isEqualTo(404);
        assertThat(client.delete("/api/admin/sessions/" + id).statusCode()).as("an id is not a handle").isEqualTo(404);

        HttpResponse<String> health = client.get("/healthz");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("ok");
        HttpResponse<String> metrics = client.get("/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("usher_queue_running").contains("usher_sessions_opened_total")
                .contains("usher_ratelimit_decisions_total").contains("usher_cache_leased{cache=\"workflows\",gate=\"chat\"}")
                .contains("usher_queue_wait_seconds_bucket{gate=\"chat\",queue=\"chat\",le=");
        HttpResponse<String> page = client.get("/");
        assertThat(page.body()).contains("You are #");
    }

    @Test
    void sessionsSurviveARestartOnTheEmbeddedDefault() throws Exception {
        start(Map.of());
        Client client = new Client(server.port());
        client.login("alice");
        client.put("/api/workspace/files/keep.txt", "kept");
        String id = client.sessionId();
        server.close();
        start(Map.of());
        Client again = new Client(server.port());
        again.useSession(id);
        assertThat(server.gate().sessions().find(id).orElseThrow().owner()).isEqualTo("alice");
        assertThat(again.get("/api/workspace/files/keep.txt").body()).isEqualTo("kept");
    }
}
