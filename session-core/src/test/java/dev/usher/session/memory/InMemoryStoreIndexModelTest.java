package dev.usher.session.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import dev.usher.session.SessionPage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The in-memory store's indexes (the expiry wheel threaded through the entries, the ordered ids that also
 * answer owner lookups, the index of untagged owned ids) against a plain map of sessions: random writes,
 * moves, removals, sweeps and evictions, with every answer of the store compared to the model's and the
 * indexes checked against the sessions after each step.
 */
class InMemoryStoreIndexModelTest {
    private static final String[] OWNERS = {null, "alice", "bob", "carol", "dave", "émile", "x"};
    private static final Duration[] IDLE = {Duration.ofSeconds(1), Duration.ofMillis(1500), Duration.ofSeconds(30),
            Duration.ofMinutes(5)};

    private final Map<String, Session> model = new HashMap<>();
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private int ids;

    @Test
    void randomOperationsAgreeWithAPlainMap() {
        for (long seed = 1; seed <= 40; seed++) {
            model.clear();
            Random random = new Random(seed);
            InMemorySessionStore store = new InMemorySessionStore();
            for (int step = 0; step < 400; step++) {
                apply(store, random);
                checkAgainstModel(store, "seed " + seed + " step " + step);
            }
        }
    }

    @Test
    void aFullStoreEvictsASessionWithinOneBucketOfTheSoonestToExpire() {
        Random random = new Random(7);
        int max = 20;
        InMemorySessionStore store = InMemorySessionStore.builder().maxSessions(max).build();
        List<Session> evicted = new ArrayList<>();
        store.onEviction(evicted::add);
        for (int i = 0; i < 500; i++) {
            now = now.plusMillis(random.nextInt(400));
            if (!model.isEmpty() && random.nextBoolean()) {
                Session s = pick(random);
                Session touched = new Session(s.id(), s.owner(), s.createdAt(), now, s.idleTimeout(),
                        s.absoluteExpiry(), s.version() + 1, s.attributes());
                assertThat(store.replace(touched, s.version())).isTrue();
                model.put(s.id(), touched);
                continue;
            }
            long soonest = model.values().stream().mapToLong(s -> s.expiresAt().toEpochMilli()).min().orElse(0);
            int before = evicted.size();
            Session s = newSession(store, random);
            assertThat(store.insert(s)).isTrue();
            model.put(s.id(), s);
            if (evicted.size() > before) {
                Session gone = evicted.get(evicted.size() - 1);
                assertThat(model.remove(gone.id())).isEqualTo(gone);
                assertThat(gone.expiresAt().toEpochMilli())
                        .as("evicted within one bucket of the soonest expiry")
                        .isLessThan(soonest + ExpiryWheel.BUCKET_MILLIS);
            }
            assertThat(store.count()).isEqualTo(model.size()).isLessThanOrEqualTo(max);
            checkAgainstModel(store, "insert " + i);
        }
        assertThat(evicted).isNotEmpty();
    }

