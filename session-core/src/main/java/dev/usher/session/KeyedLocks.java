package dev.usher.session;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One reentrant lock per key, created on demand and dropped when nobody holds or waits for it, so the
 * table stays as small as the number of keys in use. ReentrantLock (not {@code synchronized}) keeps
 * virtual threads unpinned while a holder does blocking I/O.
 */
final class KeyedLocks {
    private static final class Entry {
        final ReentrantLock lock = new ReentrantLock();
        int users;
    }

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

    /** A held lock; closing it unlocks. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Acquires the key's lock within the timeout. Returns null on timeout. {@code contended} is set to true
     * when the caller had to wait.
     */
    Held acquire(String key, long timeoutNanos, boolean[] contended) throws InterruptedException {
        Entry entry = entries.compute(key, (k, e) -> {
            Entry x = e == null ? new Entry() : e;
            x.users++;
            return x;
        });
        boolean locked = false;
        try {
            locked = entry.lock.tryLock();
            if (!locked) {
                contended[0] = true;
                locked = entry.lock.tryLock(timeoutNanos, TimeUnit.NANOSECONDS);
            }
        } finally {
            if (!locked) {
                release(key, entry);
            }
        }
        if (!locked) {
            return null;
        }
        return () -> {
            entry.lock.unlock();
            release(key, entry);
        };
    }

    private void release(String key, Entry entry) {
        entries.compute(key, (k, e) -> {
            if (e == null) {
                return null;
            }
            e.users--;
            return e.users == 0 ? null : e;
        });
    }

    int size() {
        return entries.size();
    }
}
