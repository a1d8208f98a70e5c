package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.distributed.serialization.Mapper;
import io.github.bucket4j.redis.jedis.Bucket4jJedis;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;

/**
 * Bucket4j's Jedis integration ({@code bucket4j_jdk17-jedis}, compiled against Jedis 4.4.6) on the Jedis this
 * project ships, with real buckets on the real servers: through a {@code UnifiedJedis} for one server and for
 * the cluster, and through a {@code JedisPool}. The rate-limiter relies on this.
 */
@Tag("server")
class Bucket4jJedisCompatibilityTest {
    private static final BucketConfiguration TEN_PER_MINUTE = BucketConfiguration.builder()
            .addLimit(limit -> limit.capacity(10).refillGreedy(10, Duration.ofMinutes(1)))
            .build();

    @Test
    void standaloneUnifiedJedis() {
        String prefix = RedisTestSupport.uniquePrefix("bucket4j-standalone");
        try (UnifiedJedis jedis = RedisClient.create(URI.create(RedisTestSupport.standaloneUri()))) {
            assertBucketEnforcesItsLimit(Bucket4jJedis.casBasedBuilder(jedis), prefix);
        } finally {
            RedisTestSupport.deleteStandaloneKeys(prefix);
        }
    }

    @Test
    void clusterUnifiedJedis() {
        String prefix = RedisTestSupport.uniquePrefix("bucket4j-cluster");
        try (UnifiedJedis jedis = RedisClusterClient.create(RedisTestSupport.clusterNodes())) {
            assertBucketEnforcesItsLimit(Bucket4jJedis.casBasedBuilder(jedis), prefix);
        } finally {
            RedisTestSupport.deleteClusterKeys(prefix);
        }
    }

    @Test
    @SuppressWarnings("deprecation") // JedisPool is deprecated in Jedis 7, but it is one of Bucket4j's entry points
    void jedisPool() {
        String prefix = RedisTestSupport.uniquePrefix("bucket4j-pool");
        URI uri = URI.create(RedisTestSupport.standaloneUri());
        try (JedisPool pool = new JedisPool(new HostAndPort(uri.getHost(), uri.getPort()),
                DefaultJedisClientConfig.builder().build())) {
            assertBucketEnforcesItsLimit(Bucket4jJedis.casBasedBuilder(pool), prefix);
        } finally {
            RedisTestSupport.deleteStandaloneKeys(prefix);
        }
    }

    private static void assertBucketEnforcesItsLimit(Bucket4jJedis.JedisBasedProxyManagerBuilder<byte[]> builder,
                                                     String prefix) {
        ProxyManager<String> buckets = builder.keyMapper(Mapper.STRING)
                .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(
                        Duration.ofMinutes(5)))
                .build();
        Bucket alice = buckets.builder().build(prefix + "alice", () -> TEN_PER_MINUTE);
        AtomicInteger granted = new AtomicInteger();
        for (int i = 0; i < 15; i++) {
            if (alice.tryConsume(1)) {
                granted.incrementAndGet();
            }
        }
        assertThat(granted).hasValue(10);
        ConsumptionProbe denied = alice.tryConsumeAndReturnRemaining(1);
        assertThat(denied.isConsumed()).isFalse();
        assertThat(denied.getNanosToWaitForRefill()).isPositive();

        // A second proxy for the same key sees the same state: the bucket lives in Redis, not in this object.
        Bucket again = buckets.builder().build(prefix + "alice", () -> TEN_PER_MINUTE);
        assertThat(again.getAvailableTokens()).isZero();
        Bucket bob = buckets.builder().build(prefix + "bob", () -> TEN_PER_MINUTE);
        assertThat(bob.tryConsume(10)).isTrue();
        assertThat(buckets.getProxyConfiguration(prefix + "bob")).isPresent();
        buckets.removeProxy(prefix + "bob");
        assertThat(buckets.getProxyConfiguration(prefix + "bob")).isEmpty();
    }
}
