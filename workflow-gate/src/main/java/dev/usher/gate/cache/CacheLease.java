package dev.usher.gate.cache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A lease: one reference to its entry, dropped by the first {@link #close()}. Sixteen bytes, the only
 * allocation of a hit: the entry's count says how many leases are open, this object only makes a second
 * close of the same lease do nothing (an atomic swap, so two threads closing it at once give back one lease).
 */
final class CacheLease<K, V> implements Lease<V> {
    private static final VarHandle ENTRY;

    static {
        try {
            ENTRY = MethodHandles.lookup().findVarHandle(CacheLease.class, "entry", CacheEntry.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Null once closed. Written plainly here (a volatile store would cost a fence on every hit): the lease
     * reaches another thread only through the caller's own hand-over, which publishes it.
     */
    private CacheEntry<K, V> entry;

    CacheLease(CacheEntry<K, V> entry) {
        this.entry = entry;
    }

    @Override
    public V value() {
        @SuppressWarnings("unchecked")
        CacheEntry<K, V> e = (CacheEntry<K, V>) ENTRY.getAcquire(this);
        if (e == null) {
            throw new IllegalStateException("this lease was already closed");
        }
        return e.value;
    }

    @Override
    public void close() {
        @SuppressWarnings("unchecked")
        CacheEntry<K, V> e = (CacheEntry<K, V>) ENTRY.getAndSet(this, null);
        if (e != null) {
            e.cache.release(e);
        }
    }

    @Override
    public String toString() {
        @SuppressWarnings("unchecked")
        CacheEntry<K, V> e = (CacheEntry<K, V>) ENTRY.getAcquire(this);
        return e == null ? "Lease[closed]" : "Lease[" + DefaultWorkflowCache.describe(e.key) + ", open]";
    }
}
