package dev.usher.session.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * {@link InMemorySessionStore}'s expiry index: a wheel of one-second buckets, each a doubly linked list
 * threaded through the {@link StoredSession} entries themselves, so that indexing a session costs two
 * references in its entry instead of a node per session in a sorted set.
 *
 * <p>An entry is filed in the bucket of its expiry at the time it was filed, and the store keeps one rule:
 * <b>a bucket's start is never later than the real expiry of an entry filed in it</b>. A write that extends
 * the expiry (every touch and update) therefore leaves the entry where it is, at no cost; a write that moves
 * it earlier files it again ({@link #fileAgainIfEarlier}); a scan that meets an entry filed too early files
 * it where it belongs ({@link #fileAgain}). So every session expired at {@code now} sits in a bucket that
 * starts at or before {@code now}: the sweep finds them all by looking only at those buckets, and each
 * bucket's first entry expires, to within one bucket, no later than any other entry of the wheel.
 *
 * <p>Thread-safe. An entry is filed and unfiled only while its monitor is held (inside the map step of its
 * id, or alone for a replace; so one entry's changes never interleave) and, for the list links, under its
 * bucket's lock. Lock order: the map's step, then the entry's monitor, then one
 * bucket's lock; scans copy a bucket under its lock and visit the copies outside it. A bucket left empty is
 * retired (removed from the wheel under its lock); a filer that finds its bucket retired makes a new one.
 */
final class ExpiryWheel {
    /** Width of a bucket: the sweep looks at entries at most this much younger than necessary. */
    static final long BUCKET_MILLIS = 1_000;

    /** The entries whose filed expiry falls within one second. */
    static final class Bucket {
        final long key;
        final long start;
        final ReentrantLock lock = new ReentrantLock();
        StoredSession head;
        StoredSession tail;
        int size;
        boolean retired;

        Bucket(long key) {
            this.key = key;
            this.start = key <= Long.MIN_VALUE / BUCKET_MILLIS ? Long.MIN_VALUE : key * BUCKET_MILLIS;
        }

        long end() {
            return start > Long.MAX_VALUE - BUCKET_MILLIS ? Long.MAX_VALUE : start + BUCKET_MILLIS;
        }
    }

    private final ConcurrentSkipListMap<Long, Bucket> buckets = new ConcurrentSkipListMap<>();

    /** Files an entry that is in no bucket under its session's expiry; call holding its monitor, or before it is visible. */
    void file(StoredSession entry) {
        long expiry = StoredSession.expiryMillis(entry.session);
        Long key = Math.floorDiv(expiry, BUCKET_MILLIS);
        while (true) {
            Bucket bucket = buckets.computeIfAbsent(key, Bucket::new);
            bucket.lock.lock();
            try {
                if (!bucket.retired) {
                    link(bucket, entry);
                    return;
                }
            } finally {
                bucket.lock.unlock();
            }
            buckets.remove(key, bucket); // retired meanwhile; its remover may not have got there yet
        }
    }

    /** Takes the entry out of its bucket; call holding the entry's monitor. */
    void unfile(StoredSession entry) {
        Bucket bucket = entry.bucket;
        bucket.lock.lock();
        try {
            unlink(bucket, entry);
            if (bucket.size == 0) {
                bucket.retired = true;
                buckets.remove(bucket.key, bucket);
            }
        } finally {
            bucket.lock.unlock();
        }
    }

    /** Files the entry again under its session's expiry; call holding the entry's monitor. */
    void fileAgain(StoredSession entry) {
        unfile(entry);
        file(entry);
    }

    /** Keeps the rule after the entry's session changed: files it again only if it now expires before its bucket. */
    void fileAgainIfEarlier(StoredSession entry) {
        if (StoredSession.expiryMillis(entry.session) < entry.bucket.start) {
            fileAgain(entry);
        }
    }

    /** True if the entry's session expires at or after the end of its bucket (it belongs in a later one). */
    static boolean filedTooEarly(StoredSession entry) {
        return StoredSession.expiryMillis(entry.session) >= entry.bucket.end();
    }

    /**
     * Visits the entries of every bucket that starts at or before {@code nowMillis}, earliest bucket first,
     * until {@code visitor} returns false. Each bucket is copied under its lock and visited outside it, so
     * the visitor may file, unfile or remove entries (in their map steps); an entry it files again into a
     * later due bucket may be visited twice.
     */
    void forEachDue(long nowMillis, Predicate<StoredSession> visitor) {
        Long last = Math.floorDiv(nowMillis, BUCKET_MILLIS);
        for (Bucket bucket : buckets.headMap(last, true).values()) {
            for (StoredSession entry : copy(bucket)) {
                if (!visitor.test(entry)) {
                    return;
                }
            }
        }
    }

    /** The first entry of the earliest bucket, or null when the wheel is empty. */
    StoredSession first() {
        for (Bucket bucket : buckets.values()) {
            bucket.lock.lock();
            try {
                if (bucket.head != null) {
                    return bucket.head;
                }
            } finally {
                bucket.lock.unlock();
            }
        }
        return null;
    }

    /** Number of buckets, for tests. */
    int bucketCount() {
        return buckets.size();
    }

    /** Every filed entry, earliest bucket first, for tests that check the index against the map. */
    List<StoredSession> entries() {
        List<StoredSession> all = new ArrayList<>();
        for (Bucket bucket : buckets.values()) {
            all.addAll(copy(bucket));
        }
        return all;
    }

    private static List<StoredSession> copy(Bucket bucket) {
        bucket.lock.lock();
        try {
            List<StoredSession> entries = new ArrayList<>(bucket.size);
            for (StoredSession e = bucket.head; e != null; e = e.next) {
                entries.add(e);
            }
            return entries;
        } finally {
            bucket.lock.unlock();
        }
    }

    private static void link(Bucket bucket, StoredSession entry) {
        entry.previous = bucket.tail;
        entry.next = null;
        if (bucket.tail == null) {
            bucket.head = entry;
        } else {
            bucket.tail.next = entry;
        }
        bucket.tail = entry;
        bucket.size++;
        entry.bucket = bucket;
    }

    private static void unlink(Bucket bucket, StoredSession entry) {
        if (entry.previous == null) {
            bucket.head = entry.next;
        } else {
            entry.previous.next = entry.next;
        }
        if (entry.next == null) {
            bucket.tail = entry.previous;
        } else {
            entry.next.previous = entry.previous;
        }
        entry.previous = null;
        entry.next = null;
        entry.bucket = null;
        bucket.size--;
    }
}
