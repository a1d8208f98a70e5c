package dev.usher.benchmarks;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One admission without queueing: enter, hold the permit, give it back. Usher's {@code AdmissionQueue}
 * (each call under one of {@value #KEYS} user keys, as a host calls it) against a fair {@link Semaphore} (the raw limit) and Resilience4j's {@code SemaphoreBulkhead}, each with
 * {@value #MAX_RUNNING} permits, so neither 1 nor 2 benchmark threads ever wait: this is the cost every
 * request pays when the system is not overloaded.
 */
@State(Scope.Benchmark)
public class AdmissionBenchmark {
    static final int MAX_RUNNING = 64;
    static final int KEYS = 1 << 10;
    private static final Duration AWAIT = Duration.ofSeconds(10);

    private final String[] keys = new String[KEYS];
    private AdmissionQueue usher;

    private Semaphore semaphore;
    private Bulkhead bulkhead;

    @Setup(Level.Trial)
    public void setUp() {
        usher = AdmissionQueue.builder(MAX_RUNNING).name("bench").build();
        for (int i = 0; i < KEYS; i++) {
            keys[i] = "user-" + i;
        }
        semaphore = new Semaphore(MAX_RUNNING, true);
        bulkhead = Bulkhead.of("bench", BulkheadConfig.custom()
                .maxConcurrentCalls(MAX_RUNNING)
                .maxWaitDuration(Duration.ofSeconds(1))
                .build());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        usher.close();
    }

    @Benchmark
    public Permit usherEnterClose(Cursor c) throws Exception {
        Permit permit = usher.enter(keys[c.next(KEYS)]).await(AWAIT);
        permit.close();
        return permit;
    }

    @Benchmark
    public void fairSemaphore() throws InterruptedException {
        semaphore.acquire();
        semaphore.release();
    }

    @Benchmark
    public void resilience4jBulkhead() {
        bulkhead.acquirePermission();
        bulkhead.onComplete();
    }

    /**
     * Not a queue: the floor under any admission that measures its run, as the queue's wait estimates need
     * (the clock is read when the permit is given and when it is closed).
     */
    @Benchmark
    public long twoClockReads() {
        long admittedAt = System.nanoTime();
        return System.nanoTime() - admittedAt;
    }
}
