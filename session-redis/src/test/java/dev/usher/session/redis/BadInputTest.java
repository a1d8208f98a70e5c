package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.AttributeLimits;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * Hostile ids and oversized values never reach Redis: counted on a server of this test's own with
 * {@code INFO stats} (every command the server runs, including those inside scripts, is counted there).
 */
@Tag("server")
class BadInputTest {
    private static DedicatedRedis server;
    private static Jedis probe;
    private static SessionManager manager;

    @BeforeAll
    static void start() throws Exception {
        server = new DedicatedRedis();
        probe = server.connect();
        manager = SessionManager.builder(RedisSessionStore.builder().uri(server.uri()).keyPrefix("bad:").build())
                .sweepInterval(Duration.ZERO).build();
    }

    @AfterAll
    static void stop() throws Exception {
        manager.close();
        probe.close();
        server.close();
    }

    /** Commands the server processed since the last call, not counting the INFO that asks. */
    private static long commandsSince(long[] last) {
        long now = 0;
        for (String line : probe.info("stats").split("\r\n")) {
            if (line.startsWith("total_commands_processed:")) {
                now = Long.parseLong(line.substring(line.indexOf(':') + 1));
            }
        }
        long delta = now - last[0];
        last[0] = now + 1; // this INFO is counted once it has run
        return delta;
    }

    @Test
    void hostileIdsSendNothing() {
        Session real = manager.create(null, Map.of("k", "v"));
        String base = real.id();
        List<String> hostile = List.of(
                "{" + base.substring(1), base.substring(0, 42) + "}", "*", base.substring(0, 42) + "*",
                base.substring(0, 21) + " " + base.substring(22), base.substring(0, 41) + "\r\n",
                base.substring(0, 42) + "\n", "usher:session:{0}:s:" + base, base + "x", "", "\u0000".repeat(43));
        long[] mark = {0};
        commandsSince(mark);
        for (String id : hostile) {
            assertThat(manager.find(id)).isEmpty();
            assertThat(manager.touch(id)).isEmpty();
            assertThat(manager.update(id, x -> x.withAttribute("k", "hacked"))).isEmpty();
            assertThat(manager.changeId(id)).isEmpty();
            assertThat(manager.end(id)).isFalse();
            assertThatThrownBy(() -> manager.withLock(id, Duration.ofSeconds(1), () -> "x"))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(commandsSince(mark)).as("commands sent for hostile ids").isZero();
        assertThat(manager.stats().malformedIds()).isGreaterThanOrEqualTo(hostile.size() * 6L);
        assertThat(manager.find(base).orElseThrow().attributes()).containsEntry("k", "v");
    }

    @Test
    void oversizedValuesAreRejectedBeforeAnythingIsWritten() {
        Session s = manager.create("dora", Map.of("k", "v"));
        String tooBig = "é".repeat(AttributeLimits.DEFAULTS.maxValueBytes() / 2 + 1); // 2 bytes each in UTF-8
        long[] mark = {0};
        commandsSince(mark);
        assertThatThrownBy(() -> manager.create("dora", Map.of("big", tooBig)))
                .isInstanceOf(SessionLimitException.class).hasMessageContaining("big")
                .hasMessageContaining(Integer.toString(AttributeLimits.DEFAULTS.maxValueBytes()));
        assertThat(commandsSince(mark)).as("commands sent for an oversized create").isZero();

        assertThatThrownBy(() -> manager.update(s.id(), x -> x.withAttribute("big", tooBig)))
                .isInstanceOf(SessionLimitException.class);
        assertThat(commandsSince(mark)).as("an oversized update reads the session, writes nothing").isEqualTo(1);
        assertThat(manager.find(s.id())).contains(s);
    }
}
