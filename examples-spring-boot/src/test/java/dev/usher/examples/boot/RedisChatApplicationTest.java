package dev.usher.examples.boot;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.SessionStore;
import dev.usher.session.redis.RedisSessionStore;
import dev.usher.session.SessionManager;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The example with sessions and rate limits on the shared Redis server, under a key prefix of its own. */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
class RedisChatApplicationTest extends ChatApplicationContract {
    static final Path DATA = TestProperties.dataDir("redis");
    static final String KEY_PREFIX = TestProperties.unique("usher-boot") + ":";

    /** The settings of this class's instance, for a second instance on the same Redis. */
    static Map<String, String> redisProperties(Path data) {
        Map<String, String> properties = TestProperties.common(data);
        properties.put("usher.session.store", "redis");
        properties.put("usher.session.redis.uri", TestProperties.REDIS_URI);
        properties.put("usher.session.redis.key-prefix", KEY_PREFIX);
        properties.put("usher.rate-limit.store", "redis");
        properties.put("usher.rate-limit.redis-uri", TestProperties.REDIS_URI);
        return properties;
    }

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) {
        redisProperties(DATA).forEach((name, value) -> registry.add(name, () -> value));
    }

    @Autowired
    SessionStore store;

    @Test
    void sessionsLiveInRedisAndTheLimiterStoreIsHealthy() throws Exception {
        assertThat(store).isInstanceOf(RedisSessionStore.class);
        assertThat(componentStatus(get("/actuator/health").body(), "usherRateLimitStore")).isEqualTo("UP");
    }

    @Test
    void aSecondInstanceServesTheSameSessionAndSharesTheRateLimit() throws Exception {
        List<String> args = new ArrayList<>(List.of("--server.port=0"));
        redisProperties(TestProperties.dataDir("redis-second")).forEach((name, value) -> args.add("--" + name + "=" + value));
        try (ConfigurableApplicationContext second = new SpringApplicationBuilder(ChatApplication.class).run(args.toArray(String[]::new))) {
            int secondPort = Integer.parseInt(second.getEnvironment().getProperty("local.server.port"));
            String id = login("two-instances");
            int[] ports = {port, secondPort, port, secondPort};
            List<Integer> statuses = new ArrayList<>();
            for (int p : ports) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p + "/api/workflow/execute"))
                        .timeout(PATIENCE).header("Content-Type", "application/json").header("Cookie", "USHER_SESSION=" + id)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"hop\"}")).build(), HttpResponse.BodyHandlers.ofString());
                statuses.add(r.statusCode());
                if (r.statusCode() == 200) {
                    assertThat(r.headers().firstValue("Set-Cookie")).as("instance on port %d knew the session", p).isEmpty();
                }
            }
            // 3 runs per session and hour, counted in Redis: the fourth, on either instance, is refused
            assertThat(statuses).containsExactly(200, 200, 200, 429);
            assertThat(second.getBean(SessionManager.class).find(id)).hasValueSatisfying(s -> assertThat(s.owner()).isEqualTo("two-instances"));
        }
    }
}
