package dev.usher.spring.boot.autoconfigure;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code usher.*} settings. Every value is checked when the context starts; a bad one fails the start
 * with an {@link UsherConfigurationException} naming the property, the value and the limit.
 *
 * <p>Why this class is long: it is the property tree itself, one nested class per {@code usher.<group>}
 * with the getter and setter pair Spring Boot binds by, and no logic (the checks are in
 * {@code UsherAutoConfiguration} and {@code Settings}). Moving the groups into files of their own would
 * rename public types ({@code UsherProperties.Queue}…) without giving any of them a second job to lose.
 */
@ConfigurationProperties("usher")
public class UsherProperties {
    /** Whether Usher is configured at all. */
    private boolean enabled = true;
    private final Session session = new Session();
    private final Queue queue = new Queue();
    private final RateLimit rateLimit = new RateLimit();
    private final Workspace workspace = new Workspace();
    private final Workflows workflows = new Workflows();
    private final Servlet servlet = new Servlet();
    private final Shutdown shutdown = new Shutdown();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public Session getSession() {
        return session;
    }

    public Queue getQueue() {
        return queue;
    }

    public RateLimit getRateLimit() {
        return rateLimit;
    }

    public Workspace getWorkspace() {
        return workspace;
    }

    public Workflows getWorkflows() {
        return workflows;
    }

    public Servlet getServlet() {
        return servlet;
    }

    public Shutdown getShutdown() {
        return shutdown;
    }

    /** Where sessions are kept. */
    public enum StoreType {
        /** In this process only: lost on restart, not shared. */
        MEMORY,
        /** SQLite (the default file) or PostgreSQL, or the application's DataSource. */
        JDBC,
        /** Redis, standalone or Cluster (needs dev.usher:session-redis). */
        REDIS
    }

    /** Which admission queue admits runs. */
    public enum QueueType {
        /** This process's own queue. */
        LOCAL,
        /** One queue shared by every instance in Redis (needs dev.usher:usher-workflow-gate-redis). */
        REDIS
    }

    /** Where the rate limiter keeps its buckets. */
    public enum RateLimitStore {
        /** In this process: each instance limits on its own. */
        LOCAL,
        /** In Redis: one limit across every instance. */
        REDIS
    }

    public static class Session {
        /** Where sessions are kept: memory, jdbc or redis. */
        private StoreType store = StoreType.JDBC;
        /** Name of the session cookie; a "__Host-" name is always sent Secure. */
        private String cookieName = "USHER_SESSION";
        /** How long a session lives without requests. */
        private Duration idleTimeout = Duration.ofMinutes(30);
        /** How long a session lives at most, however active. */
        private Duration absoluteTimeout = Duration.ofHours(12);
        private final Jdbc jdbc = new Jdbc();
        private final Redis redis = new Redis();

        public StoreType getStore() {
            return store;
        }

        public void setStore(StoreType store) {
            this.store = store;
        }

        public String getCookieName() {
            return cookieName;
        }

        public void setCookieName(String cookieName) {
            this.cookieName = cookieName;
        }

        public Duration getIdleTimeout() {
            return idleTimeout;
        }

        public void setIdleTimeout(Duration idleTimeout) {
            this.idleTimeout = idleTimeout;
        }

        public Duration getAbsoluteTimeout() {
            return absoluteTimeout;
        }

        public void setAbsoluteTimeout(Duration absoluteTimeout) {
            this.absoluteTimeout = absoluteTimeout;
        }

        public Jdbc getJdbc() {
            return jdbc;
        }

        public Redis getRedis() {
            return redis;
        }
    }

    public static class Jdbc {
        /**
         * JDBC URL of the session database (jdbc:sqlite:... or jdbc:postgresql:...). When unset, the
         * application's DataSource is used if there is one, else the SQLite file.
         */
        private String url;
        /** User for the url. */
        private String username;
        /** Password for the url. */
        private String password;
        /** Whether to use the application's DataSource when no url is set. */
        private boolean useApplicationDataSource = true;
        /** The SQLite file used when there is neither a url nor an application DataSource. */
        private Path sqliteFile = Path.of("data", "usher-sessions.db");
        /** The sessions table. */
        private String tableName = "usher_session";
        /** How long a call may wait for the database. */
        private Duration timeout = Duration.ofSeconds(5);

        public String getUrl() {
            return url;
        }

        public void setUrl(String url) {
            this.url = url;
        }

        public String getUsername() {
            return username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return password;
        }

        public void setPassword(String password) {
            this.password = password;
        }

        public boolean isUseApplicationDataSource() {
            return useApplicationDataSource;
        }

        public void setUseApplicationDataSource(boolean useApplicationDataSource) {
            this.useApplicationDataSource = useApplicationDataSource;
        }

        public Path getSqliteFile() {
            return sqliteFile;
        }

