package dev.usher.session.redis;

import java.nio.charset.StandardCharsets;
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
 * </pre>
 *
 * <p>The id and the owner come after the hash tag, so Redis takes the tag from the shard whatever
 * characters they hold. The shard of an id is CRC-32 of its UTF-8 bytes modulo {@code shards}: stable
 * across processes, so the shard count must never change for existing data.
 */
final class KeyLayout {
    private final String prefix;
    private final int shards;

    KeyLayout(String prefix, int shards) {
        this.prefix = prefix;
        this.shards = shards;
    }

    int shards() {
        return shards;
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

    String ownerKeyPrefix(int shard) {
        return shardPrefix(shard) + "o:";
    }

    String ownerKey(int shard, String owner) {
        return ownerKeyPrefix(shard) + owner;
    }
}
