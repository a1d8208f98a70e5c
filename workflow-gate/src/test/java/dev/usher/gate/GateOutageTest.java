package dev.usher.gate;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.session.Durations;
import dev.usher.session.SessionManager;
import dev.usher.session.redis.RedisSessionStore;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * The gate on a real session store (a redis-server this test starts, kills with SIGKILL and starts again on
 * the same port): while the store is down every request is answered {@link GateOutcome.Unavailable} at once
 * with a retry hint (a host's 503 + Retry-After), nothing is queued, and the same gate admits again once
 * Redis is back.
 */
@Tag("server")
class GateOutageTest {
    private static final Duration FAST = Duration.ofMillis(500);

    @Test
    void aDownSessionStoreGivesUnavailableAtOnceAndTheGateRecovers() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path dir = Files.createTempDirectory("usher-gate-redis-");
        Process redis = startRedis(port, dir);
        try {
            SessionManager sessions = SessionManager.builder(RedisSessionStore.builder()
                    .uri("redis://127.0.0.1:" + port).timeout(Duration.ofSeconds(2)).build())
                    .sweepInterval(Duration.ZERO).build();
            try (WorkflowGate<String> gate = WorkflowGate.builder(sessions, AdmissionQueue.builder(2).build(),
                    WorkflowCache.<String, String>builder(id -> "workflow").maximumSize(10).build()).build()) {
                String id;
                try (GateOutcome.Admitted<String> run = (GateOutcome.Admitted<String>) gate.enter(
                        new GateRequest(null, "ip", null), QueueObserver.ignoring())) {
                    id = run.session().id();
                }

                redis.destroyForcibly();
                redis.waitFor(30, TimeUnit.SECONDS);
                List<Long> nanos = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    long began = System.nanoTime();
                    GateOutcome<String> outcome = gate.enter(new GateRequest(i % 2 == 0 ? id : null, "ip", null),
                            QueueObserver.ignoring());
                    nanos.add(System.nanoTime() - began);
                    assertThat(outcome).isInstanceOf(GateOutcome.Unavailable.class);
                    assertThat(((GateOutcome.Unavailable<String>) outcome).retryAfter()).isPositive();
                }
                // A request with a session is refused before the queue (its touch fails); one without gets its
                // session only once admitted (nothing is created for a turned-away request), so the 100
                // cookie-less ones pass the queue, fail at the creation and give their permit back at once.
                assertThat(gate.queue().stats().admitted()).as("only cookie-less requests reached the queue").isEqualTo(1 + 100);
                assertThat(gate.queue().stats().running()).as("every permit given back").isZero();
                long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
                Duration p99 = Duration.ofNanos(sorted[(int) Math.ceil(0.99 * sorted.length) - 1]);
                System.out.printf("gate, session store killed: 200 requests answered Unavailable, p99 %s, max %s%n",
                        Durations.format(p99), Durations.format(Duration.ofNanos(sorted[sorted.length - 1])));
                assertThat(p99).isLessThan(FAST);

                redis = startRedis(port, dir);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                GateOutcome<String> outcome = gate.enter(new GateRequest(id, "ip", null), QueueObserver.ignoring());
                while (outcome instanceof GateOutcome.Unavailable<String> && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
                    outcome = gate.enter(new GateRequest(id, "ip", null), QueueObserver.ignoring());
                }
                assertThat(outcome).isInstanceOf(GateOutcome.Admitted.class);
                try (GateOutcome.Admitted<String> run = (GateOutcome.Admitted<String>) outcome) {
                    assertThat(run.session().id()).as("the session survived (append-only file)").isEqualTo(id);
                }
            }
        } finally {
            redis.destroyForcibly();
            redis.waitFor(30, TimeUnit.SECONDS);
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Process startRedis(int port, Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--save", "", "--appendonly", "yes", "--appendfsync", "always")
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Jedis jedis = new Jedis("127.0.0.1", port)) {
                if ("PONG".equals(jedis.ping())) {
                    return p;
                }
            } catch (RuntimeException e) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("redis-server on port " + port + " did not start; see " + dir, e);
                }
            }
            Thread.sleep(25); // polling a process just started: nothing to wait on instead
        }
    }
}
