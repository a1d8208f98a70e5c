package dev.usher.session.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The in-memory store's replace takes only its entry's monitor, not a map step: racing it against other
 * replaces of the same sessions, removals, moves, sweeps and evictions must still lose no write and land
 * none on a session that is gone. Each counting session carries the number of successful replaces made on
 * it; at the end its stored (or removed) count must equal what the writers counted, and the indexes must
 * match the sessions.
 */
class InMemoryReplaceRaceTest {
    private static final int COUNTERS = 8;
    private static final int WRITERS = 4;
    private static final Duration[] IDLE = {Duration.ofMinutes(1), Duration.ofMinutes(30), Duration.ofHours(2)};

    @Test
    void racingReplacesLoseNothingAndNeverLandOnAnEndedSession() throws Exception {
        for (int round = 0; round < 5; round++) {
            race(round);
        }
    }

    private void race(int round) throws Exception {
        // Small enough that the churn below makes the store evict, so evictions race the writers too.
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(COUNTERS + 40).build();
        Instant now = Instant.now();
        String[] ids = new String[COUNTERS];
        for (int i = 0; i < COUNTERS; i++) {
            String owner = i % 2 == 0 ? null : "owner-" + i;
            // Counters expire last, so the evictor takes churn sessions, never a counter.
            Session s = new Session(store.newSessionId(owner), owner, now, now, Duration.ofDays(1),
                    now.plus(Duration.ofDays(2)), 1, Map.of("n", "0"));
            assertThat(store.insert(s)).isTrue();
            ids[i] = s.id();
        }
        AtomicLongArray successes = new AtomicLongArray(COUNTERS);
        Map<String, Session> removed = new ConcurrentHashMap<>();
        Map<String, String> movedTo = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            threads.add(thread("writer-" + w, start, failure, () -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                for (int n = 0; n < 20_000; n++) {
                    int i = random.nextInt(COUNTERS);
                    String id = movedTo.getOrDefault(ids[i], ids[i]);
                    Optional<Session> loaded = store.load(id);
                    if (loaded.isEmpty()) {
                        continue;
                    }
                    Session s = loaded.get();
                    long count = Long.parseLong(s.attributes().get("n"));
                    // Idle timeouts up and down: a shorter one files the entry again, earlier, under the monitor.
                    Session next = new Session(s.id(), random.nextInt(8) == 0 ? "owner-x" : s.owner(), s.createdAt(),
                            Instant.now(), IDLE[random.nextInt(IDLE.length)], s.absoluteExpiry(), s.version() + 1,
                            Map.of("n", Long.toString(count + 1)));
                    if (store.replace(next, s.version())) {
                        successes.incrementAndGet(i);
                    }
                }
            }));
        }
        threads.add(thread("ender", start, failure, () -> {
            // Moves one counter to a new id again and again (each move ends the entry writers may hold), then
            // removes another, while the writers run.
            for (int moves = 0; moves < 300; moves++) {
                String from = movedTo.getOrDefault(ids[1], ids[1]);
                Session moving = store.load(from).orElseThrow();
                Session renamed = moving.withId(store.newSessionId(moving.owner())).withVersion(moving.version() + 1);
                if (store.changeId(from, renamed, moving.version())) {
                    movedTo.put(ids[1], renamed.id());
                }
            }
            store.remove(ids[2]).ifPresent(s -> removed.put(ids[2], s));
        }));
        threads.add(thread("sweeper-and-churn", start, failure, () -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (!stop.get()) {
                Instant t = Instant.now();
                Session churn = new Session(store.newSessionId(null), null, t, t,
                        Duration.ofMillis(1 + random.nextInt(50)), t.plus(Duration.ofMinutes(1)), 1, Map.of());
                store.insert(churn);
                store.removeExpired(Instant.now(), 16);
            }
        }));
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads.subList(0, WRITERS + 1)) {
            t.join(TimeUnit.MINUTES.toMillis(2));
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(2));
            assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
        }
        assertThat(failure.get()).as("round " + round).isNull();

        Map<String, Session> live = new HashMap<>();
        for (int i = 0; i < COUNTERS; i++) {
            String id = movedTo.getOrDefault(ids[i], ids[i]);
            Session s = removed.containsKey(ids[i]) ? removed.get(ids[i]) : store.load(id).orElseThrow();
            assertThat(Long.parseLong(s.attributes().get("n")))
                    .as("round %d counter %d: every successful replace, and only those, is in the session", round, i)
                    .isEqualTo(successes.get(i));
            if (!removed.containsKey(ids[i])) {
                assertThat(store.load(ids[i]).isPresent()).as("a moved id is gone").isEqualTo(id.equals(ids[i]));
                live.put(id, s);
            }
        }
        assertThat(store.load(ids[2])).as("a removed session takes no write").isEmpty();
        // Every session in the map is filed once, no later than its expiry, and the wheel holds nothing else.
        List<StoredSession> filed = store.expiryIndex().entries();
        Map<String, Integer> timesFiled = new HashMap<>();
        for (StoredSession e : filed) {
            timesFiled.merge(e.session.id(), 1, Integer::sum);
            assertThat(store.load(e.session.id())).as("filed entries are stored").contains(e.session);
            assertThat(e.bucket.start).isLessThanOrEqualTo(e.session.expiresAt().toEpochMilli());
        }
        assertThat(timesFiled.values()).allMatch(n -> n == 1);
        assertThat((long) filed.size()).isEqualTo(store.count());
        for (Session s : live.values()) {
            assertThat(timesFiled).containsKey(s.id());
            if (s.owner() != null) {
                assertThat(store.findByOwner(s.owner())).contains(s);
            }
        }
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }

    private static Thread thread(String name, CountDownLatch start, AtomicReference<Throwable> failure, Body body) {
        Thread t = new Thread(() -> {
            try {
                start.await();
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, "race-" + name);
        t.setDaemon(true);
        return t;
    }
}
