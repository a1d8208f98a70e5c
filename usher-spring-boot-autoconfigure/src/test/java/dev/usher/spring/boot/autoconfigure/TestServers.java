package dev.usher.spring.boot.autoconfigure;

import java.util.UUID;

/**
 * The shared test servers (started by scripts/test-env.sh), from system properties with the script's
 * defaults. A server that is not there makes the test fail, never skip.
 */
final class TestServers {
    static final String REDIS_URI = System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");
    static final String POSTGRES_URL = System.getProperty("usher.test.postgres.url",
            "jdbc:postgresql://127.0.0.1:55432/usher_test");
    static final String POSTGRES_USER = System.getProperty("usher.test.postgres.user", "usher");

    private TestServers() {
    }

    /** A name no other test run uses, for table names and key prefixes. */
    static String unique(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }
}
