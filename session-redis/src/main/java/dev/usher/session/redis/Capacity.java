package dev.usher.session.redis;

import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import java.util.Collection;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;

/**
 * The store-wide bound on sessions ({@link RedisSessionStore.Builder#maxSessions}): a sorted set in one slot
 * holding a place for every stored session, scored by when that place lapses at the latest (the session's
 * absolute expiry plus the grace, past which its hash is gone whatever happens). A new session first takes a
 * place, in one script that counts and adds atomically, so the bound holds across instances; its hash is
 * written after. Every removal gives its place back after the hash is gone. A crash between the two steps
 * leaves a place taken by nothing, until it lapses: the bound errs towards refusing, never towards more.
 * The sessions live in many slots, so this cannot be one step with their writes on a cluster.
 */
final class Capacity {
    private final String key;
    private final int max;
    private final long graceMillis;
    private final String storeName;

    Capacity(String key, int max, long graceMillis, String storeName) {
        this.key = key;
        this.max = max;
        this.graceMillis = graceMillis;
        this.storeName = storeName;
    }

    boolean limited() {
        return max > 0;
    }

    /** Takes a place for {@code session}, or throws {@link SessionLimitException} when all are taken. */
    void reserve(UnifiedJedis redis, Session session) {
        if (!limited()) {
            return;
        }
        long now = System.currentTimeMillis();
        Object granted = Script.RESERVE.run(redis, List.of(key), List.of(Long.toString(now),
                Integer.toString(max), session.id(), Long.toString(lapsesAt(session, now))));
        if (((Long) granted) != 1L) {
            throw new SessionLimitException("Redis session store " + storeName + " is full: maxSessions=" + max,
                    "maxSessions", max);
        }
    }

    /** Takes a place without the check: for a session moving to a new id, which gives its old place back after. */
    void hold(UnifiedJedis redis, Session session) {
        if (limited()) {
            redis.zadd(key, lapsesAt(session, System.currentTimeMillis()), session.id());
        }
    }

    void release(UnifiedJedis redis, Collection<String> ids) {
        if (limited() && !ids.isEmpty()) {
            redis.zrem(key, ids.toArray(String[]::new));
        }
    }

    private long lapsesAt(Session session, long now) {
        return Math.max(session.absoluteExpiry().toEpochMilli(), now) + graceMillis;
    }
}
