package dev.usher.session;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task run on its own background thread with a fixed delay between the end of one run and the start of
 * the next: the one way session-core runs background work (the sweeper, a {@link StoreCircuit}'s probe).
 *
 * <p>Thread-safe. The thread comes from the given {@link ThreadFactory} (by default a named daemon thread,
 * see {@link #daemonThreads}); it sleeps between runs, so it costs nothing while nothing is due. A run that
 * throws is logged and the next run happens as planned. {@link #stop()} lets a run under way finish and
 * plans no more; {@link #close()} also interrupts it and waits up to 10 s for the thread to end (not when
 * called from the task itself, which would wait for itself).
 */
final class PeriodicTask implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeriodicTask.class);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    private final String name;
    private final ScheduledThreadPoolExecutor executor;
    private volatile Thread runner;

    private PeriodicTask(String name, ThreadFactory threads, Duration delay, Runnable task) {
        this.name = name;
        this.executor = new ScheduledThreadPoolExecutor(1, threads);
        executor.setRemoveOnCancelPolicy(true);
        long nanos = delay.toNanos();
        executor.scheduleWithFixedDelay(() -> runOnce(task), nanos, nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Starts running {@code task} every {@code delay} (the first run one delay from now).
     *
     * @param name named in log lines (and in the thread's name with {@link #daemonThreads})
     */
    static PeriodicTask start(String name, ThreadFactory threads, Duration delay, Runnable task) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(threads, "threadFactory");
        Objects.requireNonNull(task, "task");
        if (delay.toNanos() <= 0) {
            throw new IllegalArgumentException(name + " delay must be positive but was " + Durations.format(delay));
        }
        return new PeriodicTask(name, threads, delay, task);
    }

    /** Daemon threads named {@code name}, the default for Usher's background work. */
    static ThreadFactory daemonThreads(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    private void runOnce(Runnable task) {
        runner = Thread.currentThread();
        try {
            task.run();
        } catch (RuntimeException e) {
            log.warn("{} failed: {}", name, e.toString());
        } finally {
            runner = null;
        }
    }

    /** Plans no further run; a run under way finishes. Returns at once. Idempotent. */
    void stop() {
        executor.shutdown();
    }

    /** Stops, interrupts a run under way and waits up to 10 s for the thread to end. Idempotent. */
    @Override
    public void close() {
        executor.shutdownNow();
        if (runner == Thread.currentThread()) {
            return;
        }
        try {
            if (!executor.awaitTermination(CLOSE_WAIT.toNanos(), TimeUnit.NANOSECONDS)) {
                log.warn("{} did not stop within {}", name, Durations.format(CLOSE_WAIT));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
