package dev.usher.gate.background;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where workflow-gate makes background threads: a single named thread per job, started by
 * a component and stopped (and awaited) by that component's {@code close()}.
 *
 * <p>Threads come from a {@link ThreadFactory}: by default one that makes a platform daemon thread
 * with the job's name ({@code usher-workspace-sweeper}…); a host may pass its own (virtual threads,
 * its naming, MDC propagation) through a component's {@code threadFactory} builder setting, and then
 * owns what that factory does — Usher neither renames nor re-flags the threads it returns.
 *
 * <p>Thread-safe; every method returns at once except {@link #shutdownAndAwait} and
 * {@link PeriodicTask#close()}, which block up to the given timeout.
 */
public final class BackgroundThreads {
    private static final Logger log = LoggerFactory.getLogger(BackgroundThreads.class);

    private BackgroundThreads() {
    }

    /** A factory of platform daemon threads all named {@code name} (each component has one thread per job). */
    public static ThreadFactory daemon(String name) {
        Objects.requireNonNull(name, "name");
        return task -> {
            Thread t = new Thread(task, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** {@code host} if the host gave one, otherwise {@link #daemon(String) daemon(name)}. */
    public static ThreadFactory orDaemon(ThreadFactory host, String name) {
        return host != null ? host : daemon(name);
    }

    /** One thread running tasks in submission order; queued tasks are unbounded. */
    public static ExecutorService serial(ThreadFactory threads) {
        return new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                Objects.requireNonNull(threads, "threads"));
    }

    /** One thread for delayed tasks; a cancelled task leaves its queue at once. */
    public static ScheduledThreadPoolExecutor scheduler(ThreadFactory threads) {
        ScheduledThreadPoolExecutor s = new ScheduledThreadPoolExecutor(1, Objects.requireNonNull(threads, "threads"));
        s.setRemoveOnCancelPolicy(true);
        return s;
    }

    /**
     * Runs {@code task} every {@code interval} (fixed delay: the next run starts {@code interval} after the
     * previous one ended), first after one interval. A run that throws is logged and the next run happens
     * as planned, so a store or disk outage never stops the job.
     *
     * @param what names the job in log lines ("workspace orphan sweep")
     */
    public static PeriodicTask everyInterval(String what, Duration interval, ThreadFactory threads, Runnable task) {
        Objects.requireNonNull(what, "what");
        Objects.requireNonNull(task, "task");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive but was " + interval);
        }
        ScheduledThreadPoolExecutor executor = scheduler(threads);
        long millis = Math.max(1, interval.toMillis());
        executor.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.warn("{} failed; trying again in {} ms: {}", what, millis, e.toString());
            }
        }, millis, millis, TimeUnit.MILLISECONDS);
        return new PeriodicTask(what, executor);
    }

    /**
     * Stops {@code executor} (interrupting its task if {@code interrupt}) and waits up to {@code timeout}
     * for it to finish; logs a warning naming {@code what} if it does not. Keeps the caller's interrupt.
     *
     * @return true if the executor finished within the timeout
     */
    public static boolean shutdownAndAwait(ExecutorService executor, boolean interrupt, Duration timeout, String what) {
        if (interrupt) {
            executor.shutdownNow();
        } else {
            executor.shutdown();
        }
        try {
            if (executor.awaitTermination(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS)) {
                return true;
            }
            log.warn("{} still running after {} ms", what, timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }

    /** A job started by {@link #everyInterval}; {@link #close()} interrupts a run in progress and waits for it. */
    public static final class PeriodicTask implements AutoCloseable {
        private static final Duration STOP_WAIT = Duration.ofSeconds(10);
        private final String what;
        private final ExecutorService executor;
        private final AtomicBoolean closed = new AtomicBoolean();

        private PeriodicTask(String what, ExecutorService executor) {
            this.what = what;
            this.executor = executor;
        }

        /** Stops the job and waits up to 10 s for a run in progress to end. Idempotent. */
        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                shutdownAndAwait(executor, true, STOP_WAIT, what);
            }
        }
    }
}
