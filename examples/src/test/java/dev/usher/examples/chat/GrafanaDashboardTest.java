package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Grafana dashboard shipped in {@code examples/grafana/usher-dashboard.json}, checked for real: two
 * example servers under load, a Prometheus server (Debian's {@code prometheus} package, started here on a
 * free port and stopped by its PID) scraping both, and every PromQL query of every panel asked through
 * Prometheus's HTTP API. Each must return at least one series and only finite values, so a renamed meter,
 * a missing tag or a histogram without buckets fails here.
 */
@Tag("server")
class GrafanaDashboardTest {
    private static final Path DASHBOARD = Path.of("grafana", "usher-dashboard.json");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration PATIENCE = Duration.ofSeconds(120);

    @TempDir
    Path tmp;
    private final List<ChatServer> servers = new ArrayList<>();
    private Process prometheus;
    private final AtomicBoolean loading = new AtomicBoolean(true);
    private ExecutorService load;
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stopEverything() throws Exception {
        loading.set(false);
        if (load != null) {
            load.shutdownNow();
            load.awaitTermination(30, TimeUnit.SECONDS);
        }
        if (prometheus != null) {
            prometheus.destroy(); // SIGTERM to the PID we started: Prometheus shuts down cleanly
            if (!prometheus.waitFor(30, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        servers.forEach(ChatServer::close);
    }

    @Test
    void everyPanelQueryReturnsDataFromTwoInstancesUnderLoad() throws Exception {
        JsonNode dashboard = JSON.readTree(DASHBOARD.toFile());
        Map<String, String> queries = panelQueries(dashboard);
        assertThat(queries).as("queries in the dashboard").hasSizeGreaterThan(20);

        for (int i = 0; i < 2; i++) {
            Map<String, String> env = new HashMap<>();
            env.put("USHER_PORT", "0");
            env.put("USHER_DATA_DIR", tmp.resolve("instance-" + i).toString());
            env.put("USHER_MAX_RUNNING", "1");     // one run at a time: requests queue, so waits and estimates exist
            env.put("USHER_MAX_QUEUED", "3");      // and some are turned away
            env.put("USHER_TOKEN_DELAY_MS", "10");
            env.put("USHER_REQUESTS_PER_MINUTE", "600");
            env.put("USHER_BURST_PER_SECOND", "3"); // the burst user below is denied
            servers.add(ChatServer.start(Config.from(env)));
        }
        startLoad();
        int port = startPrometheus();
        URI api = URI.create("http://127.0.0.1:" + port);

        // Both instances are scraped: each target is up.
        JsonNode up = awaitResult(api, "sum(up{job=\"usher-example\"})", r -> value(r.get(0)) == 2.0);
        assertThat(value(up.get(0))).isEqualTo(2.0);
        // The dashboard's variable lists the example's gate.
        assertThat(awaitLabelValues(api, "gate", "usher_queue_running")).contains("chat");
        // Histogram buckets come from both instances, which is what makes the percentiles cluster-wide.
        awaitResult(api, "count(count by (instance) (usher_queue_wait_seconds_bucket))", r -> value(r.get(0)) == 2.0);

        for (Map.Entry<String, String> q : queries.entrySet()) {
            String promql = q.getValue().replace("$gate", ".*").replace("$__rate_interval", "5m");
            JsonNode result = awaitResult(api, promql, r -> {
                for (JsonNode series : r) {
                    if (!Double.isFinite(value(series))) {
                        return false;
                    }
                }
                return true;
            });
            assertThat(result).as(q.getKey() + ": " + promql).isNotEmpty();
        }
    }

    /** Every target expression, keyed by "panel title / refId". */
    private static Map<String, String> panelQueries(JsonNode dashboard) {
        Map<String, String> queries = new LinkedHashMap<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                queries.put(panel.get("title").asText() + " / " + target.get("refId").asText(), target.get("expr").asText());
            }
        }
        return queries;
    }

    /** Users on both servers, all the time: some wait, some are turned away, one bursts past its rate limit. */
    private void startLoad() {
        int usersPerServer = 6;
        load = Executors.newFixedThreadPool(servers.size() * usersPerServer + 1);
        AtomicInteger names = new AtomicInteger();
        for (ChatServer server : servers) {
            for (int u = 0; u < usersPerServer; u++) {
                load.submit(() -> {
                    Client client = new Client(server.port());
                    client.login("user" + names.incrementAndGet());
                    while (loading.get()) {
                        List<Map<String, Object>> events = client.run("hello", e -> { });
                        if (events.isEmpty() || events.get(0).containsKey("status")) {
                            Thread.sleep(200); // turned away (429/503): come back like a user would, not in a spin
                        }
                    }
                    return null;
                });
            }
        }
        load.submit(() -> {
            Client burst = new Client(servers.get(0).port());
            burst.login("burst");
            while (loading.get()) {
                for (int i = 0; i < 6 && loading.get(); i++) {
                    burst.execute("burst " + i).body().close();
                }
                Thread.sleep(1_000); // a new burst each second: this user's limit, not time, is under test
            }
            return null;
        });
    }

    private int startPrometheus() throws IOException, InterruptedException {
        Path binary = Path.of(System.getProperty("usher.test.prometheus", "/usr/bin/prometheus"));
        assertThat(Files.isExecutable(binary))
                .as("Prometheus binary " + binary + " (Debian package prometheus; scripts/test-env.sh installs it)")
                .isTrue();
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        StringBuilder targets = new StringBuilder();
        for (ChatServer server : servers) {
            targets.append(targets.length() == 0 ? "" : ", ").append("'127.0.0.1:").append(server.port()).append("'");
        }
        Path config = tmp.resolve("prometheus.yml");
        Files.writeString(config, String.join("\n",
                "global:",
                "  scrape_interval: 1s",
                "  evaluation_interval: 1s",
                "scrape_configs:",
                "  - job_name: usher-example",
                "    metrics_path: /metrics",
                "    static_configs:",
                "      - targets: [" + targets + "]",
                ""));
        prometheus = new ProcessBuilder(binary.toString(),
                "--config.file=" + config,
                "--storage.tsdb.path=" + tmp.resolve("prometheus-data"),
                "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("prometheus.log").toFile())
                .start();
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (true) {
            assertThat(prometheus.isAlive()).as("Prometheus exited: " + log()).isTrue();
            try {
                HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/-/ready"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                if (ready.statusCode() == 200) {
                    return port;
                }
            } catch (IOException notYetListening) {
                // keep polling until the deadline
            }
            assertThat(System.nanoTime()).as("Prometheus ready within " + PATIENCE + ": " + log()).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private String log() {
        try {
            return Files.readString(tmp.resolve("prometheus.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /** Polls an instant query until it has series that satisfy {@code done}; returns the last result. */
    private JsonNode awaitResult(URI api, String promql, java.util.function.Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode result;
        while (true) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(api.resolve("/api/v1/query?query="
                    + URLEncoder.encode(promql, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode body = JSON.readTree(r.body());
            assertThat(body.path("status").asText()).as(promql + " -> " + r.body()).isEqualTo("success");
            result = body.path("data").path("result");
            if (!result.isEmpty() && done.test(result)) {
                return result;
            }
            if (System.nanoTime() > deadline) {
                return result; // the caller's assertion says what was missing
            }
            Thread.sleep(500);
        }
    }

    private List<String> awaitLabelValues(URI api, String label, String metric) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (true) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(api.resolve("/api/v1/label/" + label + "/values?match[]="
                    + URLEncoder.encode(metric, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
            List<String> values = new ArrayList<>();
            JSON.readTree(r.body()).path("data").forEach(v -> values.add(v.asText()));
            if (!values.isEmpty() || System.nanoTime() > deadline) {
                return values;
            }
            Thread.sleep(500);
        }
    }

    private static double value(JsonNode series) {
        String v = series.path("value").path(1).asText();
        return switch (v) {
            case "NaN" -> Double.NaN;
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(v);
        };
    }
}
