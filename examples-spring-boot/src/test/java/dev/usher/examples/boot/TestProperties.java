package dev.usher.examples.boot;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.springframework.test.context.DynamicPropertyRegistry;

/** The shared test servers (scripts/test-env.sh) and the settings every end-to-end test uses. */
final class TestProperties {
    static final String REDIS_URI = System.getProperty("usher.test.redis.uri", "redis://127.0.0.1:56379");
    static final String POSTGRES_URL = System.getProperty("usher.test.postgres.url",
            "jdbc:postgresql://127.0.0.1:55432/usher_test");
    static final String POSTGRES_USER = System.getProperty("usher.test.postgres.user", "usher");

    private TestProperties() {
    }

    static String unique(String prefix) {
        return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    static Path dataDir(String name) {
        try {
            return Files.createTempDirectory("usher-boot-" + name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One run at a time, a fast model, and a rate limit a test can reach: 3 runs per session and hour. */
    static Map<String, String> common(Path data) {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("usher.workspace.root", data.resolve("workspaces").toString());
        properties.put("usher.queue.max-running", "1");
        properties.put("usher.servlet.keep-alive-interval", "200ms");
        properties.put("example.token-delay", "2ms");
        // application.properties' limits, made wide, and one a test can reach
        properties.put("usher.rate-limit.limits.minute.quota", "1000");
        properties.put("usher.rate-limit.limits.burst.quota", "1000");
        properties.put("usher.rate-limit.limits.test.quota", "3");
        properties.put("usher.rate-limit.limits.test.window", "1h");
        return properties;
    }

    static void common(DynamicPropertyRegistry registry, Path data) {
        common(data).forEach((name, value) -> registry.add(name, () -> value));
    }
}
