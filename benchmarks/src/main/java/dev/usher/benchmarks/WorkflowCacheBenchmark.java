package dev.usher.benchmarks;

import com.github.benmanes.caffeine.cache.Cache;
import dev.usher.gate.cache.Lease;
import dev.usher.gate.cache.WorkflowCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A cache hit for one session's workflow object, among {@value #KEYS} cached ones: Usher's
 * {@code WorkflowCache} lease (acquire, then close, which also tracks that the object is in use) against
 * Caffeine's {@code getIfPresent}, the engine under it.
 */
@State(Scope.Benchmark)
public class WorkflowCacheBenchmark {
    static final int KEYS = 1 << 10;

    private final String[] keys = new String[KEYS];
    private Cache<String, Object> caffeine;
    private WorkflowCache<String, Object> usher;

    @Setup(Level.Trial)
    public void setUp() {
        caffeine = Caffeine.newBuilder().maximumSize(KEYS * 4L).build();
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "session-" + i;
            caffeine.put(keys[i], new Object());
        }
        usher = WorkflowCache.<String, Object>builder(key -> new Object()).maximumSize(KEYS * 4L).build();
        for (String key : keys) {
            usher.acquire(key).close();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        usher.close();
    }

    @Benchmark
    public Object usherAcquireClose(Cursor c) {
        Lease<Object> lease = usher.acquire(keys[c.next(KEYS)]);
        Object value = lease.value();
        lease.close();
        return value;
    }

    @Benchmark
    public Object caffeineGetIfPresent(Cursor c) {
        return caffeine.getIfPresent(keys[c.next(KEYS)]);
    }
}
