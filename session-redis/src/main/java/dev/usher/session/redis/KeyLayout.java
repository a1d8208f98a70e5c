package dev.usher.session.redis;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.zip.CRC32;

/**
 * Where a store's data lives. Sessions are spread over {@code shards} hash tags; a session's hash and every
 * index entry that names it share the tag of its shard, so one Lua script can change a session and all of
 * its index entries atomically, on a single Redis and on a Redis Cluster alike:
 *
 * <pre>
 *   &lt;prefix&gt;{&lt;shard&gt;}:s:&lt;id&gt;       hash: the session (metadata, attributes as "a:&lt;name&gt;")
 *   &lt;prefix&gt;{&lt;shard&gt;}:expiry        sorted set: id scored by expiresAt (epoch millis)
 *   &lt;prefix&gt;{&lt;shard&gt;}:ids           sorted set: id with score 0, for paging in id order
 *   &lt;prefix&gt;{&lt;shard&gt;}:o:&lt;owner&gt;     set: ids of the owner's sessions in this shard
 *   &lt;prefix&gt;{&lt;shard&gt;}:claims        sorted set: id of a session claimed by a sweeper, scored by the claim's deadline
 *   &lt;prefix&gt;{&lt;shard&gt;}:c:&lt;id&gt;       hash: a claimed session, kept until its EXPIRED event is acknowledged
 *   &lt;prefix&gt;{capacity}:places     sorted set: a place per stored session, only with maxSessions
 * </pre>
 *
 * <p>The id and the owner come after the hash tag, so Redis takes the tag from the shard whatever
 * characters they hold. The shard of an id is CRC-32 of its UTF-8 bytes modulo {@code shards}: stable
 * across processes, so the shard count must never change for existing data.
 *
 * <p>An owner has a shard too (the same function of the owner's name), and ids for an owner's sessions are
 * chosen among random ids so that they fall into it ({@link #idInShard}). All of an owner's sessions and
 * its owner set then share one slot, and one script can count, write and trim them: the owner limit is one
 * atomic step on a Redis Cluster as on a single server.
 */
final class KeyLayout {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder ID_ENCODER = Base64.getUrlEncoder().withoutPadding();

    private final String prefix;
    private final int shards;

    KeyLayout(String prefix, int shards) {
        this.prefix = prefix;
        this.shards = shards;
    }

    int shards() {
        return shards;
    }

    /**
     * A session id (43 base64url characters) in {@code shard}: 32 random bytes whose last four count up
     * from their random start until the id's shard matches, about {@code shards} tries. At least 224 of the
     * 256 bits stay random.
     */
    String idInShard(int shard) {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        while (true) {
            String id = ID_ENCODER.encodeToString(bytes);
            if (shardOf(id) == shard) {
                return id;
            }
            for (int i = bytes.length - 1; i >= bytes.length - 4; i--) {
                if (++bytes[i] != 0) {
                    break;
                }
            }
        }
    }

    int shardOf(String id) {
        CRC32 crc = new CRC32();
        crc.update(id.getBytes(StandardCharsets.UTF_8));
        return (int) (crc.getValue() % shards);
    }

    /** Everything of one shard starts with this; the scripts build the keys they discover from it. */
    String shardPrefix(int shard) {
        return prefix + "{" + shard + "}:";
    }

    String sessionKey(String id) {
        return sessionKeyPrefix(shardOf(id)) + id;
    }

    String sessionKeyPrefix(int shard) {
        return shardPrefix(shard) + "s:";
    }

    String expiryKey(int shard) {
        return shardPrefix(shard) + "expiry";
    }

    String idsKey(int shard) {
        return shardPrefix(shard) + "ids";
    }

    /** The store-wide places for maxSessions, in a slot of its own (see {@link Capacity}). */
    String capacityKey() {
        return prefix + "{capacity}:places";
    }

    String claimsKey(int shard) {
        return shardPrefix(shard) + "claims";
    }

    String claimKeyPrefix(int shard) {
        return shardPrefix(shard) + "c:";
    }

    String ownerKeyPrefix(int shard) {
        return shardPrefix(shard) + "o:";
    }

    String ownerKey(int shard, String owner) {
        return ownerKeyPrefix(shard) + owner;
    }
}
