package dev.usher.session.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * One Lua script of the store, called by its SHA-1 ({@code EVALSHA}: the source is not sent on every call).
 * A server that does not know the script (after a restart, a failover or {@code SCRIPT FLUSH}) answers
 * {@code NOSCRIPT}; the call is then repeated once as {@code EVAL} with the source, which also caches the
 * script on that server for the next call. Every script touches keys of one hash tag only.
 */
final class Script {
    private static final Logger log = LoggerFactory.getLogger(Script.class);

    /** Stores the session's fields in its (emptied) hash, sets its TTL and its expiry index entry. */
    private static final String WRITE_PRELUDE = """
            local function write(key, id, expiresAt, ttlAt, expiryKey, from)
              for i = from, #ARGV, 2000 do
                redis.call('HSET', key, unpack(ARGV, i, math.min(i + 1999, #ARGV)))
              end
              redis.call('PEXPIREAT', key, ttlAt)
              redis.call('ZADD', expiryKey, expiresAt, id)
            end
            """;

    /**
     * KEYS: session, expiry, ids[, owner set]. ARGV: id, expiresAt, ttlAt, fields… (from 4).
     * 1 if inserted, 0 if the id is taken.
     */
    static final Script INSERT = new Script(WRITE_PRELUDE + """
            if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
            write(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], 4)
            redis.call('ZADD', KEYS[3], 0, ARGV[1])
            if KEYS[4] then redis.call('SADD', KEYS[4], ARGV[1]) end
            return 1
            """);

    /**
     * KEYS: session, expiry[, owner set]. ARGV: id, expiresAt, ttlAt, expectedVersion, owner key prefix,
     * fields… (from 6). 1 if replaced, 0 on a version conflict or when the session is gone. The old owner's
     * set is named from the prefix: it is in this shard's slot, but only known once the hash is read. The
     * version and the old owner come from one HMGET (a missing hash answers false for both).
     */
    static final Script REPLACE = new Script(WRITE_PRELUDE + """
            local stored = redis.call('HMGET', KEYS[1], 'version', 'owner')
            if stored[1] ~= ARGV[4] then return 0 end
            local old = stored[2]
            if old and ARGV[5] .. old ~= KEYS[3] then redis.call('SREM', ARGV[5] .. old, ARGV[1]) end
            redis.call('DEL', KEYS[1])
            write(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], 6)
            if KEYS[3] then redis.call('SADD', KEYS[3], ARGV[1]) end
            return 1
            """);

    /**
     * KEYS: session, expiry, ids, owner set (all of the owner's shard). ARGV: id, expiresAt, ttlAt, now, max,
     * policy (REJECT or END_OLDEST), retiring id ('' for none), session key prefix, fields… (from 9).
     * Counts the owner's sessions live at now (expiry score after now) other than the new and the retiring
     * one; under REJECT writes nothing when they are max already; otherwise writes the session and removes
     * the oldest (createdAt, then id) beyond max. Reply: {0} id taken, {2} owner at the limit, or {1,
     * fields of each removed session…}.
     */
    static final Script OWNER_LIMITED_INSERT = new Script(WRITE_PRELUDE + """
            if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
            local now = tonumber(ARGV[4])
            local max = tonumber(ARGV[5])
            local live = {}
            for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
              if id ~= ARGV[1] and id ~= ARGV[7] then
                local expiresAt = redis.call('ZSCORE', KEYS[2], id)
                if expiresAt and tonumber(expiresAt) > now then
                  local createdAt = redis.call('HGET', ARGV[8] .. id, 'createdAt')
                  if createdAt then live[#live + 1] = {tonumber(createdAt), id} end
                end
              end
            end
            if ARGV[6] == 'REJECT' and #live >= max then return {2} end
            write(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2], 9)
            redis.call('ZADD', KEYS[3], 0, ARGV[1])
            redis.call('SADD', KEYS[4], ARGV[1])
            local out = {1}
            if #live >= max then
              table.sort(live, function(a, b)
                if a[1] ~= b[1] then return a[1] < b[1] end
                return a[2] < b[2]
              end)
              for i = 1, #live + 1 - max do
                local id = live[i][2]
                local key = ARGV[8] .. id
                out[#out + 1] = redis.call('HGETALL', key)
                redis.call('DEL', key)
                redis.call('ZREM', KEYS[2], id)
                redis.call('ZREM', KEYS[3], id)
                redis.call('SREM', KEYS[4], id)
              end
            end
            return out
            """);

    /**
     * KEYS: capacity. ARGV: now, max, id, lapses-at. Drops lapsed places, then adds the id if fewer than max
     * places are taken: 1 if it got one, 0 if the store is full.
     */
    static final Script RESERVE = new Script("""
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
            if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
            redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
            return 1
            """);

