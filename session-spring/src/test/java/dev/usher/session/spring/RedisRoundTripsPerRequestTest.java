package dev.usher.session.spring;

import dev.usher.session.redis.DedicatedRedis;
import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import dev.usher.session.redis.RedisSessionStore;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * What one HTTP request through Spring Session's filter costs on Redis with this repository, counted by the
 * server (on a redis-server of this test's own, so no other client is counted): {@code total_reads_processed}
 * is one socket read per request the client sends and waits for, and {@code INFO commandstats} shows which
 * commands they were (the commands a Lua script runs are counted there too, but are not network reads). A request is what {@code SessionRepositoryFilter} does: {@code findById} (or
 * {@code createSession}), {@code setLastAccessedTime(now)}, the handler's attribute calls, {@code save}.
 */
@Tag("server")
class RedisRoundTripsPerRequestTest {
    private static DedicatedRedis server;
    private static Jedis probe;
    private final TestClock clock = new TestClock();
    private SessionManager manager;
    private UsherSessionRepository repository;

    @BeforeAll
    static void startServer() throws Exception {
        server = new DedicatedRedis();
        probe = server.connect();
    }

    @AfterAll
    static void stopServer() throws Exception {
        probe.close();
        server.close();
    }

    @BeforeEach
    void warmUp() {
        manager = SessionManager.builder(RedisSessionStore.builder().uri(server.uri()).keyPrefix("rt:").build())
                .clock(clock).idleTimeout(Duration.ofMinutes(30)).sweepInterval(Duration.ZERO).build();
        repository = UsherSessionRepository.builder(manager).clock(clock).build();
        // The first use of each script loads it into the server (NOSCRIPT, then EVAL): not the steady state.
        UsherSpringSession warm = repository.createSession();
        warm.setAttribute("w", 1);
        repository.save(warm);
        warm.changeSessionId();
        clock.advance(Duration.ofMinutes(4));
        repository.findById(warm.getId());
        repository.deleteById(warm.getId());
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        repository.close();
        manager.close();
    }

    private record Sent(long roundTrips, Map<String, Long> commands) {
    }

    private Sent measure(Runnable request) {
        long before = reads() + 1; // + the commandstats INFO that follows
        Map<String, Long> callsBefore = commandCalls();
        request.run();
        long after = reads() - 1; // - the read of this INFO itself
        Map<String, Long> delta = new HashMap<>();
        commandCalls().forEach((cmd, calls) -> {
            long d = calls - callsBefore.getOrDefault(cmd, 0L) - (cmd.equals("info") ? 2 : 0);
            if (d != 0) {
                delta.put(cmd, d);
            }
        });
        return new Sent(after - before, delta);
    }

    private static long reads() {
        String stats = probe.info("stats");
        int at = stats.indexOf("total_reads_processed:");
        return Long.parseLong(stats.substring(at + 22, stats.indexOf("\r\n", at)));
    }

    private static Map<String, Long> commandCalls() {
        Map<String, Long> calls = new HashMap<>();
        for (String line : probe.info("commandstats").split("\r\n")) {
            if (line.startsWith("cmdstat_")) {
                String rest = line.substring(line.indexOf("calls=") + 6);
                calls.put(line.substring(8, line.indexOf(':')), Long.parseLong(rest.substring(0, rest.indexOf(','))));
            }
        }
        return calls;
    }

    private String existingSession() {
        UsherSpringSession s = repository.createSession();
        s.setAttribute("cart", "2 books");
        repository.save(s);
        return s.getId();
    }

    @Test
    void measuringNothingCountsNothing() {
        Sent nothing = measure(() -> { });
        assertThat(nothing.roundTrips()).isZero();
        assertThat(nothing.commands()).isEmpty();
    }

    @Test
    void aRequestThatOnlyReadsTheSessionIsOneRoundTrip() {
        String id = existingSession();
        clock.advance(Duration.ofSeconds(30));
        Sent read = measure(() -> {
            UsherSpringSession s = repository.findById(id);
            s.setLastAccessedTime(clock.instant());
            assertThat(s.<String>getAttribute("cart")).isEqualTo("2 books");
            repository.save(s);
        });
        assertThat(read.roundTrips()).isEqualTo(1);
        assertThat(read.commands()).containsOnly(Map.entry("hgetall", 1L));
    }

    @Test
    void aReadOnceTheAccessIsDueToBeRecordedAddsOneWrite() {
        String id = existingSession();
        clock.advance(Duration.ofMinutes(4)); // past the touch threshold (0.1 of 30 minutes)
        Sent read = measure(() -> repository.save(repository.findById(id)));
        assertThat(read.roundTrips()).isEqualTo(2);
        assertThat(read.commands()).containsEntry("hgetall", 1L).containsEntry("evalsha", 1L);
    }

    @Test
    void aRequestThatChangesAttributesIsTwoRoundTrips() {
        String id = existingSession();
        Sent write = measure(() -> {
            UsherSpringSession s = repository.findById(id);
            s.setAttribute("cart", "3 books");
            s.setAttribute("visits", 7);
            s.removeAttribute("gone");
            repository.save(s);
        });
        // findById (HGETALL) + save = SessionManager.update on the session in hand: the compare-and-set alone.
        assertThat(write.roundTrips()).isEqualTo(2);
        assertThat(write.commands()).containsEntry("hgetall", 1L).containsEntry("evalsha", 1L);
    }

    @Test
    void aRequestThatStartsASessionIsTwoRoundTrips() {
        Sent start = measure(() -> {
            UsherSpringSession s = repository.createSession();
            s.setAttribute("cart", "1 book");
            repository.save(s);
        });
        // the insert, then the compare-and-set on the session it returned
        assertThat(start.roundTrips()).isEqualTo(2);
        assertThat(start.commands()).doesNotContainKey("hgetall").containsEntry("evalsha", 2L);
    }

    @Test
    void changeSessionIdAndDeleteCostWhatTheManagerCosts() {
        String id = existingSession();
        Sent change = measure(() -> repository.findById(id).changeSessionId());
        // findById (1) + SessionManager.changeId: load (1) + the store's atomic move (2).
        assertThat(change.roundTrips()).isEqualTo(4);
        Sent delete = measure(() -> repository.deleteById(id));
        assertThat(delete.roundTrips()).as("deleting a gone id").isEqualTo(1);
    }
}
