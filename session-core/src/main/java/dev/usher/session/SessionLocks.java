package dev.usher.session;

import java.time.Duration;

/**
 * Where {@link SessionManager#withLock} takes its per-session locks. The default,
 * {@link #inProcess()}, excludes actions within one process; a backend may offer one that excludes them
 * across every instance sharing the store (a lease in Redis or a database), and a host plugs it in with
 * {@link SessionManager.Builder#sessionLocks}.
 *
 * <p>Implementations are thread-safe. {@link #acquire} may block up to its timeout and must not hold a
 * monitor while it waits, so that it suits virtual threads.
 */
public interface SessionLocks {

    /**
     * Takes the lock of session {@code id}, waiting at most {@code timeout}.
     *
     * @return the held lock, to be closed by the same thread; null if it was not obtained in time
     */
    Held acquire(String id, Duration timeout) throws InterruptedException;

    /** A held lock; closing it releases it. */
    interface Held extends AutoCloseable {
        /** True if the caller had to wait for another holder (counted in {@link SessionStats#lockWaits()}). */
        boolean waited();

        @Override
        void close();
    }

    /** Reentrant locks within this process, one per session in use, forgotten when nobody holds or waits. */
    static SessionLocks inProcess() {
        KeyedLocks locks = new KeyedLocks();
        return (id, timeout) -> {
            boolean[] contended = new boolean[1];
            KeyedLocks.Held held = locks.acquire(id, timeout.toNanos(), contended);
            if (held == null) {
                return null;
            }
            boolean waited = contended[0];
            return new Held() {
                @Override
                public boolean waited() {
                    return waited;
                }

                @Override
                public void close() {
                    held.close();
                }
            };
        };
    }
}
