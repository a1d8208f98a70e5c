package dev.usher.session;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Waits for a condition that other threads or processes bring about (a background sweep, a server's reply),
 * polling it, with a generous deadline so a loaded machine does not fail the test: what is asserted is that
 * the condition comes true, never how soon.
 */
public final class Await {
    /** The deadline when a test names none. */
    public static final Duration PATIENCE = Duration.ofSeconds(30);

    private Await() {
    }

    /** Returns once {@code condition} holds; fails the test if it does not within {@link #PATIENCE}. */
    public static void awaitCondition(BooleanSupplier condition) throws InterruptedException {
        awaitCondition("the condition holds", PATIENCE, condition);
    }

    /** Returns once {@code condition} holds; fails naming {@code what} if it does not within {@link #PATIENCE}. */
    public static void awaitCondition(String what, BooleanSupplier condition) throws InterruptedException {
        awaitCondition(what, PATIENCE, condition);
    }

    /** Returns once {@code condition} holds; fails naming {@code what} if it does not within {@code timeout}. */
    public static void awaitCondition(String what, Duration timeout, BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + timeout + " waiting until " + what);
            }
            Thread.sleep(10); // polling for work other threads do, not waiting for time to pass
        }
    }
}
