package dev.usher.examples.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.examples.boot.ActuatorHealth.Health;
import dev.usher.session.DedicatedPostgres;
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
 * Actuator health through the real {@code /actuator/health} endpoint while the stores go away: sessions on a
 * PostgreSQL and the rate limiter's buckets on a Redis of this test's own, each killed ({@code kill -9}) and
 * frozen ({@code SIGSTOP}, the hung host whose sockets stay open) and brought back. Each indicator goes DOWN
 * (HTTP 503) while its store is away, the other stays UP, and both are UP again once the store is back. A
 * frozen store is seen down by the first check after the store's timeout (1 s here); the checks after it
 * are answered by the store's circuit without waiting, which the answer itself shows ("failing fast").
 */
@Tag("server")
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = ChatApplication.class)
@DirtiesContext
class StoreOutageHealthTest {
    /** Far below a driver's default wait (30 s for a pooled connection): the store's own 1 s timeout bounds it. */

    private static DedicatedRedis redis;
    private static DedicatedPostgres postgres;

    @LocalServerPort
    int port;


    @DynamicPropertySource
    static void properties(DynamicPropertyRegistry registry) throws Exception {
        redis = new DedicatedRedis();
        postgres = DedicatedPostgres.start();
        TestProperties.common(registry, TestProperties.dataDir("outage"));
        registry.add("usher.session.store", () -> "jdbc");
        registry.add("usher.session.jdbc.url", postgres::jdbcUrl);
        registry.add("usher.session.jdbc.username", () -> "usher");
        registry.add("usher.session.jdbc.timeout", () -> "1s");
        registry.add("usher.rate-limit.store", () -> "redis");
        registry.add("usher.rate-limit.redis-uri", redis::uri);
        registry.add("usher.rate-limit.redis-timeout", () -> "1s");
    }

    @AfterAll
    static void stopServers() throws Exception {
        try (DedicatedRedis r = redis; DedicatedPostgres p = postgres) {
            // closed in reverse order, each by its own PID
        }
    }

    private ActuatorHealth actuator;

    /** The app's health endpoint (made on first use: the port is known once the context runs). */
    private ActuatorHealth actuator() {
        if (actuator == null) {
            actuator = new ActuatorHealth(port);
        }
        return actuator;
    }

    private Health awaitAllUp() throws Exception {
        actuator().awaitStatus("usherRateLimitStore", "UP");
        Health h = actuator().awaitStatus("usherSessionStore", "UP");
        assertThat(h.httpStatus()).isEqualTo(200);
        assertThat(h.body().path("status").asString()).isEqualTo("UP");
        return h;
    }

    /** Down, answered fast by the circuit: the first check after the outage may wait out the 1 s timeout. */
    private void assertDownFailingFast(String down, String up) throws Exception {
        Health seen = actuator().awaitStatus(down, "DOWN");
        assertThat(seen.httpStatus()).as("an indicator DOWN makes the endpoint 503").isEqualTo(503);
        Health again = actuator().get();
        assertThat(again.status(down)).isEqualTo("DOWN");
        assertThat(again.error(down)).contains("StoreUnavailableException").contains("failing fast");
        assertThat(again.status(up)).as("the other store is fine").isEqualTo("UP");
    }

    @Test
    void rateLimitStoreKilledThenFrozenGoesDownAndComesBack() throws Exception {
        awaitAllUp();

        redis.kill9();
        assertDownFailingFast("usherRateLimitStore", "usherSessionStore");
        redis.start();
        awaitAllUp();

        redis.freeze();
        try {
            assertDownFailingFast("usherRateLimitStore", "usherSessionStore");
        } finally {
            redis.thaw();
        }
        awaitAllUp();
    }

    @Test
    void sessionStoreKilledThenFrozenGoesDownAndComesBack() throws Exception {
        awaitAllUp();

        postgres.crash();
        assertDownFailingFast("usherSessionStore", "usherRateLimitStore");
        postgres.startServer();
        Health back = awaitAllUp();
        assertThat(back.body().path("components").path("usherSessionStore").path("details").path("sessions").isNumber()).isTrue();

        postgres.freeze();
        try {
            assertDownFailingFast("usherSessionStore", "usherRateLimitStore");
        } finally {
            postgres.thaw();
        }
        awaitAllUp();
    }
}
