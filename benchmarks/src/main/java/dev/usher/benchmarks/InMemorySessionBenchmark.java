package dev.usher.benchmarks;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.MapSession;
import org.springframework.session.MapSessionRepository;

/**
 * Per-request session work in the heap: Usher's {@code SessionManager} on {@code InMemorySessionStore},
 * Spring Session's {@code MapSessionRepository} (findById + save), and a bare
 * {@code ConcurrentHashMap.compute} on an immutable record, the floor under both.
 *
 * <p>"touch" is what a request does to its session: Usher records the access (written only once it moved
 * by more than the touch threshold, 3 minutes here), Spring sets the last access time and saves.
 * "update" changes one attribute and stores it (Usher: compare-and-set; Spring: save of a copy).
 */
@State(Scope.Benchmark)
public class InMemorySessionBenchmark {
    static final int SESSIONS = 1 << 14;
    private static final String[] VALUES = {"a", "b", "c", "d", "e", "f", "g", "h"};

    private SessionManager usher;
    private final String[] usherIds = new String[SESSIONS];
    /** The session as the last write left it: what a caller holds after its touch (the gate does). */
    private final Session[] usherHeld = new Session[SESSIONS];
    private MapSessionRepository spring;
    private final String[] springIds = new String[SESSIONS];
    private final ConcurrentHashMap<String, RawSession> raw = new ConcurrentHashMap<>();
    private final String[] rawIds = new String[SESSIONS];

    /** The least a stored session needs: an access time, a version for compare-and-set, the attributes. */
    record RawSession(long lastAccessedAt, long version, Map<String, String> attributes) {
    }

    @Setup(Level.Trial)
    public void setUp() {
        usher = SessionManager.builder(InMemorySessionStore.builder().maxSessions(SESSIONS * 2).build())
                .idleTimeout(Duration.ofMinutes(30))
                .sweepInterval(Duration.ZERO)
                .build();
        spring = new MapSessionRepository(new ConcurrentHashMap<>());
        spring.setDefaultMaxInactiveInterval(Duration.ofMinutes(30));
        for (int i = 0; i < SESSIONS; i++) {
            String owner = "user-" + i;
            usherHeld[i] = usher.create(owner, Map.of("plan", "pro"));
            usherIds[i] = usherHeld[i].id();
            MapSession s = spring.createSession();
            s.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, owner);
            s.setAttribute("plan", "pro");
            spring.save(s);
            springIds[i] = s.getId();
            rawIds[i] = "raw-" + i;
            raw.put(rawIds[i], new RawSession(System.currentTimeMillis(), 1, Map.of("plan", "pro")));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        usher.close();
    }

    @Benchmark
    public Optional<Session> usherTouch(Cursor c) {
        return usher.touch(usherIds[c.next(SESSIONS)]);
    }

    @Benchmark
    public Optional<Session> usherUpdate(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        return usher.update(usherIds[c.next(SESSIONS)], s -> s.withAttribute("step", value));
    }

    /** An update by a caller that holds the current session: one compare-and-set, no read. */
    @Benchmark
    public Optional<Session> usherUpdateHeld(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        int i = c.next(SESSIONS);
        Optional<Session> updated = usher.update(usherHeld[i], s -> s.withAttribute("step", value));
        updated.ifPresent(s -> usherHeld[i] = s);
        return updated;
    }

    @Benchmark
    public MapSession springTouch(Cursor c) {
        MapSession s = spring.findById(springIds[c.next(SESSIONS)]);
        s.setLastAccessedTime(Instant.now());
        spring.save(s);
        return s;
    }

    @Benchmark
    public MapSession springUpdate(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        MapSession s = spring.findById(springIds[c.next(SESSIONS)]);
        s.setLastAccessedTime(Instant.now());
        s.setAttribute("step", value);
        spring.save(s);
        return s;
    }

    @Benchmark
    public RawSession rawCompute(Cursor c) {
        long now = System.currentTimeMillis();
        return raw.compute(rawIds[c.next(SESSIONS)], (k, v) -> new RawSession(now, v.version() + 1, v.attributes()));
    }
}
