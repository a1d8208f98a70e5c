package dev.usher.examples.chat;

import dev.usher.gate.http.TrustedProxies;
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
 * @param requestsPerMinute {@code USHER_REQUESTS_PER_MINUTE}: per session, per client address without one (20)
 * @param burstPerSecond    {@code USHER_BURST_PER_SECOND}: per user (5)
 * @param tokenDelay        {@code USHER_TOKEN_DELAY_MS}: the simulated model's delay per token (80)
 * @param idleTimeout       {@code USHER_IDLE_TIMEOUT_MINUTES}: session idle timeout (30)
 * @param adminToken        {@code USHER_ADMIN_TOKEN}: bearer token for /api/admin, at least 16 characters
 *                          (none: the admin API is off)
 * @param trustedProxies    {@code USHER_TRUSTED_PROXIES}: addresses and CIDR ranges of the reverse proxies whose
 *                          {@code X-Forwarded-For}/{@code X-Forwarded-Proto} are believed (none)
 * @param forwardedHeader   {@code USHER_FORWARDED_HEADER}: {@code x-forwarded-for} or {@code forwarded}
 *                          (RFC 7239), the header those proxies write (x-forwarded-for)
 * @param secureCookie      {@code USHER_SECURE_COOKIE}: auto (Secure when the request came over TLS, directly or
 *                          per a trusted proxy), always or never (auto)
 * @param cookieHostPrefix  {@code USHER_COOKIE_HOST_PREFIX}: true names the cookie {@code __Host-USHER_SESSION}
 *                          (always Secure, host-only, Path=/) (false)
 * @param newSessionsPerHour {@code USHER_NEW_SESSIONS_PER_HOUR}: sessions one client address (an IPv6 /64) may
 *                          create per hour (300)
 * @param queue             {@code USHER_QUEUE}: local (one queue per instance) or redis (one queue, one cap and
 *                          one line for every instance on the same Redis) (local)
 * @param queueRedis        {@code USHER_QUEUE_REDIS}: the queue's Redis, a URI or a comma-separated
 *                          {@code host:port} list of Redis Cluster nodes (the store's URI when the store is
 *                          redis, else redis://127.0.0.1:6379)
 * @param queueName         {@code USHER_QUEUE_NAME}: the shared queue's name (chat)
 * @param keepAlive         {@code USHER_KEEPALIVE_MS}: the longest a waiting client goes without an event (2000);
 *                          a client that left is noticed at the second write after it left, at the latest
 * @param maxSessions       {@code USHER_MAX_SESSIONS}: the most live sessions the store keeps (sqlite, postgres,
 *                          redis; 100,000 for memory); past it a new session is refused with 503 (100000)
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
        TrustedProxies trustedProxies,
        SecureCookie secureCookie,
        boolean cookieHostPrefix,
        int newSessionsPerHour,
        String queue,
        String queueRedis,
        String queueName,
        Duration keepAlive,
        int maxSessions) {

    /** When the session cookie carries {@code Secure}. */
    enum SecureCookie {
        AUTO, ALWAYS, NEVER
    }

    /** Smallest accepted admin token: a short one can be guessed. */
    static final int MIN_ADMIN_TOKEN = 16;

    Config {
        if (adminToken != null && adminToken.strip().length() < MIN_ADMIN_TOKEN) {
            throw new IllegalArgumentException("USHER_ADMIN_TOKEN must be at least " + MIN_ADMIN_TOKEN
                    + " characters but was " + adminToken.strip().length());
        }
        if (cookieHostPrefix && secureCookie == SecureCookie.NEVER) {
            throw new IllegalArgumentException("USHER_COOKIE_HOST_PREFIX=true needs a Secure cookie but"
                    + " USHER_SECURE_COOKIE was never");
        }
        if (maxSessions < 1) {
            throw new IllegalArgumentException("USHER_MAX_SESSIONS must be at least 1 but was " + maxSessions);
        }
        if (newSessionsPerHour < 1) {
            throw new IllegalArgumentException("USHER_NEW_SESSIONS_PER_HOUR must be at least 1 but was "
                    + newSessionsPerHour);
        }
    }

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
                blankToNull(env.get("USHER_ADMIN_TOKEN")),
                trustedProxies(env),
                choice(env, "USHER_SECURE_COOKIE", SecureCookie.class, SecureCookie.AUTO),
                bool(env, "USHER_COOKIE_HOST_PREFIX", false),
                integer(env, "USHER_NEW_SESSIONS_PER_HOUR", 300),
                queueKind(env.getOrDefault("USHER_QUEUE", "local")),
                env.getOrDefault("USHER_QUEUE_REDIS", store.equals("redis") ? storeUrl : "redis://127.0.0.1:6379"),
                env.getOrDefault("USHER_QUEUE_NAME", "chat"),
                Duration.ofMillis(integer(env, "USHER_KEEPALIVE_MS", 2000)),
                integer(env, "USHER_MAX_SESSIONS", 100_000));
    }

    private static String queueKind(String raw) {
        if (!raw.equals("local") && !raw.equals("redis")) {
            throw new IllegalArgumentException("USHER_QUEUE must be local or redis but was '" + raw + "'");
        }
        return raw;
    }

    /** Every setting except the admin token's text, so the configuration can be logged. */
    @Override
    public String toString() {
        return "Config[port=" + port + ", store=" + store + ", dataDir=" + dataDir + ", maxRunning=" + maxRunning
                + ", maxQueued=" + maxQueued + ", adminToken=" + (adminToken == null ? "none" : "set")
                + ", trustedProxies=" + trustedProxies + ", secureCookie=" + secureCookie + ", cookieHostPrefix="
                + cookieHostPrefix + ", newSessionsPerHour=" + newSessionsPerHour + ", queue=" + queue + ", queueName="
                + queueName + ", keepAlive=" + keepAlive + ", maxSessions=" + maxSessions + "]";
    }

    private static TrustedProxies trustedProxies(Map<String, String> env) {
        TrustedProxies proxies;
        try {
            proxies = TrustedProxies.parse(env.get("USHER_TRUSTED_PROXIES"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("USHER_TRUSTED_PROXIES: " + e.getMessage(), e);
        }
        String header = env.getOrDefault("USHER_FORWARDED_HEADER", "x-forwarded-for").strip().toLowerCase(java.util.Locale.ROOT);
        return switch (header) {
            case "x-forwarded-for", "" -> proxies;
            case "forwarded" -> proxies.usingForwardedHeader();
            default -> throw new IllegalArgumentException(
                    "USHER_FORWARDED_HEADER must be x-forwarded-for or forwarded but was '" + header + "'");
        };
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static boolean bool(Map<String, String> env, String name, boolean defaultValue) {
        String raw = env.get(name);
        if (raw == null || raw.isBlank()) {
            return defaultValue;
        }
        return switch (raw.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "yes", "1" -> true;
            case "false", "no", "0" -> false;
            default -> throw new IllegalArgumentException(name + " must be true or false but was '" + raw + "'");
        };
    }

    private static <E extends Enum<E>> E choice(Map<String, String> env, String name, Class<E> type, E defaultValue) {
        String raw = env.get(name);
        if (raw == null || raw.isBlank()) {
            return defaultValue;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(raw.strip())) {
                return e;
            }
        }
        throw new IllegalArgumentException(name + " must be one of " + java.util.Arrays.toString(type.getEnumConstants())
                .toLowerCase(java.util.Locale.ROOT) + " but was '" + raw + "'");
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
