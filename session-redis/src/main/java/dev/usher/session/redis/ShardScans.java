package dev.usher.session.redis;

import dev.usher.session.Session;
import dev.usher.session.SessionIds;
import dev.usher.session.SessionPage;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * What visits every shard: finding an owner's sessions and counting (one command per shard in a single
 * pipeline, one round trip per Redis node), and listing (shard by shard, in id order). Thread-safe; the
 * caller wraps each call in {@link RedisCalls}.
 */
final class ShardScans {
    private final UnifiedJedis redis;
    private final KeyLayout keys;

    ShardScans(UnifiedJedis redis, KeyLayout keys) {
        this.redis = redis;
        this.keys = keys;
    }

    List<Session> findByOwner(String owner) {
        List<Object> replies = onEveryShard(Script.FIND_BY_OWNER,
                shard -> List.of(keys.ownerKey(shard, owner)),
                shard -> List.of(keys.sessionKeyPrefix(shard)));
        List<Session> sessions = new ArrayList<>();
        for (Object reply : replies) {
            for (Object fields : (List<?>) reply) {
                sessions.add(SessionCodec.decode(fields));
            }
        }
        return sessions;
    }

    /** Where a page starts: a shard and the last id read in it ("" for its start). */
    record Position(int shard, String after) {
    }

    /**
     * The position a cursor names. The cursor is {@code "<shard>:<last id>"}; ids are only added and removed,
     * never moved, so a session stored for the whole listing is returned exactly once.
     */
    Position position(String cursor) {
        if (cursor == null) {
            return new Position(0, "");
        }
        int colon = cursor.indexOf(':');
        int shard;
        try {
            shard = Integer.parseInt(cursor.substring(0, Math.max(colon, 0)));
        } catch (NumberFormatException e) {
            shard = -1;
        }
        if (shard < 0 || shard >= keys.shards()) {
            // A cursor names a session id: never echo it whole.
            throw new IllegalArgumentException("cursor '" + SessionIds.redact(cursor) + "' was not returned by this store ("
                    + keys.shards() + " shards)");
        }
        return new Position(shard, cursor.substring(colon + 1));
    }

    SessionPage list(Position start, int limit) {
        List<Session> page = new ArrayList<>(Math.min(limit, 1024));
        int s = start.shard();
        String a = start.after();
        while (s < keys.shards()) {
            int want = limit - page.size();
            List<?> reply = (List<?>) Script.LIST.run(redis, List.of(keys.idsKey(s)),
                    List.of(a, Integer.toString(want), keys.sessionKeyPrefix(s)));
            int read = Integer.parseInt((String) reply.get(0));
            for (Object fields : reply.subList(2, reply.size())) {
                page.add(SessionCodec.decode(fields));
            }
            if (read < want) {
                s++;
                a = "";
            } else {
                a = (String) reply.get(1);
            }
            if (page.size() >= limit) {
                break;
            }
        }
        return new SessionPage(page, s < keys.shards() ? s + ":" + a : null);
    }

    long count() {
        List<Response<Long>> counts = new ArrayList<>(keys.shards());
        try (AbstractPipeline pipeline = redis.pipelined()) {
            for (int shard = 0; shard < keys.shards(); shard++) {
                counts.add(pipeline.zcard(keys.idsKey(shard)));
            }
            pipeline.sync();
        }
        long total = 0;
        for (Response<Long> c : counts) {
            total += c.get();
        }
        return total;
    }

    /**
     * Runs a script once per shard in one pipeline (one round trip per Redis node). If any server answers
     * NOSCRIPT, the batch is sent once more with the sources ({@code EVAL}): the scripts only read, or
     * remove index members that point at nothing, so running one twice is harmless.
     */
    private List<Object> onEveryShard(Script script, IntFunction<List<String>> keysOf,
                                      IntFunction<List<String>> argsOf) {
        try {
            return pipelined(script, keysOf, argsOf, false);
        } catch (JedisDataException e) {
            if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
                throw e;
            }
            return pipelined(script, keysOf, argsOf, true);
        }
    }

    private List<Object> pipelined(Script script, IntFunction<List<String>> keysOf,
                                   IntFunction<List<String>> argsOf, boolean withSource) {
        List<Response<Object>> responses = new ArrayList<>(keys.shards());
        try (AbstractPipeline pipeline = redis.pipelined()) {
            for (int shard = 0; shard < keys.shards(); shard++) {
                responses.add(withSource
                        ? pipeline.eval(script.source(), keysOf.apply(shard), argsOf.apply(shard))
                        : pipeline.evalsha(script.sha1(), keysOf.apply(shard), argsOf.apply(shard)));
            }
            pipeline.sync();
        }
        List<Object> replies = new ArrayList<>(responses.size());
        for (Response<Object> r : responses) {
            replies.add(r.get());
        }
        return replies;
    }
}
