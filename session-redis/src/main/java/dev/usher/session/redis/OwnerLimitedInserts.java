package dev.usher.session.redis;

import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionIds;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;

/**
 * The owner-limited writes: one script on the owner's slot (see {@link Script#OWNER_LIMITED_INSERT}) counts
 * the owner's live sessions, writes and trims the oldest, so the limit holds across instances. An owned
 * session's id comes from {@link KeyLayout#idInShard}, in the owner's shard, which is what lets one script
 * see both. Places under {@code maxSessions} ({@link Capacity}) are taken before and given back after.
 * Thread-safe; the caller wraps each call in {@link RedisCalls}.
 */
final class OwnerLimitedInserts {
    private final UnifiedJedis redis;
    private final KeyLayout keys;
    private final Capacity capacity;
    private final SessionWrites writes;

    OwnerLimitedInserts(UnifiedJedis redis, KeyLayout keys, Capacity capacity, SessionWrites writes) {
        this.redis = redis;
        this.keys = keys;
        this.capacity = capacity;
        this.writes = writes;
    }

    OwnerLimitedWrite insert(Session session, OwnerLimit limit, Instant now) {
        capacity.reserve(redis, session);
        OwnerLimitedWrite write = ownerLimitedInsert(session, "", limit, now);
        if (write.outcome() != OwnerLimitedWrite.Outcome.WRITTEN) {
            capacity.release(redis, List.of(session.id()));
        }
        capacity.release(redis, idsOf(write.endedOldest()));
        return write;
    }

    /**
     * The owner-limited insert under the new id (the session leaving {@code oldId} neither counts nor is
     * trimmed), then the removal of the old id at {@code expectedVersion}, undone if that fails. Sessions
     * trimmed by the first step stay ended either way and are reported.
     */
    OwnerLimitedWrite changeId(String oldId, Session renamed, long expectedVersion, OwnerLimit limit, Instant now) {
        capacity.hold(redis, renamed);
        OwnerLimitedWrite inserted = ownerLimitedInsert(renamed, oldId, limit, now);
        capacity.release(redis, idsOf(inserted.endedOldest()));
        if (inserted.outcome() != OwnerLimitedWrite.Outcome.WRITTEN) {
            capacity.release(redis, List.of(renamed.id()));
            return inserted;
        }
        if (writes.retireOldId(oldId, expectedVersion, renamed, capacity)) {
            return inserted;
        }
        return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, inserted.endedOldest());
    }

    private OwnerLimitedWrite ownerLimitedInsert(Session session, String retiringId, OwnerLimit limit, Instant now) {
        int shard = keys.shardOf(session.id());
        if (session.owner() == null || shard != keys.shardOf(session.owner())) {
            throw new IllegalArgumentException("session " + SessionIds.redact(session.id()) + " of owner '" + session.owner()
                    + "' has an id outside the owner's shard; ids for owned sessions come from newSessionId(owner)");
        }
        List<String> k = List.of(keys.sessionKey(session.id()), keys.expiryKey(shard), keys.idsKey(shard),
                keys.ownerKey(shard, session.owner()));
        List<String> fields = SessionCodec.fields(session);
        List<String> args = new ArrayList<>(8 + fields.size());
        args.add(session.id());
        args.add(Long.toString(session.expiresAt().toEpochMilli()));
        args.add(Long.toString(writes.ttlAt(session)));
        args.add(Long.toString(now.toEpochMilli()));
        args.add(Integer.toString(limit.max()));
        args.add(limit.policy().name());
        args.add(retiringId);
        args.add(keys.sessionKeyPrefix(shard));
        args.addAll(fields);
        List<?> reply = (List<?>) Script.OWNER_LIMITED_INSERT.run(redis, k, args);
        long outcome = (Long) reply.get(0);
        if (outcome == 0L) {
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, List.of());
        }
        if (outcome == 2L) {
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.OWNER_AT_LIMIT, List.of());
        }
        List<Session> ended = new ArrayList<>(reply.size() - 1);
        for (Object fieldsOfEnded : reply.subList(1, reply.size())) {
            ended.add(SessionCodec.decode(fieldsOfEnded));
        }
        return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, ended);
    }

    static List<String> idsOf(List<Session> sessions) {
        return sessions.stream().map(Session::id).toList();
    }
}
