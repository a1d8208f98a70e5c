package dev.usher.gate.ratelimit;

import io.github.bucket4j.TimeMeter;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.distributed.serialization.Mapper;
import io.github.bucket4j.redis.jedis.Bucket4jJedis;
import java.time.Duration;
import java.util.Objects;
import redis.clients.jedis.UnifiedJedis;

/**
 * A Redis store for cluster-wide {@link RateLimiter} buckets, on Jedis ({@code bucket4j_jdk17-jedis}).
 * Needs {@code com.bucket4j:bucket4j_jdk17-jedis} and {@code redis.clients:jedis} on the class path
 * (optional dependencies of this module).
 *
 * <p>Each bucket is one Redis key, updated by compare-and-swap in a Lua script, so it works on a
 * standalone server and on Redis Cluster alike. A key expires in Redis once its bucket would be full again
 * (plus a few seconds), so idle keys cost no memory.
 */
public final class RedisBuckets {
    /** Slack beyond the time to refill, so that a key never expires while its bucket is not yet full. */
    static final Duration EXPIRY_SLACK = Duration.ofSeconds(5);

    private RedisBuckets() {
    }

    /**
     * A proxy manager over {@code jedis}: a {@code RedisClient}, {@code JedisPooled}, {@code RedisClusterClient}
     * or {@code JedisCluster}. The caller owns {@code jedis} and closes it.
     */
    public static ProxyManager<String> proxyManager(UnifiedJedis jedis) {
        return proxyManager(jedis, TimeMeter.SYSTEM_MILLISECONDS);
    }

    /** With the clock the buckets' refill is computed by (tests). */
    static ProxyManager<String> proxyManager(UnifiedJedis jedis, TimeMeter clock) {
        Objects.requireNonNull(jedis, "jedis");
        return Bucket4jJedis.casBasedBuilder(jedis)
                .keyMapper(Mapper.STRING)
                .clientClock(clock)
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(EXPIRY_SLACK))
                .build();
    }
}
