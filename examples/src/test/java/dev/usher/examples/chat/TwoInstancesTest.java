package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.RedisClient;

/**
 * Two example servers sharing one Redis (sessions and rate limit) and one workspace root, as two
 * instances behind a load balancer would. Needs the Redis that scripts/test-env.sh starts.
 */
@Tag("server")
class TwoInstancesTest {
    private static final String REDIS = System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");

    @TempDir
    Path sharedDataDir;
    private ChatServer a;
    private ChatServer b;

    private ChatServer start(Map<String, String> overrides) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("USHER_PORT", "0");
        env.put("USHER_STORE", "redis");
        env.put("USHER_STORE_URL", REDIS);
        env.put("USHER_DATA_DIR", sharedDataDir.toString());
        env.put("USHER_TOKEN_DELAY_MS", "2");
        // The new-session allowance per address lives in the shared Redis and every run comes from loopback:
        // keep earlier runs within the hour from using it up.
        env.put("USHER_NEW_SESSIONS_PER_HOUR", "1000000");
        env.putAll(overrides);
        return ChatServer.start(Config.from(env));
    }

    private String queueName;

    @AfterEach
    void stop() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
        if (queueName != null) {
            try (RedisClient redis = RedisClient.create(java.net.URI.create(REDIS))) {
                redis.keys("usher:q:{" + queueName + "}:*").forEach(redis::del);
            }
        }
    }

    @Test
    void aSessionCreatedOnOneInstanceIsServedByTheOther() throws Exception {
        a = start(Map.of());
        b = start(Map.of());
        Client onA = new Client(a.port());
        onA.login("alice");
        String id = onA.sessionId();
        assertThat(onA.put("/api/workspace/files/shared.txt", "written on A").statusCode()).isEqualTo(200);

        Client onB = onA.on(b.port());
        assertThat(onB.get("/api/workspace/files/shared.txt").body()).isEqualTo("written on A");
        HttpResponse<InputStream> run = onB.execute("hello from B");
        run.body().readAllBytes();
        assertThat(run.statusCode()).isEqualTo(200);
        assertThat(run.headers().firstValue("Set-Cookie")).as("B knew the session: no new cookie").isEmpty();
        assertThat(b.gate().sessions().find(id).orElseThrow().owner()).isEqualTo("alice");
    }

    @Test
    void theRateLimitHoldsAcrossBothInstances() throws Exception {
        Map<String, String> limit = Map.of("USHER_REQUESTS_PER_MINUTE", "3", "USHER_BURST_PER_SECOND", "100");
        a = start(limit);
        b = start(limit);
        Client onA = new Client(a.port());
        onA.login("bob");
        Client onB = onA.on(b.port());
        int allowed = 0;
        int limited = 0;
        for (int i = 0; i < 6; i++) {
            HttpResponse<InputStream> r = (i % 2 == 0 ? onA : onB).execute("request " + i);
            r.body().readAllBytes();
            if (r.statusCode() == 200) {
                allowed++;
            } else {
                assertThat(r.statusCode()).isEqualTo(429);
                limited++;
            }
        }
        assertThat(allowed).isEqualTo(3);
        assertThat(limited).isEqualTo(3);
    }

    @Test
    void withTheRedisQueueBothInstancesShareOneCapAndOneLine() throws Exception {
        queueName = "two-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> shared = Map.of("USHER_QUEUE", "redis", "USHER_QUEUE_REDIS", REDIS,
                "USHER_QUEUE_NAME", queueName,
                "USHER_MAX_RUNNING", "1", "USHER_TOKEN_DELAY_MS", "40");
        a = start(shared);
        b = start(shared);
        Client onA = new Client(a.port());
        onA.login("carol");
        Client onB = new Client(b.port());
        onB.login("dave");
        CountDownLatch aStarted = new CountDownLatch(1);
        CompletableFuture<List<Map<String, Object>>> first = CompletableFuture.supplyAsync(() -> {
            try {
                return onA.run("a long answer on A", e -> {
                    if ("started".equals(e.get("type"))) {
                        aStarted.countDown();
                    }
                });
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
        assertThat(aStarted.await(60, TimeUnit.SECONDS)).isTrue();
        // A's run holds the one slot of the whole cluster: B's request waits in the same line, position 1.
        List<Map<String, Object>> second = onB.run("then B", e -> { });
        assertThat(second.get(0)).containsEntry("type", "queued").containsEntry("position", 1);
        assertThat(second).anySatisfy(e -> assertThat(e).containsEntry("type", "done"));
        assertThat(first.get(60, TimeUnit.SECONDS)).anySatisfy(e -> assertThat(e).containsEntry("type", "done"));
        assertThat(b.gate().queue().stats().running()).isZero();
    }
}
