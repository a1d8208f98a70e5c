package dev.usher.session.redis;

import dev.usher.session.Session;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import redis.clients.jedis.UnifiedJedis;

/**
 * The expiry sweep's two steps. {@link #claim} goes shard by shard, starting at a random shard so that
 * sweepers of several instances mostly work on different shards. Each shard's claim is one script: it takes
 * claims past their deadline and expired sessions, and moves them to the shard's claims in one atomic step,
 * so two sweepers never both get a session while its claim holds. A claim lives until {@link #acknowledge};
 * if the claimer dies or its connection drops first (even after Redis ran the script and the reply was
 * lost), the claim is taken over after the claim timeout. Thread-safe; the caller wraps each call in
 * {@link RedisCalls}.
 */
final class ExpiryClaims {
    private final UnifiedJedis redis;
    private final KeyLayout keys;
    private final Capacity capacity;
    private final SessionWrites writes;
    private final long claimTimeoutMillis;

    ExpiryClaims(UnifiedJedis redis, KeyLayout keys, Capacity capacity, SessionWrites writes, long claimTimeoutMillis) {
        this.redis = redis;
        this.keys = keys;
        this.capacity = capacity;
        this.writes = writes;
        this.claimTimeoutMillis = claimTimeoutMillis;
    }

    List<Session> claim(Instant now, int limit) {
        List<Session> claimed = new ArrayList<>();
        int first = ThreadLocalRandom.current().nextInt(keys.shards());
        long deadline = SessionWrites.saturatedAdd(now.toEpochMilli(), claimTimeoutMillis);
        long claimTtlAt = writes.ttlAt(deadline);
        List<String> fixedArgs = List.of(Long.toString(now.toEpochMilli()), "", "", "", "",
                Long.toString(deadline), Long.toString(claimTtlAt));
        for (int i = 0; i < keys.shards() && claimed.size() < limit; i++) {
            int shard = (first + i) % keys.shards();
            List<String> args = new ArrayList<>(fixedArgs);
            args.set(1, Integer.toString(limit - claimed.size()));
            args.set(2, keys.sessionKeyPrefix(shard));
            args.set(3, keys.ownerKeyPrefix(shard));
            args.set(4, keys.claimKeyPrefix(shard));
            List<?> reply = (List<?>) Script.REMOVE_EXPIRED.run(redis,
                    List.of(keys.expiryKey(shard), keys.idsKey(shard), keys.claimsKey(shard)), args);
            for (Object fields : reply) {
                claimed.add(SessionCodec.decode(fields));
            }
        }
        capacity.release(redis, OwnerLimitedInserts.idsOf(claimed));
        return claimed;
    }

    /** The claim-key arguments of {@link #acknowledge}, grouped by the shard the ids fall into. */
    Map<Integer, List<String>> byShard(Collection<String> ids) {
        Map<Integer, List<String>> byShard = new HashMap<>();
        for (String id : ids) {
            int shard = keys.shardOf(id);
            byShard.computeIfAbsent(shard, s -> {
                List<String> args = new ArrayList<>();
                args.add(keys.claimKeyPrefix(s));
                return args;
            }).add(id);
        }
        return byShard;
    }

    /** One script per shard the ids fall into; {@code byShard} from {@link #byShard}. */
    void acknowledge(Map<Integer, List<String>> byShard) {
        byShard.forEach((shard, args) -> Script.ACKNOWLEDGE.run(redis, List.of(keys.claimsKey(shard)), args));
    }
}