        public void setSqliteFile(Path sqliteFile) {
            this.sqliteFile = sqliteFile;
        }

        public String getTableName() {
            return tableName;
        }

        public void setTableName(String tableName) {
            this.tableName = tableName;
        }

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }
    }

    public static class Redis {
        /** Redis URI for the session store (redis://host:port/db); required with store=redis. */
        private String uri;
        /** Prefix of every session key. */
        private String keyPrefix;
        /** How long a call may wait for Redis. */
        private Duration timeout = Duration.ofSeconds(2);

        public String getUri() {
            return uri;
        }

        public void setUri(String uri) {
            this.uri = uri;
        }

        public String getKeyPrefix() {
            return keyPrefix;
        }

        public void setKeyPrefix(String keyPrefix) {
            this.keyPrefix = keyPrefix;
        }

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }
    }

    public static class Queue {
        /** Which queue: local, or redis (one queue across instances, from workflow-gate-redis). */
        private QueueType type = QueueType.LOCAL;
        /** A name for the queue's thread and messages. */
        private String name = "usher";
        /** How many runs execute at once. */
        private int maxRunning = 4;
        /** How many requests may wait; more get 503. */
        private int maxQueued = 1000;
        /** How long a request may wait before it gets 503. */
        private Duration maxWait = Duration.ofMinutes(2);
        /** How many runs one session may have at once (0 = no per-session limit). */
        private int maxRunningPerSession = 1;
        /** The run duration assumed for wait estimates before a run has finished. */
        private Duration initialRunDuration = Duration.ofSeconds(10);
        /**
         * The cluster queue's Redis: a URI (redis://host:port), or a comma-separated host:port list of Redis
         * Cluster nodes; required with type=redis. Every instance with the same name and Redis shares the queue.
         */
        private String redisUri;
        /**
         * With type=redis: how long a permit or a waiting ticket outlives its instance. Live instances renew
         * theirs; those of an instance that died (kill -9, a lost host) are freed this long after its last
         * renewal, and the next waiters on the other instances are admitted.
         */
        private Duration leaseTime = Duration.ofSeconds(15);
        /** With type=redis: how long a departed waiter's place is kept for its session to reconnect (0 = not kept). */
        private Duration reconnectGrace = Duration.ofSeconds(30);

        public String getRedisUri() {
            return redisUri;
        }

        public void setRedisUri(String redisUri) {
            this.redisUri = redisUri;
        }

        public Duration getLeaseTime() {
            return leaseTime;
        }

        public void setLeaseTime(Duration leaseTime) {
            this.leaseTime = leaseTime;
        }

        public Duration getReconnectGrace() {
            return reconnectGrace;
        }

        public void setReconnectGrace(Duration reconnectGrace) {
            this.reconnectGrace = reconnectGrace;
        }

        public QueueType getType() {
            return type;
        }

        public void setType(QueueType type) {
            this.type = type;
        }

        public String getName() {
            return name;
        }

        public void setName(String name) {
            this.name = name;
        }

        public int getMaxRunning() {
            return maxRunning;
        }

        public void setMaxRunning(int maxRunning) {
            this.maxRunning = maxRunning;
        }

        public int getMaxQueued() {
            return maxQueued;
        }

        public void setMaxQueued(int maxQueued) {
            this.maxQueued = maxQueued;
        }

        public Duration getMaxWait() {
            return maxWait;
        }

        public void setMaxWait(Duration maxWait) {
            this.maxWait = maxWait;
        }

        public int getMaxRunningPerSession() {
            return maxRunningPerSession;
        }

        public void setMaxRunningPerSession(int maxRunningPerSession) {
            this.maxRunningPerSession = maxRunningPerSession;
        }

        public Duration getInitialRunDuration() {
            return initialRunDuration;
        }

        public void setInitialRunDuration(Duration initialRunDuration) {
            this.initialRunDuration = initialRunDuration;
        }
    }

    public static class RateLimit {
        /** Whether requests are rate-limited per client address. */
        private boolean enabled = true;
        /** Where the buckets live: local, or redis (one limit across instances). */
        private RateLimitStore store = RateLimitStore.LOCAL;
        /** Redis URI for the shared buckets; required with store=redis. */
        private String redisUri;
        /**
         * Bound on each wait for the shared buckets' Redis (connect, answer, a pooled connection). Once a call
         * has seen Redis unreachable, the health indicator answers DOWN at once until Redis answers again.
         */
        private Duration redisTimeout = Duration.ofSeconds(2);
        /**
         * The limits by name, each with a quota and a window (set both when you set one); every limit must
         * allow a request. Default: minute (60 per minute) and burst (10 per second).
         */
        private Map<String, LimitProperties> limits = defaultLimits();

        private static Map<String, LimitProperties> defaultLimits() {
            Map<String, LimitProperties> limits = new LinkedHashMap<>();
            limits.put("minute", new LimitProperties(60, Duration.ofMinutes(1)));
            limits.put("burst", new LimitProperties(10, Duration.ofSeconds(1)));
            return limits;
        }

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Duration getRedisTimeout() {
            return redisTimeout;
        }

        public void setRedisTimeout(Duration redisTimeout) {
            this.redisTimeout = redisTimeout;
        }

        public RateLimitStore getStore() {
            return store;
        }

        public void setStore(RateLimitStore store) {
            this.store = store;
        }

        public String getRedisUri() {
            return redisUri;
        }

        public void setRedisUri(String redisUri) {
            this.redisUri = redisUri;
        }

        public Map<String, LimitProperties> getLimits() {
            return limits;
        }

        public void setLimits(Map<String, LimitProperties> limits) {
            this.limits = limits;
        }
    }

    public static class LimitProperties {
        /** Requests allowed per window. */
        private long quota;
        /** The window. */
        private Duration window;

        public LimitProperties() {
        }

        LimitProperties(long quota, Duration window) {
            this.quota = quota;
            this.window = window;
        }

        public long getQuota() {
            return quota;
        }

        public void setQuota(long quota) {
            this.quota = quota;
        }

        public Duration getWindow() {
            return window;
        }

        public void setWindow(Duration window) {
            this.window = window;
        }
    }

    public static class Workspace {
        /** Whether each session gets a workspace directory. */
        private boolean enabled = true;
        /** The directory that holds the workspaces. */
        private Path root = Path.of("data", "workspaces");
        /** Bytes one workspace may hold. */
        private long maxBytes = 64L << 20;
        /** Files and directories one workspace may hold. */
        private long maxFiles = 1000;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public Path getRoot() {
            return root;
        }

        public void setRoot(Path root) {
            this.root = root;
        }

        public long getMaxBytes() {
            return maxBytes;
        }

        public void setMaxBytes(long maxBytes) {
            this.maxBytes = maxBytes;
        }

        public long getMaxFiles() {
            return maxFiles;
        }

        public void setMaxFiles(long maxFiles) {
            this.maxFiles = maxFiles;
        }
    }

    public static class Workflows {
        /** How many sessions' workflows are kept. */
        private long maximumSize = 256;
        /** How long an unused workflow is kept. */
        private Duration expireAfterAccess = Duration.ofMinutes(15);

        public long getMaximumSize() {
            return maximumSize;
        }

        public void setMaximumSize(long maximumSize) {
            this.maximumSize = maximumSize;
        }

        public Duration getExpireAfterAccess() {
            return expireAfterAccess;
        }

        public void setExpireAfterAccess(Duration expireAfterAccess) {
            this.expireAfterAccess = expireAfterAccess;
        }
    }

    public static class Servlet {
        /** The URL patterns the filter guards (the workflow endpoints). */
        private List<String> urlPatterns = new ArrayList<>(List.of("/api/workflow/*"));
        /** How often a streamed wait writes a keep-alive. */
        private Duration keepAliveInterval = Duration.ofSeconds(15);
        /** Retry-After sent with 503 when a store is down or the server is stopping. */
        private Duration unavailableRetryAfter = Duration.ofSeconds(5);
        /** The filter's order among the application's filters. */
        private int order = 0;
        /**
         * Addresses and CIDR ranges of the reverse proxies in front of this application (e.g. 10.0.0.0/8, ::1).
         * X-Forwarded-For is believed only from them, taking the right-most address that is not a proxy; empty
         * (the default): the socket's address is the client's.
         */
        private List<String> trustedProxies = new ArrayList<>();

        public List<String> getTrustedProxies() {
            return trustedProxies;
        }

        public void setTrustedProxies(List<String> trustedProxies) {
            this.trustedProxies = trustedProxies;
        }

        public List<String> getUrlPatterns() {
            return urlPatterns;
        }

        public void setUrlPatterns(List<String> urlPatterns) {
            this.urlPatterns = urlPatterns;
        }

        public Duration getKeepAliveInterval() {
            return keepAliveInterval;
        }

        public void setKeepAliveInterval(Duration keepAliveInterval) {
            this.keepAliveInterval = keepAliveInterval;
        }

        public Duration getUnavailableRetryAfter() {
            return unavailableRetryAfter;
        }

        public void setUnavailableRetryAfter(Duration unavailableRetryAfter) {
            this.unavailableRetryAfter = unavailableRetryAfter;
        }

        public int getOrder() {
            return order;
        }

        public void setOrder(int order) {
            this.order = order;
        }
    }

    public static class Shutdown {
        /** How long shutdown waits for runs in flight before closing everything. */
        private Duration timeout = Duration.ofSeconds(30);

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }
    }
}
