package dev.usher.gate.admission;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The one lock of a {@link DefaultAdmissionQueue}. Taking it stops the queue's {@link FastPath} and waits
 * for fast calls in flight, so whoever holds it sees every count exact and still; the last release restarts
 * the fast path if nobody waits. Everything that reads or changes the queue's state takes this lock and
 * nothing else, so no caller has to remember to stop the fast path.
 */
final class QueueLock extends ReentrantLock {
    private static final long serialVersionUID = 1L;
    // Set once, while the queue is built and before anyone else can see the lock.
    private transient FastPath fastPath;

    void stops(FastPath fastPath) {
        this.fastPath = fastPath;
    }

    @Override
    public void lock() {
        super.lock();
        if (getHoldCount() == 1 && fastPath != null) {
            fastPath.stop();
        }
    }

    @Override
    public void unlock() {
        if (getHoldCount() == 1 && fastPath != null) {
            fastPath.restartIfNobodyWaits();
        }
        super.unlock();
    }
}
