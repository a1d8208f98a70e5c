package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.TestClock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;

/**
 * Counts what each operation sends to Redis, on servers of the test's own (so no other client's traffic is
 * counted): a standalone server ({@link RedisSessionStoreRoundTripTest}) and a three-master cluster
 * ({@link RedisClusterRoundTripTest}). Round trips are the servers' {@code total_reads_processed}, summed over
 * the nodes: one socket read per request the client sends and waits for (a pipelined batch arrives in one
 * read per node). Commands run inside a Lua script are not network reads, so they do not count;
 * {@code INFO commandstats} shows which top-level command was sent.
 */
abstract class AbstractRoundTripTest {
    private List<Jedis> probes;
    private RedisSessionStore store;

    /** The store under test, over the servers the probes watch. */
    abstract RedisSessionStore.Builder target();

    /** One connection to each node. */
    abstract List<Jedis> probes();

    @BeforeEach
    void openStore() {
        probes = probes();
        store = target().keyPrefix("rt:" + UUID.randomUUID() + ":").build();
        store.count(); // opens the pooled connections (their handshake is not what we count)
        cacheEveryScript();
    }

    @AfterEach
    void closeStore() {
        store.close();
    }

    /**
     * A server learns a script on its first use ({@code NOSCRIPT}, then {@code EVAL}), and each cluster node
     * learns it separately: run every script once in every shard, on keys of their own, so that the
     * measurements below see the steady state. The flush test sees the first use.
     */
    private void cacheEveryScript() {
        KeyLayout layout = new KeyLayout("rt-warm:", 16);
        boolean[] warmed = new boolean[16];
        int left = 16;
        try (RedisSessionStore warm = target().keyPrefix("rt-warm:").build()) {
            while (left > 0) {
                Session s = session("warm");
                int shard = layout.shardOf(s.id());
                if (warmed[shard]) {
                    continue;
                }
                warmed[shard] = true;
                left--;
                warm.insert(s);
                warm.replace(s.withVersion(2), 1);
                Session moved = session("warm").withVersion(3);
                warm.changeId(s.id(), moved, 2);
                warm.remove(moved.id());
            }
            warm.findByOwner("warm");
            warm.list(null, 10);
            warm.removeExpired(Instant.now().plus(Duration.ofDays(1)), 10);
        }
    }

    private record Sent(long roundTrips, Map<String, Long> commands) {
        long of(String command) {
            return commands.getOrDefault(command, 0L);
        }
    }

    private Sent measure(Runnable op) {
        int nodes = probes.size();
        long readsBefore = reads();
        Map<String, Long> before = commandCalls();
        readsBefore += nodes; // the commandstats INFO just sent to each node
        op.run();
        long readsAfter = reads() - nodes; // minus the read of this INFO itself on each node
        Map<String, Long> after = commandCalls();
        Map<String, Long> delta = new HashMap<>();
        after.forEach((cmd, calls) -> {
            long d = calls - before.getOrDefault(cmd, 0L) - (cmd.equals("info") ? 2L * nodes : 0);
            if (d != 0) {
                delta.put(cmd, d);
            }
        });
        return new Sent(readsAfter - readsBefore, delta);
    }

    private long reads() {
        long total = 0;
        for (Jedis probe : probes) {
            String stats = probe.info("stats");
            int at = stats.indexOf("total_reads_processed:");
            assertThat(at).as("INFO stats has total_reads_processed").isNotNegative();
            total += Long.parseLong(stats.substring(at + 22, stats.indexOf("\r\n", at)));
        }
        return total;
    }

    private Map<String, Long> commandCalls() {
        Map<String, Long> calls = new HashMap<>();
        for (Jedis probe : probes) {
            for (String line : probe.info("commandstats").split("\r\n")) {
                if (line.startsWith("cmdstat_")) {
                    String name = line.substring("cmdstat_".length(), line.indexOf(':'));
                    String rest = line.substring(line.indexOf("calls=") + 6);
                    calls.merge(name, Long.parseLong(rest.substring(0, rest.indexOf(','))), Long::sum);
                }
            }
        }
        return calls;
    }

    private static Session session(String owner) {
        Instant now = Instant.now();
        return new Session(UUID.randomUUID().toString().replace("-", "") + "0123456789a", owner, now, now,
                Duration.ofMinutes(30), now.plus(Duration.ofHours(12)), 1, Map.of("k", "v"));
    }

    @Test
    void measuringNothingCountsNothing() {
        Sent sent = measure(() -> { });
        assertThat(sent.roundTrips()).isZero();
        assertThat(sent.commands()).isEmpty();
    }

