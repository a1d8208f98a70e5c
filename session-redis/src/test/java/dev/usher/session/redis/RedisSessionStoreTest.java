package dev.usher.session.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.Session;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;

/** What the contract does not state: key layout, TTLs, index repair, builder checks, client ownership. */
@Tag("server")
class RedisSessionStoreTest {
    private final String prefix = RedisTestSupport.uniquePrefix("store");

    @AfterEach
    void deleteKeys() {
        RedisTestSupport.deleteStandaloneKeys(prefix);
        RedisTestSupport.deleteClusterKeys(prefix);
    }

    private static Session session(String id, String owner, Instant lastAccess) {
        return new Session(id, owner, lastAccess, lastAccess, Duration.ofMinutes(30),
                lastAccess.plus(Duration.ofHours(12)), 1, Map.of("k", "v"));
    }

    @Test
    void idsWithBracesAndOtherKeyCharactersStayInTheirShardOnACluster() {
        try (UnifiedJedis cluster = RedisClusterClient.create(RedisTestSupport.clusterNodes());
             RedisSessionStore store = RedisSessionStore.builder().client(cluster).keyPrefix(prefix).build()) {
            // The manager only ever passes base64url ids; the layout must not depend on it.
            for (String id : List.of("{x}", "a}b{c", "}{", "with space*?[", "유니코드-id", "line\r\nbreak")) {
                Session s = session(id, "own{er}", Instant.now());
                assertThat(store.insert(s)).as(id).isTrue();
                assertThat(store.load(id)).as(id).contains(s);
                assertThat(store.replace(s.withVersion(2), 1)).as(id).isTrue();
                assertThat(store.remove(id)).as(id).contains(s.withVersion(2));
            }
            assertThat(store.findByOwner("own{er}")).isEmpty();
            assertThat(store.count()).isZero();
        }
    }

