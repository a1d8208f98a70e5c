package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionIds;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two instances of the example, each a JVM of its own ({@code java -cp … ChatApplication}), share sessions
 * on Redis and the cluster queue ({@code usher.queue.type=redis}, one cap of 2 across both). The first one
 * holds both permits and has clients waiting when it is killed with {@code kill -9}: the clients waiting on
 * the survivor are admitted once the dead instance's leases run out, never more than 2 runs at once across
 * both (sampled from the shared queue throughout), a session created through the dead instance is still
 * valid on the survivor with the same cookie, and in the end nothing is held.
 */
@Tag("server")
class ProcessDeathTest {
    private static final Duration PATIENCE = Duration.ofSeconds(120);
    private static final int MAX_RUNNING = 2;

    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final JsonMapper json = JsonMapper.builder().build();
    private final String queueName = TestProperties.unique("death");
    private final String keyPrefix = TestProperties.unique("usher-death") + ":";
    private Path dir;

    @AfterEach
    void stopProcesses() throws Exception {
        List<Process> started;
        synchronized (processes) {
            started = List.copyOf(processes);
        }
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private record Instance(int port, Process process) {
    }

    /** One instance of the example in a JVM of its own, returned once its health endpoint answers UP. */
    private Instance startInstance(String name) throws Exception {
        int port = freePort();
        Path data = dir.resolve(name);
        Files.createDirectories(data);
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), ChatApplication.class.getName(),
                "--server.port=" + port));
        Map<String, String> properties = TestProperties.common(data);
        properties.put("usher.queue.max-running", Integer.toString(MAX_RUNNING));
        properties.put("usher.queue.type", "redis");
        properties.put("usher.queue.redis-uri", TestProperties.REDIS_URI);
        properties.put("usher.queue.name", queueName);
        properties.put("usher.queue.lease-time", "6s");
        properties.put("usher.queue.reconnect-grace", "0s");
        properties.put("usher.session.store", "redis");
        properties.put("usher.session.redis.uri", TestProperties.REDIS_URI);
        properties.put("usher.session.redis.key-prefix", keyPrefix);
        // every cookie-less request here is keyed by the one client address: lift TestProperties' 3 per hour
        properties.put("usher.rate-limit.limits.test.quota", "100000");
        // long enough runs that the victim still holds both permits when it dies (about 30 tokens)
        properties.put("example.token-delay", "300ms");
        properties.forEach((k, v) -> command.add("--" + k + "=" + v));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(data.resolve("out.log").toFile()).start();
        synchronized (processes) {
            processes.add(process);
        }
        await(name + " answers /actuator/health (see " + data.resolve("out.log") + ")", () -> {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + process.exitValue() + "; see " + data.resolve("out.log"));
            }
            try {
                return get(port, "/actuator/health").statusCode() == 200;
            } catch (IOException e) {
                return false; // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + name, e);
            }
        });
        return new Instance(port, process);
    }

    private HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode queue(int port) throws IOException, InterruptedException {
        return json.readTree(get(port, "/api/queue").body());
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(what, condition, () -> "");
    }

    private static void await(String what, BooleanSupplier condition, java.util.function.Supplier<Object> state)
            throws InterruptedException {
        Instant deadline = Instant.now().plus(PATIENCE);
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as("waiting for: %s %s", what, state.get()).isBefore(deadline);
            Thread.sleep(50); // polling other processes: there is nothing to wait on instead
        }
    }

    /** One streamed run: the events it received, line by line, as they arrive. */
    private final class Run {
        final ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
        final CompletableFuture<Integer> status = new CompletableFuture<>();
        final AtomicBoolean broken = new AtomicBoolean();

        Run(int port, String cookie) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/workflow/execute"))
                    .timeout(PATIENCE).header("Content-Type", "application/json").header("Accept", "application/x-ndjson")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"survive\"}"));
            if (cookie != null) {
                b.header("Cookie", "USHER_SESSION=" + cookie);
            }
            http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()).whenComplete((r, e) -> {
                if (e != null) {
                    broken.set(true);
                    status.complete(-1);
                    return;
                }
                Thread reader = new Thread(() -> read(r), "death-test-reader");
                reader.setDaemon(true);
                reader.start();
            });
        }

        private void read(HttpResponse<InputStream> r) {
            try (InputStream in = r.body()) {
                StringBuilder line = new StringBuilder();
                int c;
                while ((c = in.read()) != -1) {
                    if (c == '\n') {
                        events.add(line.toString());
                        line.setLength(0);
                    } else {
                        line.append((char) c);
                    }
                }
                status.complete(r.statusCode());
            } catch (IOException e) {
                broken.set(true);
                status.complete(-1);
            }
        }

        boolean has(String type) {
            return events.stream().anyMatch(e -> e.startsWith("{\"type\":\"" + type + "\""));
        }
    }

    /** Each run's status and first events, for failure messages (events hold no session id). */
    private static List<String> events(List<Run> runs) {
        return runs.stream().map(r -> r.status.getNow(0) + " " + r.events.stream().limit(4).toList()).toList();
    }

    @Test
    void killingAnInstanceThatHoldsPermitsAdmitsTheOthersClientsAfterTheLease() throws Exception {
        dir = Files.createTempDirectory("usher-death");
        CompletableFuture<Instance> victimStart = CompletableFuture.supplyAsync(() -> {
            try {
                return startInstance("victim");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        int survivor = startInstance("survivor").port();
        Instance victimInstance = victimStart.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        int victim = victimInstance.port();
        Process victimProcess = victimInstance.process();

        // A session made through the victim, carried to the survivor after the victim died.
        HttpResponse<String> login = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + victim + "/api/login"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"ada\"}"))
                .timeout(PATIENCE).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).isEqualTo(200);
        String setCookie = login.headers().firstValue("Set-Cookie").orElseThrow();
        String cookie = setCookie.substring("USHER_SESSION=".length(), setCookie.indexOf(';'));

        // The victim holds both permits, and clients wait on both instances (each request its own session).
        List<Run> victimRuns = new ArrayList<>();
        for (int i = 0; i < MAX_RUNNING; i++) {
            victimRuns.add(new Run(victim, null));
        }
        await("the victim holds both permits", () -> victimRuns.stream().allMatch(r -> r.has("started")), () -> events(victimRuns));
        List<Run> victimWaiting = List.of(new Run(victim, null), new Run(victim, null));
        await("clients wait on the victim", () -> victimWaiting.stream().allMatch(r -> r.has("queued")), () -> events(victimWaiting));
        List<Run> survivorRuns = List.of(new Run(survivor, null), new Run(survivor, null), new Run(survivor, null));
        await("clients wait on the survivor", () -> survivorRuns.stream().allMatch(r -> r.has("queued")), () -> events(survivorRuns));

        assertThat(survivorRuns).as("the cap is the victim's: nobody on the survivor is admitted yet")
                .noneMatch(r -> r.has("admitted"));

        // Sample the shared cap from the survivor while the victim dies and its leases run out.
        AtomicInteger maxSeen = new AtomicInteger();
        AtomicBoolean sampling = new AtomicBoolean(true);
        List<String> samplingErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                try {
                    maxSeen.accumulateAndGet(queue(survivor).path("running").asInt(), Math::max);
                    Thread.sleep(20);
                } catch (IOException e) {
                    samplingErrors.add(e.toString());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "death-test-sampler");
        sampler.setDaemon(true);
        sampler.start();

        assertThat(new ProcessBuilder("kill", "-9", Long.toString(victimProcess.pid())).start().waitFor()).isZero();
        assertThat(victimProcess.waitFor(30, TimeUnit.SECONDS)).isTrue();
        await("the victim's clients see their connection end", () -> Stream.concat(victimRuns.stream(), victimWaiting.stream())
                .allMatch(r -> r.status.isDone()));
        for (Run r : Stream.concat(victimRuns.stream(), victimWaiting.stream()).toList()) {
            assertThat(r.has("done")).as("a run on the killed instance never finished").isFalse();
        }

        // The survivor's clients are admitted once the dead leases expire, and all finish.
        await("every client of the survivor finished", () -> survivorRuns.stream().allMatch(r -> r.status.isDone()),
                () -> events(survivorRuns));
        for (Run r : survivorRuns) {
            assertThat(r.status.join()).isEqualTo(200);
            assertThat(r.has("admitted")).as("events %s", r.events).isTrue();
            assertThat(r.events.peek()).startsWith("{\"type\":\"queued\"");
            assertThat(r.has("done")).as("events %s", r.events).isTrue();
        }

        // The session made through the dead instance works on the survivor, with the same cookie.
        HttpResponse<String> carried = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + survivor + "/api/workflow/execute"))
                .timeout(PATIENCE).header("Content-Type", "application/json").header("Cookie", "USHER_SESSION=" + cookie)
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"still me\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(carried.statusCode()).isEqualTo(200);
        assertThat(carried.headers().firstValue("Set-Cookie")).as("session %s was known to the survivor",
                SessionIds.redact(cookie)).isEmpty();
        assertThat(carried.body()).endsWith("{\"type\":\"done\"}\n");

        await("nothing is held or waiting across the cluster", () -> {
            try {
                JsonNode q = queue(survivor);
                return q.path("running").asInt() == 0 && q.path("queued").asInt() == 0;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
        sampling.set(false);
        sampler.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(samplingErrors).isEmpty();
        assertThat(maxSeen.get()).as("runs at once across both instances").isBetween(1, MAX_RUNNING);
    }
}
