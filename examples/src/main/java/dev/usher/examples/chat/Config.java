package dev.usher.examples.chat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The example server's settings, read from environment variables; each has a default so that
 * {@code ChatServer} runs with zero setup on the embedded default (a SQLite file under {@code ./data}).
 *
 * @param port              {@code USHER_PORT} (8080; 0 picks a free port)
 * @param store             {@code USHER_STORE}: memory, sqlite, postgres or redis (sqlite)
 * @param storeUrl          {@code USHER_STORE_URL}: JDBC URL or Redis URI (jdbc:sqlite:./data/usher.db,
 *                          jdbc:postgresql://127.0.0.1:5432/usher, redis://127.0.0.1:6379)
 * @param rateLimitRedisUri {@code USHER_RATE_LIMIT_REDIS}: a Redis URI to share the rate limit across instances
 *                          (defaults to the store's URI when the store is redis; otherwise local)
 * @param dataDir           {@code USHER_DATA_DIR}: where the SQLite file and workspaces live (./data)
 * @param maxRunning        {@code USHER_MAX_RUNNING}: workflow runs at once (2)
 * @param maxQueued         {@code USHER_MAX_QUEUED}: waiting requests before 503 (100)
 * @param maxWait           {@code USHER_MAX_WAIT_SECONDS}: longest wait in the queue (300)
 * @param requestsPerMinute {@code USHER_REQUESTS_PER_MINUTE}: per user (20)
 * @param burstPerSecond    {@code USHER_BURST_PER_SECOND}: per user (5)
 * @param tokenDelay        {@code USHER_TOKEN_DELAY_MS}: the simulated model's delay per token (80)
 * @param idleTimeout       {@code USHER_IDLE_TIMEOUT_MINUTES}: session idle timeout (30)
 * @param adminToken        {@code USHER_ADMIN_TOKEN}: bearer token for /api/admin (none: admin endpoints
 *                          answer only loopback clients)
 * @param queue             {@code USHER_QUEUE}: local (one queue per instance) or redis (one queue, one cap and
 *                          one line for every instance on the same Redis) (local)
 * @param queueRedis        {@code USHER_QUEUE_REDIS}: the queue's Redis, a URI or a comma-separated
 *                          {@code host:port} list of Redis Cluster nodes (the store's URI when the store is
 *                          redis, else redis://127.0.0.1:6379)
 * @param queueName         {@code USHER_QUEUE_NAME}: the shared queue's name (chat)
 * @param keepAlive         {@code USHER_KEEPALIVE_MS}: the longest a waiting client goes without an event (2000);
 *                          a client that left is noticed at the second write after it left, at the latest
 */
record Config(
        int port,
        String store,
        String storeUrl,
        String rateLimitRedisUri,
        Path dataDir,
        int maxRunning,
        int maxQueued,
        Duration maxWait,
        int requestsPerMinute,
        int burstPerSecond,
        Duration tokenDelay,
        Duration idleTimeout,
        String adminToken,
        String queue,
        String queueRedis,
        String queueName,
        Duration keepAlive) {

    static Config fromEnvironment() {
        return from(System.getenv());
    }

    static Config from(Map<String, String> env) {
        Path dataDir = Path.of(env.getOrDefault("USHER_DATA_DIR", "data"));
        String store = env.getOrDefault("USHER_STORE", "sqlite");
        String defaultUrl = switch (store) {
            case "memory" -> "";
            case "sqlite" -> "jdbc:sqlite:" + dataDir.resolve("usher.db");
            case "postgres" -> "jdbc:postgresql://127.0.0.1:5432/usher";
            case "redis" -> "redis://127.0.0.1:6379";
            default -> throw new IllegalArgumentException(
                    "USHER_STORE must be memory, sqlite, postgres or redis but was '" + store + "'");
        };
        String storeUrl = env.getOrDefault("USHER_STORE_URL", defaultUrl);
        return new Config(
                integer(env, "USHER_PORT", 8080),
                store,
                storeUrl,
                env.getOrDefault("USHER_RATE_LIMIT_REDIS", store.equals("redis") ? storeUrl : null),
                dataDir,
                integer(env, "USHER_MAX_RUNNING", 2),
                integer(env, "USHER_MAX_QUEUED", 100),
                Duration.ofSeconds(integer(env, "USHER_MAX_WAIT_SECONDS", 300)),
                integer(env, "USHER_REQUESTS_PER_MINUTE", 20),
                integer(env, "USHER_BURST_PER_SECOND", 5),
                Duration.ofMillis(integer(env, "USHER_TOKEN_DELAY_MS", 80)),
                Duration.ofMinutes(integer(env, "USHER_IDLE_TIMEOUT_MINUTES", 30)),
                env.get("USHER_ADMIN_TOKEN"),
                queueKind(env.getOrDefault("USHER_QUEUE", "local")),
                env.getOrDefault("USHER_QUEUE_REDIS", store.equals("redis") ? storeUrl : "redis://127.0.0.1:6379"),
                env.getOrDefault("USHER_QUEUE_NAME", "chat"),
                Duration.ofMillis(integer(env, "USHER_KEEPALIVE_MS", 2000)));
    }

    private static String queueKind(String raw) {
        if (!raw.equals("local") && !raw.equals("redis")) {
            throw new IllegalArgumentException("USHER_QUEUE must be local or redis but was '" + raw + "'");
        }
        return raw;
    }

    private static int integer(Map<String, String> env, String name, int defaultValue) {
        String raw = env.get(name);
        if (raw == null || raw.isBlank()) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer but was '" + raw + "'", e);
        }
    }
}
