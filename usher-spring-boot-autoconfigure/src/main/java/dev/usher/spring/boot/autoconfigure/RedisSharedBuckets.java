package dev.usher.spring.boot.autoconfigure;

import dev.usher.gate.ratelimit.RedisBuckets;
import dev.usher.session.StoreCircuit;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import java.net.URI;
import java.time.Duration;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.providers.PooledConnectionProvider;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * The rate limiter's buckets on one Redis server, on a client of their own whose every wait (connect, read,
 * a pooled connection) is bounded by the configured timeout: commons-pool's default wait is unbounded, so a
 * hung server would otherwise hang the health endpoint with it. The health probe goes through a
 * {@link StoreCircuit}: once a ping has seen the server unreachable, the next health checks answer DOWN at
 * once, until the circuit's own probe reaches the server again.
 */
final class RedisSharedBuckets implements SharedBuckets {
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(200);
    private static final int MAX_CONNECTIONS = 16;

    private final RedisClient jedis;
    private final ProxyManager<String> proxyManager;
    private final StoreCircuit circuit;
    private final String description;

    RedisSharedBuckets(String uri, Duration timeout) {
        URI parsed = URI.create(uri);
        if (!JedisURIHelper.isValid(parsed)) {
            throw new IllegalArgumentException("must be a redis:// or rediss:// URI with a host and a port but was " + uri);
        }
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        DefaultJedisClientConfig config = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis(millis).socketTimeoutMillis(millis)
                .user(JedisURIHelper.getUser(parsed)).password(JedisURIHelper.getPassword(parsed))
                .database(JedisURIHelper.getDBIndex(parsed)).ssl(JedisURIHelper.isRedisSSLScheme(parsed))
                .clientName("usher-rate-limit").build();
        GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
        pool.setMaxTotal(MAX_CONNECTIONS);
        pool.setMaxIdle(MAX_CONNECTIONS);
        pool.setBlockWhenExhausted(true);
        pool.setMaxWait(timeout);
        pool.setJmxEnabled(false);
        HostAndPort node = JedisURIHelper.getHostAndPort(parsed);
        this.jedis = RedisClient.builder().hostAndPort(node).clientConfig(config)
                .connectionProvider(new PooledConnectionProvider(node, config, pool)).build();
        this.proxyManager = RedisBuckets.proxyManager(jedis);
        this.description = "redis " + node;
        this.circuit = StoreCircuit.create("rate limit store " + node, PROBE_INTERVAL, jedis::ping);
    }

    @Override
    public ProxyManager<String> proxyManager() {
        return proxyManager;
    }

    @Override
    public void ping() {
        circuit.throwIfOpen();
        try {
            jedis.ping();
        } catch (JedisException e) {
            circuit.trip(e);
            throw e;
        }
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        circuit.close();
        jedis.close();
    }
}
