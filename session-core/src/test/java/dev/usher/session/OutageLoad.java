package dev.usher.session;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Steady load on a store while a test kills, freezes and restarts its server: worker threads call one
 * operation in a loop and record when each call started, how long it took and whether it succeeded or
 * failed with {@link StoreUnavailableException}. Any other exception stops the load and is rethrown by
 * {@link #close()}. Published in the test-jar for every backend's outage test.
 */
public final class OutageLoad implements AutoCloseable {
    /** One call: returns normally on success. */
    @FunctionalInterface
    public interface Call {
        void run(int thread, long iteration);
    }

    /** One recorded call. */
    public record Outcome(long startNanos, long endNanos, boolean succeeded) {
        public long tookNanos() {
            return endNanos - startNanos;
        }
    }

    private final ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ExecutorService pool;
    private final List<Future<?>> workers = new ArrayList<>();

    private OutageLoad(int threads, Call call) {
        pool = Executors.newFixedThreadPool(threads);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            workers.add(pool.submit(() -> {
                long i = 0;
                while (!stop.get()) {
                    long began = System.nanoTime();
                    boolean ok;
                    try {
                        call.run(thread, i++);
                        ok = true;
                    } catch (StoreUnavailableException e) {
                        ok = false;
                    } catch (RuntimeException | Error e) {
                        unexpected.add(e);
                        stop.set(true);
                        return;
                    }
                    outcomes.add(new Outcome(began, System.nanoTime(), ok));
                    if (!ok) {
                        // Failing calls return at once: pace them so the record stays a manageable size.
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
                    }
                }
            }));
        }
    }

    /** Starts {@code threads} workers calling {@code call}. */
    public static OutageLoad start(int threads, Call call) {
        return new OutageLoad(threads, call);
    }

    /** Waits (up to 2 minutes) until {@code count} calls that started after {@code sinceNanos} succeeded. */
    public void awaitSuccesses(long sinceNanos, int count) {
        await(() -> outcomes.stream().filter(o -> o.succeeded && o.startNanos >= sinceNanos).count() >= count,
                count + " successful calls");
    }

    /** Waits (up to 2 minutes) until {@code count} calls that started after {@code sinceNanos} failed. */
    public void awaitFailures(long sinceNanos, int count) {
        await(() -> outcomes.stream().filter(o -> !o.succeeded && o.startNanos >= sinceNanos).count() >= count,
                count + " failed calls");
    }

    /** Every call that started at or after {@code fromNanos} and before {@code toNanos}. */
    public List<Outcome> between(long fromNanos, long toNanos) {
        return outcomes.stream().filter(o -> o.startNanos >= fromNanos && o.startNanos < toNanos).toList();
    }

    /** The end of the first successful call that started at or after {@code sinceNanos}. */
    public long firstSuccessEnd(long sinceNanos) {
        awaitSuccesses(sinceNanos, 1);
        return outcomes.stream().filter(o -> o.succeeded && o.startNanos >= sinceNanos)
                .mapToLong(Outcome::endNanos).min().orElseThrow();
    }

    /** The {@code percentile} (0 to 100) of the durations of {@code calls}. */
    public static Duration percentile(List<Outcome> calls, double percentile) {
        long[] sorted = calls.stream().mapToLong(Outcome::tookNanos).sorted().toArray();
        if (sorted.length == 0) {
            throw new AssertionError("no calls to measure");
        }
        int index = (int) Math.min(sorted.length - 1, Math.ceil(percentile / 100 * sorted.length) - 1);
        return Duration.ofNanos(sorted[Math.max(0, index)]);
    }

    private void await(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!condition.getAsBoolean()) {
            if (!unexpected.isEmpty()) {
                throw new AssertionError("a call failed with an unexpected exception", unexpected.peek());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("waited 2 minutes for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // polling counters the workers move
        }
    }

    /** Stops the workers and rethrows the first unexpected exception. */
    @Override
    public void close() throws Exception {
        stop.set(true);
        try {
            for (Future<?> w : workers) {
                w.get(2, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        if (!unexpected.isEmpty()) {
            throw new AssertionError("a call failed with an unexpected exception", unexpected.peek());
        }
    }
}
