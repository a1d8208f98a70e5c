package dev.usher.benchmarks;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One admission without queueing: enter, hold the permit, give it back. Usher's {@code AdmissionQueue}
 * against a fair {@link Semaphore} (the raw limit) and Resilience4j's {@code SemaphoreBulkhead}, each with
 * {@value #MAX_RUNNING} permits, so neither 1 nor 2 benchmark threads ever wait: this is the cost every
 * request pays when the system is not overloaded.
 */
@State(Scope.Benchmark)
public class AdmissionBenchmark {
    static final int MAX_RUNNING = 64;

    private Semaphore semaphore;
    private Bulkhead bulkhead;

    @Setup(Level.Trial)
    public void setUp() {
        semaphore = new Semaphore(MAX_RUNNING, true);
        bulkhead = Bulkhead.of("bench", BulkheadConfig.custom()
                .maxConcurrentCalls(MAX_RUNNING)
                .maxWaitDuration(Duration.ofSeconds(1))
                .build());
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
}