    @Test
    void loadInsertReplaceAndRemoveAreOneRoundTripEach() {
        Session s = session("alice");

        Sent insert = measure(() -> assertThat(store.insert(s)).isTrue());
        assertThat(insert.roundTrips()).isEqualTo(1);
        assertThat(insert.of("evalsha")).isEqualTo(1);
        assertThat(insert.of("eval")).isZero();

        Sent load = measure(() -> assertThat(store.load(s.id())).contains(s));
        assertThat(load.roundTrips()).isEqualTo(1);
        assertThat(load.commands()).containsOnly(Map.entry("hgetall", 1L));

        Session touched = s.withLastAccessedAt(s.lastAccessedAt().plusSeconds(60)).withVersion(2);
        Sent replace = measure(() -> assertThat(store.replace(touched, 1)).isTrue());
        assertThat(replace.roundTrips()).isEqualTo(1);
        assertThat(replace.of("evalsha")).isEqualTo(1);

        Sent conflict = measure(() -> assertThat(store.replace(touched.withVersion(3), 1)).isFalse());
        assertThat(conflict.roundTrips()).isEqualTo(1);

        Sent remove = measure(() -> assertThat(store.remove(s.id())).contains(touched));
        assertThat(remove.roundTrips()).isEqualTo(1);
        assertThat(remove.of("evalsha")).isEqualTo(1);
    }

    @Test
    void managerTouchIsALoadPlusOneWriteAndUpdateTheSame() {
        TestClock clock = new TestClock();
        SessionManager manager = SessionManager.builder(store).clock(clock).sweepInterval(Duration.ZERO)
                .touchThreshold(0).build();
        Session s = manager.create("bob", Map.of());
        clock.advance(Duration.ofSeconds(1)); // a touch in the millisecond of the last access writes nothing
        Sent touch = measure(() -> assertThat(manager.touch(s.id())).isPresent());
        assertThat(touch.roundTrips()).as("touch = load + CAS write").isEqualTo(2);
        Sent update = measure(() -> manager.update(s.id(), x -> x.withAttribute("n", "1")).orElseThrow());
        assertThat(update.roundTrips()).as("update = load + CAS write").isEqualTo(2);
        assertThat(update.commands()).containsEntry("hgetall", 1L).containsEntry("evalsha", 1L);
        Session held = manager.find(s.id()).orElseThrow();
        Sent heldUpdate = measure(() -> manager.update(held, x -> x.withAttribute("n", "2")).orElseThrow());
        assertThat(heldUpdate.roundTrips()).as("update of the session in hand = CAS write only").isEqualTo(1);
        assertThat(heldUpdate.commands()).containsEntry("evalsha", 1L).doesNotContainKey("hgetall");
        manager.close();
    }

    @Test
    void changeIdIsTwoRoundTripsAndListingsArePipelined() {
        Session s = session("carol");
        store.insert(s);
        Session renamed = session("carol").withVersion(2);
        Sent change = measure(() -> assertThat(store.changeId(s.id(), renamed, 1)).isTrue());
        assertThat(change.roundTrips()).isEqualTo(2);

        Sent byOwner = measure(() -> assertThat(store.findByOwner("carol")).containsExactly(renamed));
        assertThat(byOwner.roundTrips()).as("one pipeline over all shards: one round trip per node")
                .isBetween(1L, (long) probes.size());
        assertThat(byOwner.of("evalsha")).isEqualTo(16);

        Sent count = measure(() -> assertThat(store.count()).isEqualTo(1));
        assertThat(count.roundTrips()).isBetween(1L, (long) probes.size());
    }

    @Test
    void afterScriptFlushTheFirstCallOfAScriptResendsItsSourceOnce() {
        Session a = session(null);
        KeyLayout layout = new KeyLayout("any:", 16);
        Session b = session(null);
        while (layout.shardOf(b.id()) != layout.shardOf(a.id())) {
            b = session(null); // the same shard, so on a cluster the same node, whose cache the first call filled
        }
        Session second = b;
        probes.forEach(Jedis::scriptFlush);
        Sent first = measure(() -> assertThat(store.insert(a)).isTrue());
        assertThat(first.roundTrips()).as("EVALSHA answered NOSCRIPT, then EVAL").isEqualTo(2);
        assertThat(first.of("eval")).isEqualTo(1);
        Sent again = measure(() -> assertThat(store.insert(second)).isTrue());
        assertThat(again.roundTrips()).isEqualTo(1);
        assertThat(again.of("eval")).isZero();
        assertThat(store.load(a.id())).contains(a);

        probes.forEach(Jedis::scriptFlush);
        Sent byOwner = measure(() -> assertThat(store.findByOwner("nobody")).isEmpty());
        assertThat(byOwner.roundTrips()).as("the pipelined batch is sent again with sources, per node")
                .isBetween(2L, 2L * probes.size());
        assertThat(byOwner.of("eval")).isEqualTo(16);
        Sent byOwnerAgain = measure(() -> assertThat(store.findByOwner("nobody")).isEmpty());
        assertThat(byOwnerAgain.of("eval")).isZero();
    }
}
