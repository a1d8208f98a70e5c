package dev.usher.session;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A host's {@link ThreadFactory} as a test sees it: every thread it makes is named {@code <prefix>-<n>} and
 * remembered, so a test can check that a component's background threads came from the host and that its
 * {@code close()} ended them.
 */
public final class HostThreads implements ThreadFactory {
    private final String prefix;
    private final AtomicInteger made = new AtomicInteger();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();

    public HostThreads(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public Thread newThread(Runnable task) {
        Thread t = new Thread(task, prefix + "-" + made.incrementAndGet());
        t.setDaemon(true);
        threads.add(t);
        return t;
    }

    /** Every thread made so far. */
    public List<Thread> threads() {
        return List.copyOf(threads);
    }

    /** Whether every thread made so far has ended, after waiting up to {@code timeout} for each. */
    public boolean allEnded(Duration timeout) throws InterruptedException {
        for (Thread t : threads) {
            t.join(timeout.toMillis());
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }
}