    @Test
    void sessionsWithMoreFieldsThanOneScriptCallCanUnpackRoundTrip() {
        // The write script sends fields to HSET in chunks; 1,500 attributes take two chunks.
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 1_500; i++) {
            many.put("attr-" + i, "value-" + i);
        }
        Session s = session("many-fields", null, Instant.now()).withAttributes(many);
        try (RedisSessionStore store = RedisSessionStore.builder().uri(RedisTestSupport.standaloneUri())
                .keyPrefix(prefix).build()) {
            assertThat(store.insert(s)).isTrue();
            assertThat(store.load(s.id())).contains(s);
            Map<String, String> fewer = new HashMap<>(many);
            fewer.keySet().removeIf(name -> name.endsWith("7"));
            Session next = s.withAttributes(fewer).withVersion(2);
            assertThat(store.replace(next, 1)).isTrue();
            assertThat(store.load(s.id())).contains(next);
        }
    }

    @Test
    void theSessionHashIsReadableAndExpiresAGracePeriodAfterTheSession() {
        Instant now = Instant.now();
        Session s = session("readable-id", "alice", now);
        KeyLayout layout = new KeyLayout(prefix, 16);
        try (UnifiedJedis jedis = RedisClient.create(URI.create(RedisTestSupport.standaloneUri()));
             RedisSessionStore store = RedisSessionStore.builder().client(jedis).keyPrefix(prefix)
                     .expiryGrace(Duration.ofMinutes(10)).build()) {
            store.insert(s);
            String key = layout.sessionKey(s.id());
            assertThat(key).isEqualTo(prefix + "{" + layout.shardOf(s.id()) + "}:s:readable-id");
            assertThat(jedis.hgetAll(key)).containsEntry("owner", "alice").containsEntry("a:k", "v")
                    .containsEntry("version", "1")
                    .containsEntry("expiresAt", Long.toString(s.expiresAt().toEpochMilli()));
            long expireAt = jedis.pexpireTime(key);
            assertThat(expireAt).isEqualTo(s.expiresAt().plus(Duration.ofMinutes(10)).toEpochMilli());
            assertThat(jedis.zscore(layout.expiryKey(layout.shardOf(s.id())), s.id()))
                    .isEqualTo((double) s.expiresAt().toEpochMilli());

            // Stored already expired (a clock behind Redis): kept for the grace period from now, not dropped.
            Session old = session("old-id", null, now.minus(Duration.ofDays(2)));
            store.insert(old);
            assertThat(jedis.pexpireTime(layout.sessionKey(old.id()))).isGreaterThan(now.toEpochMilli());
            assertThat(store.removeExpired(now, 10)).containsExactly(old);
        }
    }

    @Test
    void indexEntriesOfAHashRedisDroppedAreCleanedBySweepAndFindByOwner() {
        Instant now = Instant.now();
        Session s = session("dropped-id", "bob", now.minus(Duration.ofHours(1)));
        KeyLayout layout = new KeyLayout(prefix, 16);
        int shard = layout.shardOf(s.id());
        try (UnifiedJedis jedis = RedisClient.create(URI.create(RedisTestSupport.standaloneUri()));
             RedisSessionStore store = RedisSessionStore.builder().client(jedis).keyPrefix(prefix).build()) {
            store.insert(s);
            jedis.del(layout.sessionKey(s.id())); // what the TTL does when no sweeper ran for the grace period
            assertThat(store.count()).as("the id index still names it").isEqualTo(1);
            assertThat(store.findByOwner("bob")).isEmpty();
            assertThat(jedis.exists(layout.ownerKey(shard, "bob"))).isFalse();
            assertThat(store.removeExpired(now, 10)).as("nothing to deliver").isEmpty();
            assertThat(store.count()).isZero();
            assertThat(jedis.exists(layout.expiryKey(shard))).isFalse();
        }
    }

    @Test
    void aHostsClientIsLeftOpenAndAClosedStoreRefusesCalls() {
        try (UnifiedJedis jedis = RedisClient.create(URI.create(RedisTestSupport.standaloneUri()))) {
            RedisSessionStore store = RedisSessionStore.builder().client(jedis).keyPrefix(prefix).build();
            store.close();
            store.close();
            assertThat(jedis.ping()).isEqualTo("PONG");
            assertThatThrownBy(() -> store.load("x")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
    }

    @Test
    void listRejectsACursorItDidNotIssue() {
        try (RedisSessionStore store = RedisSessionStore.builder().uri(RedisTestSupport.standaloneUri())
                .keyPrefix(prefix).build()) {
            for (String bad : List.of("", "x", "16:abc", "-1:abc", "abc:1")) {
                assertThatThrownBy(() -> store.list(bad, 10)).as(bad).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("16 shards");
            }
            assertThatThrownBy(() -> store.list(null, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("0");
        }
    }

    @Test
    void builderChecksNameTheValueAndTheLimit() {
        RedisSessionStore.Builder b = RedisSessionStore.builder();
        assertThatThrownBy(() -> b.keyPrefix("app:{x}:")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("app:{x}:");
        assertThatThrownBy(() -> b.shards(0)).hasMessageContaining("16384").hasMessageContaining("0");
        assertThatThrownBy(() -> b.shards(16385)).hasMessageContaining("16385");
        assertThatThrownBy(() -> b.expiryGrace(Duration.ofMillis(10))).hasMessageContaining("expiryGrace").hasMessageContaining("10ms");
        assertThatThrownBy(() -> b.timeout(Duration.ZERO)).hasMessageContaining("timeout").hasMessageContaining("0s");
        assertThatThrownBy(() -> b.uri("not a uri")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("uri must be").hasMessageContaining("not a uri");
        assertThatThrownBy(() -> b.maxConnections(0)).hasMessageContaining("0");
        assertThatThrownBy(() -> b.uri("http://example.invalid:80")).hasMessageContaining("http://example.invalid:80");
        assertThatThrownBy(() -> b.clusterNodes(List.of())).isInstanceOf(IllegalArgumentException.class);
        try (UnifiedJedis jedis = RedisClient.create(URI.create(RedisTestSupport.standaloneUri()))) {
            assertThatThrownBy(() -> RedisSessionStore.builder().client(jedis).timeout(Duration.ofSeconds(1)).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("timeout and maxConnections");
        }
        assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("0 were");
        b.uri(RedisTestSupport.standaloneUri()).clusterNodes(RedisTestSupport.clusterNodes());
        assertThatThrownBy(b::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("2 were");
    }
}
