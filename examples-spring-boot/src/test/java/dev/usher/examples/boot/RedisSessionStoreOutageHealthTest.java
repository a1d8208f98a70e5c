package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.redis.DedicatedRedis;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * As {@link StoreOutageHealthTest}, with the sessions on a Redis of this test's own ({@code usher.session.store=redis},
 * a 1 s timeout): killed and frozen under the running application, {@code /actuator/health} answers 503 with
 * {@code usherSessionStore} DOWN, from the store's circuit once the first check has seen the outage, and UP
 * again once Redis is back.
 */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
@DirtiesContext
class RedisSessionStoreOutageHealthTest {
    /** Far below a driver's default wait (30 s for a pooled connection): the store's own 1 s timeout bounds it. */
    private static final Duration HEALTH_ANSWER = Duration.ofSeconds(15);
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private static DedicatedRedis redis;

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final JsonMapper json = JsonMapper.builder().build();

    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) throws Exception {
        redis = new DedicatedRedis();
        TestProperties.common(registry, TestProperties.dataDir("redis-outage"));
        registry.add("usher.session.store", () -> "redis");
        registry.add("usher.session.redis.uri", redis::uri);
        registry.add("usher.session.redis.timeout", () -> "1s");
    }

    @AfterAll
    static void stopServers() throws Exception {
        redis.close();
    }

    private record Health(int httpStatus, JsonNode body) {
        String status(String component) {
            return body.path("components").path(component).path("status").asString();
        }

        String error(String component) {
            return body.path("components").path(component).path("details").path("error").asString();
        }
    }

    private Health health() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health"))
                .timeout(HEALTH_ANSWER).build(), HttpResponse.BodyHandlers.ofString());
        return new Health(r.statusCode(), json.readTree(r.body()));
    }

    private Health awaitStatus(String component, String status) throws Exception {
        Instant deadline = Instant.now().plus(PATIENCE);
        Health h = health();
        while (!h.status(component).equals(status)) {
            assertThat(Instant.now()).as("%s still %s, not %s: %s", component, h.status(component), status, h.body())
                    .isBefore(deadline);
            Thread.sleep(100); // polling an HTTP endpoint: there is nothing to wait on instead
            h = health();
        }
        return h;
    }

    private Health awaitUp() throws Exception {
        Health h = awaitStatus("usherSessionStore", "UP");
        assertThat(h.httpStatus()).isEqualTo(200);
        assertThat(h.body().path("status").asString()).isEqualTo("UP");
        return h;
    }

    /** Down, answered fast by the circuit: the first check after the outage may wait out the 1 s timeout. */
    private void assertDownFailingFast() throws Exception {
        Health seen = awaitStatus("usherSessionStore", "DOWN");
        assertThat(seen.httpStatus()).as("an indicator DOWN makes the endpoint 503").isEqualTo(503);
        Health again = health();
        assertThat(again.status("usherSessionStore")).isEqualTo("DOWN");
        assertThat(again.error("usherSessionStore")).contains("StoreUnavailableException").contains("failing fast");
        assertThat(again.body().path("components").has("usherRateLimitStore")).as("local buckets: no shared store").isFalse();
    }

    @Test
    void redisSessionStoreKilledThenFrozenGoesDownAndComesBack() throws Exception {
        Health up = awaitUp();
        assertThat(up.body().path("components").path("usherSessionStore").path("details").path("sessions").isNumber()).isTrue();

        redis.kill9();
        assertDownFailingFast();
        redis.start();
        awaitUp();

        redis.freeze();
        try {
            assertDownFailingFast();
        } finally {
            redis.thaw();
        }
        awaitUp();
    }
}
