package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionStore;
import dev.usher.session.redis.RedisSessionStore;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The example with sessions and rate limits on the shared Redis server, under a key prefix of its own. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class RedisChatApplicationTest extends ChatApplicationContract {
    static final Path DATA = TestProperties.dataDir("redis");

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        TestProperties.common(registry, DATA);
        registry.add("usher.session.store", () -> "redis");
        registry.add("usher.session.redis.uri", () -> TestProperties.REDIS_URI);
        registry.add("usher.session.redis.key-prefix", () -> TestProperties.unique("usher-boot") + ":");
        registry.add("usher.rate-limit.store", () -> "redis");
        registry.add("usher.rate-limit.redis-uri", () -> TestProperties.REDIS_URI);
    }

    @Autowired
    SessionStore store;

    @Test
    void sessionsLiveInRedisAndTheLimiterStoreIsHealthy() throws Exception {
        assertThat(store).isInstanceOf(RedisSessionStore.class);
        assertThat(componentStatus(get("/actuator/health").body(), "usherRateLimitStore")).isEqualTo("UP");
    }
}