    @Test
    void concurrentWritersLeaveTheIndexesConsistentWithTheSessions() throws Exception {
        InMemorySessionStore store = new InMemorySessionStore();
        Instant start = now;
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        List<String> shared = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = t;
            futures.add(pool.submit(() -> {
                Random random = new Random(seed);
                for (int i = 0; i < 3_000; i++) {
                    Instant at = start.plusMillis(random.nextInt(60_000));
                    int op = random.nextInt(6);
                    if (op == 0 || shared.isEmpty()) {
                        String owner = OWNERS[random.nextInt(OWNERS.length)];
                        Session s = new Session(store.newSessionId(owner), owner, at, at,
                                IDLE[random.nextInt(IDLE.length)], at.plusSeconds(60), 1, Map.of());
                        store.insert(s);
                        shared.add(s.id());
                        continue;
                    }
                    String id = shared.get(random.nextInt(shared.size()));
                    Session s = store.load(id).orElse(null);
                    if (s == null) {
                        continue;
                    }
                    switch (op) {
                        case 1, 2 -> store.replace(new Session(id, s.owner(), s.createdAt(), at,
                                IDLE[random.nextInt(IDLE.length)], s.absoluteExpiry(), s.version() + 1,
                                s.attributes()), s.version());
                        case 3 -> store.remove(id);
                        case 4 -> {
                            String owner = OWNERS[random.nextInt(OWNERS.length)];
                            Session moved = new Session(store.newSessionId(owner), owner, s.createdAt(), at,
                                    s.idleTimeout(), s.absoluteExpiry(), s.version() + 1, s.attributes());
                            if (store.changeId(id, moved, s.version())) {
                                shared.add(moved.id());
                            }
                        }
                        default -> store.removeExpired(at, 1 + random.nextInt(20));
                    }
                }
            }));
        }
        for (Future<?> f : futures) {
            f.get(2, TimeUnit.MINUTES);
        }
        pool.shutdown();
        Map<String, Session> live = new HashMap<>();
        for (String id : new HashSet<>(shared)) {
            store.load(id).ifPresent(s -> live.put(id, s));
        }
        model.clear();
        model.putAll(live);
        checkAgainstModel(store, "after the concurrent writers");
        List<Session> swept = store.removeExpired(start.plus(Duration.ofDays(1)), Integer.MAX_VALUE);
        assertThat(swept).hasSize(live.size());
        assertThat(store.count()).isZero();
        assertThat(store.expiryIndex().bucketCount()).isZero();
    }

    private void apply(InMemorySessionStore store, Random random) {
        now = now.plusMillis(random.nextInt(700));
        int op = random.nextInt(10);
        if (op <= 2 || model.isEmpty()) {
            Session s = newSession(store, random);
            assertThat(store.insert(s)).isTrue();
            assertThat(store.insert(s)).as("a taken id").isFalse();
            model.put(s.id(), s);
            return;
        }
        Session s = pick(random);
        switch (op) {
            case 3, 4 -> {
                // A touch, an earlier access (a clock behind), a shorter idle timeout or another owner.
                Instant access = random.nextInt(4) == 0 ? s.lastAccessedAt().minusMillis(random.nextInt(3000)) : now;
                Duration idle = random.nextInt(4) == 0 ? IDLE[random.nextInt(IDLE.length)] : s.idleTimeout();
                String owner = random.nextInt(5) == 0 ? OWNERS[random.nextInt(OWNERS.length)] : s.owner();
                Session next = new Session(s.id(), owner, s.createdAt(), access, idle, s.absoluteExpiry(),
                        s.version() + 1, Map.of("v", "" + s.version()));
                assertThat(store.replace(next, s.version() + 1)).as("a stale version").isFalse();
                assertThat(store.replace(next, s.version())).isTrue();
                model.put(s.id(), next);
            }
            case 5 -> {
                String owner = OWNERS[random.nextInt(OWNERS.length)];
                String newId = random.nextBoolean() ? store.newSessionId(owner) : "moved-" + ids++;
                Session renamed = new Session(newId, owner, s.createdAt(), now, s.idleTimeout(),
                        s.absoluteExpiry(), s.version() + 1, s.attributes());
                assertThat(store.changeId(s.id(), renamed, s.version())).isTrue();
                model.remove(s.id());
                model.put(newId, renamed);
            }
            case 6 -> {
                assertThat(store.remove(s.id())).contains(s);
                assertThat(store.remove(s.id())).isEmpty();
                model.remove(s.id());
            }
            default -> {
                int limit = 1 + random.nextInt(5);
                Set<String> expired = model.values().stream().filter(x -> x.isExpired(now)).map(Session::id)
                        .collect(Collectors.toSet());
                List<Session> claimed = store.removeExpired(now, limit);
                assertThat(claimed.size()).isEqualTo(Math.min(limit, expired.size()));
                for (Session c : claimed) {
                    assertThat(expired).contains(c.id());
                    assertThat(model.remove(c.id())).isEqualTo(c);
                }
            }
        }
    }

    private Session newSession(InMemorySessionStore store, Random random) {
        String owner = OWNERS[random.nextInt(OWNERS.length)];
        // Mostly ids from the store (tagged with their owner), some chosen by the caller (untagged).
        String id = random.nextInt(4) == 0 ? "caller-" + ids++ : store.newSessionId(owner);
        Duration idle = IDLE[random.nextInt(IDLE.length)];
        return new Session(id, owner, now, now, idle, now.plusSeconds(1 + random.nextInt(120)), 1,
                Map.of("k", "v"));
    }

    private Session pick(Random random) {
        List<String> keys = new ArrayList<>(model.keySet());
        keys.sort(null);
        return model.get(keys.get(random.nextInt(keys.size())));
    }

    private void checkAgainstModel(InMemorySessionStore store, String where) {
        assertThat(store.count()).as(where).isEqualTo(model.size());
        for (Session s : model.values()) {
            assertThat(store.load(s.id())).as(where).contains(s);
        }
        for (String owner : OWNERS) {
            if (owner == null) {
                continue;
            }
            Set<Session> expected = model.values().stream().filter(s -> owner.equals(s.owner()))
                    .collect(Collectors.toSet());
            List<Session> found = store.findByOwner(owner);
            assertThat(found).as(where + " owner " + owner).hasSize(expected.size());
            assertThat(new HashSet<>(found)).as(where + " owner " + owner).isEqualTo(expected);
        }
        Set<Session> listed = new HashSet<>();
        String cursor = null;
        do {
            SessionPage page = store.list(cursor, 3);
            listed.addAll(page.sessions());
            cursor = page.nextCursor();
        } while (cursor != null);
        assertThat(listed).as(where + " listing").isEqualTo(new HashSet<>(model.values()));
        // The wheel holds each session once, in a bucket that starts no later than its real expiry.
        List<StoredSession> filed = store.expiryIndex().entries();
        assertThat(filed).as(where + " wheel").hasSize(model.size());
        for (StoredSession e : filed) {
            assertThat(model.get(e.session.id())).as(where).isSameAs(e.session);
            assertThat(e.bucket.start).as(where + " filed no later than its expiry")
                    .isLessThanOrEqualTo(e.session.expiresAt().toEpochMilli());
        }
        assertThat(filed.stream().map(e -> e.session.id()).collect(Collectors.toSet())).hasSize(model.size());
        long untaggedOwners = model.values().stream()
                .filter(s -> s.owner() != null && !store.newSessionId(s.owner()).startsWith(s.id().substring(0,
                        Math.min(IdIndex.TAG_CHARS, s.id().length()))))
                .map(Session::owner).distinct().count();
        assertThat((long) store.idIndex().untaggedOwners()).as(where + " untagged owners").isEqualTo(untaggedOwners);
    }
}
