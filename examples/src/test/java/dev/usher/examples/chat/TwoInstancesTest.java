package dev.usher.examples.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two example servers sharing one Redis (sessions and rate limit) and one workspace root, as two
 * instances behind a load balancer would. Needs the Redis that scripts/test-env.sh starts.
 */
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

    @AfterEach
    void stop() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
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
}
