package dev.usher.session.redis;

import dev.usher.session.Session;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;

/**
 * The single-session scripts: insert, compare-and-set replace and remove, each one {@code EVALSHA} that
 * checks, writes the session hash and updates its index entries (expiry, ids, owner) atomically in the
 * session's shard; and the TTL every written hash gets. Thread-safe; the caller wraps each call in
 * {@link RedisCalls}.
 */
final class SessionWrites {
    /** Latest TTL the store sets: far from where Redis's millisecond arithmetic could overflow. */
    private static final long MAX_TTL_AT = Instant.parse("9999-12-31T23:59:59Z").toEpochMilli();

    private final UnifiedJedis redis;
    private final KeyLayout keys;
    private final long graceMillis;

    SessionWrites(UnifiedJedis redis, KeyLayout keys, long graceMillis) {
        this.redis = redis;
        this.keys = keys;
        this.graceMillis = graceMillis;
    }

    boolean insert(Session session) {
        int shard = keys.shardOf(session.id());
        List<String> k = new ArrayList<>(4);
        k.add(keys.sessionKey(session.id()));
        k.add(keys.expiryKey(shard));
        k.add(keys.idsKey(shard));
        if (session.owner() != null) {
            k.add(keys.ownerKey(shard, session.owner()));
        }
        List<String> fields = SessionCodec.fields(session);
        List<String> args = new ArrayList<>(3 + fields.size());
        args.add(session.id());
        args.add(Long.toString(session.expiresAt().toEpochMilli()));
        args.add(Long.toString(ttlAt(session)));
        args.addAll(fields);
        return ((Long) Script.INSERT.run(redis, k, args)) == 1L;
    }

    boolean replace(Session session, long expectedVersion) {
        int shard = keys.shardOf(session.id());
        List<String> k = new ArrayList<>(3);
        k.add(keys.sessionKeyPrefix(shard) + session.id()); // the shard once: its CRC-32 is per call
        k.add(keys.expiryKey(shard));
        if (session.owner() != null) {
            k.add(keys.ownerKey(shard, session.owner()));
        }
        List<String> fields = SessionCodec.fields(session);
        List<String> args = new ArrayList<>(5 + fields.size());
        args.add(session.id());
        args.add(Long.toString(session.expiresAt().toEpochMilli()));
        args.add(Long.toString(ttlAt(session)));
        args.add(Long.toString(expectedVersion));
        args.add(keys.ownerKeyPrefix(shard));
        args.addAll(fields);
        return ((Long) Script.REPLACE.run(redis, k, args)) == 1L;
    }

    /** The removed session, or null when it is gone or (with a version) at another version. */
    Session remove(String id, Long expectedVersion) {
        int shard = keys.shardOf(id);
        List<String> k = List.of(keys.sessionKey(id), keys.expiryKey(shard), keys.idsKey(shard));
        List<String> args = expectedVersion == null
                ? List.of(id, keys.ownerKeyPrefix(shard))
                : List.of(id, keys.ownerKeyPrefix(shard), Long.toString(expectedVersion));
        List<?> reply = (List<?>) Script.REMOVE.run(redis, k, args);
        return reply.isEmpty() ? null : SessionCodec.decode(reply);
    }

    /**
     * The second step of moving a session to a new id, once its copy under the new id is written: removes the
     * old id only if it is still at {@code expectedVersion} and gives its place back; if it moved on, removes
     * the copy instead (and the copy's place). Whether the old id was removed.
     */
    boolean retireOldId(String oldId, long expectedVersion, Session copy, Capacity capacity) {
        if (remove(oldId, expectedVersion) != null) {
            capacity.release(redis, List.of(oldId));
            return true;
        }
        remove(copy.id(), copy.version());
        capacity.release(redis, List.of(copy.id()));
        return false;
    }

    /**
     * The TTL of a session hash: its expiry plus the grace period, during which sweepers can still claim it
     * and deliver its EXPIRED event before Redis drops it.
     */
    long ttlAt(Session session) {
        return ttlAt(session.expiresAt().toEpochMilli());
    }

    /**
     * {@code until} plus the grace period, and never less than the grace period from now, so a session
     * stored already expired (a clock behind, a test) stays until a sweeper takes it.
     */
    long ttlAt(long until) {
        long floor = System.currentTimeMillis() + graceMillis;
        return Math.min(Math.max(saturatedAdd(until, graceMillis), floor), MAX_TTL_AT);
    }

    static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