    /**
     * KEYS: session, expiry, ids. ARGV: id, owner key prefix[, expectedVersion]. The removed session's
     * fields (HGETALL), or an empty array when it is gone or, with a version given, at another version.
     */
    static final Script REMOVE = new Script("""
            local h = redis.call('HGETALL', KEYS[1])
            if #h == 0 then return h end
            if ARGV[3] and redis.call('HGET', KEYS[1], 'version') ~= ARGV[3] then return {} end
            local owner = redis.call('HGET', KEYS[1], 'owner')
            if owner then redis.call('SREM', ARGV[2] .. owner, ARGV[1]) end
            redis.call('DEL', KEYS[1])
            redis.call('ZREM', KEYS[2], ARGV[1])
            redis.call('ZREM', KEYS[3], ARGV[1])
            return h
            """);

    /**
     * KEYS: expiry, ids, claims. ARGV: now, limit, session key prefix, owner key prefix, claim key prefix,
     * claim deadline, claim TTL-at. Returns the fields of up to limit sessions of this shard, each now
     * claimed until the deadline: first claims whose deadline is at or before now (their sweeper did not
     * acknowledge them in time), then sessions whose expiry score is at or before now. Claiming moves a
     * session's hash to its claim key (same slot) and out of every index, in the same step, so no other
     * sweeper or method sees it; {@link #ACKNOWLEDGE} drops the claim once its event is delivered. An entry
     * whose hash Redis already dropped (its TTL passed with no sweeper running) is cleaned and skipped.
     */
    static final Script REMOVE_EXPIRED = new Script("""
            local limit = tonumber(ARGV[2])
            local out = {}
            for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, limit)) do
              local claim = ARGV[5] .. id
              local h = redis.call('HGETALL', claim)
              if #h == 0 then
                redis.call('ZREM', KEYS[3], id)
              else
                redis.call('ZADD', KEYS[3], ARGV[6], id)
                redis.call('PEXPIREAT', claim, ARGV[7])
                out[#out + 1] = h
              end
            end
            if #out >= limit then return out end
            local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit - #out)
            for _, id in ipairs(ids) do
              local key = ARGV[3] .. id
              local h = redis.call('HGETALL', key)
              redis.call('ZREM', KEYS[1], id)
              redis.call('ZREM', KEYS[2], id)
              if #h > 0 then
                local owner = redis.call('HGET', key, 'owner')
                if owner then redis.call('SREM', ARGV[4] .. owner, id) end
                local claim = ARGV[5] .. id
                redis.call('RENAME', key, claim)
                redis.call('PEXPIREAT', claim, ARGV[7])
                redis.call('ZADD', KEYS[3], ARGV[6], id)
                out[#out + 1] = h
              end
            end
            return out
            """);

    /** KEYS: claims. ARGV: claim key prefix, ids… Drops the claims on these ids (delivered). */
    static final Script ACKNOWLEDGE = new Script("""
            for i = 2, #ARGV do
              redis.call('ZREM', KEYS[1], ARGV[i])
              redis.call('DEL', ARGV[1] .. ARGV[i])
            end
            return 0
            """);

    /**
     * KEYS: owner set. ARGV: session key prefix. The fields of every session in the set; members whose hash
     * Redis dropped by TTL are removed from the set on the way.
     */
    static final Script FIND_BY_OWNER = new Script("""
            local out = {}
            for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
              local h = redis.call('HGETALL', ARGV[1] .. id)
              if #h == 0 then redis.call('SREM', KEYS[1], id) else out[#out + 1] = h end
            end
            return out
            """);

    /**
     * KEYS: ids. ARGV: after ('' for the start), limit, session key prefix. Reply: the number of ids read,
     * the last id read ('' if none), then the fields of each session that still exists.
     */
    static final Script LIST = new Script("""
            local min = '-'
            if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
            local ids = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
            local out = {tostring(#ids), ids[#ids] or ''}
            for _, id in ipairs(ids) do
              local h = redis.call('HGETALL', ARGV[3] .. id)
              if #h > 0 then out[#out + 1] = h end
            end
            return out
            """);

    private final String source;
    private final String sha1;

    private Script(String source) {
        this.source = source;
        this.sha1 = sha1Hex(source);
    }

    String sha1() {
        return sha1;
    }

    String source() {
        return source;
    }

    /** One {@code EVALSHA}; a second call ({@code EVAL}) only when the server answers {@code NOSCRIPT}. */
    Object run(UnifiedJedis redis, List<String> keys, List<String> args) {
        try {
            return redis.evalsha(sha1, keys, args);
        } catch (JedisNoScriptException e) {
            log.debug("script {} not cached on the server (restart, failover or SCRIPT FLUSH); sending its source",
                    sha1);
            return redis.eval(source, keys, args);
        }
    }

    private static String sha1Hex(String source) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-1", e);
        }
    }
}
