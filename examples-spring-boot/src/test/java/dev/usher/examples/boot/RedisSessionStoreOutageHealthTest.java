package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.examples.boot.ActuatorHealth.Health;
import dev.usher.session.redis.DedicatedRedis;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

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

    private static DedicatedRedis redis;

    @LocalServerPort
    int port;


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

    private ActuatorHealth actuator;

    /** The app's health endpoint (made on first use: the port is known once the context runs). */
    private ActuatorHealth actuator() {
        if (actuator == null) {
            actuator = new ActuatorHealth(port);
        }
        return actuator;
    }

    private Health awaitUp() throws Exception {
        Health h = actuator().awaitStatus("usherSessionStore", "UP");
        assertThat(h.httpStatus()).isEqualTo(200);
        assertThat(h.body().path("status").asString()).isEqualTo("UP");
        return h;
    }

    /** Down, answered fast by the circuit: the first check after the outage may wait out the 1 s timeout. */
    private void assertDownFailingFast() throws Exception {
        Health seen = actuator().awaitStatus("usherSessionStore", "DOWN");
        assertThat(seen.httpStatus()).as("an indicator DOWN makes the endpoint 503").isEqualTo(503);
        Health again = actuator().get();
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
