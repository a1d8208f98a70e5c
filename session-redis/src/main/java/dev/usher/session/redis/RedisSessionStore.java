package dev.usher.session.redis;

import dev.usher.session.Session;
import dev.usher.session.SessionIds;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreUnavailableException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * A {@link SessionStore} in Redis or a Redis Cluster, through a Jedis {@link UnifiedJedis} client, shared by
 * every instance of the host that points at the same server and key prefix.
 *
 * <p>Thread-safe: one store per process and prefix, shared by all threads. A store built from a
 * {@linkplain Builder#uri URI} or {@linkplain Builder#clusterNodes cluster nodes} owns its client and closes
 * it in {@link #close()}; a store given a {@linkplain Builder#client client} leaves that client to the host.
 * Every method blocks on network I/O, each step bounded by the {@linkplain Builder#timeout timeout} of an
 * owned client (a host's client brings its own timeouts), and holds no monitor while doing so. When Redis cannot be
 * reached or does not answer in time, methods throw {@link StoreUnavailableException} with the Jedis
 * exception as its cause; the store reconnects by itself once Redis is back.
 *
 * <p>Round trips: {@link #load}, {@link #insert}, {@link #replace} (so every touch and update) and
 * {@link #remove} are one each: an {@code HGETALL}, or one {@code EVALSHA} of a Lua script that checks,
 * writes the session hash and updates its index entries atomically. {@link #changeId} is two (three when it
 * must undo). {@link #removeExpired} and {@link #list} are one per shard visited; {@link #count} and
 * {@link #findByOwner} send one command per shard in a single pipeline. See {@link KeyLayout} for the keys.
 *
 * <pre>{@code
 * SessionStore store = RedisSessionStore.builder().uri("redis://127.0.0.1:6379").build();
 * SessionManager sessions = SessionManager.builder(store).build();
 * }</pre>
 */
public final class RedisSessionStore implements SessionStore {
    /** Server errors that mean "not now" rather than "never": loading, failover, cluster reconfiguration. */
    private static final List<String> TRANSIENT_ERRORS = List.of(
            "LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "NOREPLICAS");
    /** Latest TTL the store sets: far from where Redis's millisecond arithmetic could overflow. */
    private static final long MAX_TTL_AT = Instant.parse("9999-12-31T23:59:59Z").toEpochMilli();

    private final UnifiedJedis redis;
    private final boolean ownsClient;
    private final KeyLayout keys;
    private final long graceMillis;
    private final AtomicBoolean closed = new AtomicBoolean();

    private RedisSessionStore(Builder b, UnifiedJedis redis, boolean ownsClient) {
        this.redis = redis;
        this.ownsClient = ownsClient;
        this.keys = new KeyLayout(b.keyPrefix, b.shards);
        this.graceMillis = b.expiryGrace.toMillis();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Optional<Session> load(String id) {
        return call("load", () -> Optional.ofNullable(SessionCodec.decode(redis.hgetAll(keys.sessionKey(id)))));
    }

    @Override
    public boolean insert(Session session) {
        return call("insert", () -> insertNow(session));
    }

    private boolean insertNow(Session session) {
        int shard = keys.shardOf(session.id());
        List<String> k = new ArrayList<>(4);
        k.add(keys.sessionKey(session.id()));
        k.add(keys.expiryKey(shard));
        k.add(keys.idsKey(shard));
        if (session.owner() != null) {
            k.add(keys.ownerKey(shard, session.owner()));
        }
        List<String> fields = SessionCodec.fields(session);
        List<String> args = new ArrayList<>(3 + fields.size());
        args.add(session.id());
        args.add(Long.toString(session.expiresAt().toEpochMilli()));
        args.add(Long.toString(ttlAt(session)));
        args.addAll(fields);
        return ((Long) Script.INSERT.run(redis, k, args)) == 1L;
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        return call("replace", () -> {
            int shard = keys.shardOf(session.id());
            List<String> k = new ArrayList<>(3);
            k.add(keys.sessionKey(session.id()));
            k.add(keys.expiryKey(shard));
            if (session.owner() != null) {
                k.add(keys.ownerKey(shard, session.owner()));
            }
            List<String> fields = SessionCodec.fields(session);
            List<String> args = new ArrayList<>(5 + fields.size());
            args.add(session.id());
            args.add(Long.toString(session.expiresAt().toEpochMilli()));
            args.add(Long.toString(ttlAt(session)));
            args.add(Long.toString(expectedVersion));
            args.add(keys.ownerKeyPrefix(shard));
            args.addAll(fields);
            return ((Long) Script.REPLACE.run(redis, k, args)) == 1L;
        });
    }

    /**
     * Copies the session under the new id, then removes the old one only if it is still at
     * {@code expectedVersion}; if that check fails the copy is removed again. Redis cannot do this in one
     * step on a cluster (the two ids live in different slots, and {@code RENAME} across slots fails), so
     * there are two windows where a crash of this process or a lost connection leaves both copies: after the
     * copy, and after a failed check before the undo. The copy under the new id was never handed to anyone,
     * so it is an orphan that expires and is swept like any session (its EXPIRED event names an id no client
     * holds). The old id can never end up with a write after its removal: every write is a version check on
     * a hash that no longer exists.
     */
    @Override
    public boolean changeId(String oldId, Session renamed, long expectedVersion) {
        return call("changeId", () -> {
            if (!insertNow(renamed)) {
                return false;
            }
            if (removeNow(oldId, expectedVersion) != null) {
                return true;
            }
            removeNow(renamed.id(), renamed.version());
            return false;
        });
    }

    @Override
    public Optional<Session> remove(String id) {
        return call("remove", () -> Optional.ofNullable(removeNow(id, null)));
    }

    /** The removed session, or null when it is gone or (with a version) at another version. */
    private Session removeNow(String id, Long expectedVersion) {
        int shard = keys.shardOf(id);
        List<String> k = List.of(keys.sessionKey(id), keys.expiryKey(shard), keys.idsKey(shard));
        List<String> args = expectedVersion == null
                ? List.of(id, keys.ownerKeyPrefix(shard))
                : List.of(id, keys.ownerKeyPrefix(shard), Long.toString(expectedVersion));
        List<?> reply = (List<?>) Script.REMOVE.run(redis, k, args);
        return reply.isEmpty() ? null : SessionCodec.decode(reply);
    }

    /**
     * Claims expired sessions shard by shard, starting at a random shard so that sweepers of several
     * instances mostly work on different shards. Each shard's claim is one script: it reads the expiry
     * index and deletes what it returns in one atomic step, so two sweepers can never both get a session.
     * A claimed session whose reply is lost on the network (connection dropped after Redis ran the script)
     * is gone without its event: delivery is exactly once while the connection holds, at most once otherwise.
     */
    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive but was " + limit);
        }
        return call("removeExpired", () -> {
            List<Session> claimed = new ArrayList<>();
            int first = ThreadLocalRandom.current().nextInt(keys.shards());
            String nowMillis = Long.toString(now.toEpochMilli());
            for (int i = 0; i < keys.shards() && claimed.size() < limit; i++) {
                int shard = (first + i) % keys.shards();
                List<?> reply = (List<?>) Script.REMOVE_EXPIRED.run(redis,
                        List.of(keys.expiryKey(shard), keys.idsKey(shard)),
                        List.of(nowMillis, Integer.toString(limit - claimed.size()),
                                keys.sessionKeyPrefix(shard), keys.ownerKeyPrefix(shard)));
                for (Object fields : reply) {
                    claimed.add(SessionCodec.decode(fields));
                }
            }
            return claimed;
        });
    }

    @Override
    public List<Session> findByOwner(String owner) {
        Objects.requireNonNull(owner, "owner");
        return call("findByOwner", () -> {
            List<Object> replies = onEveryShard(Script.FIND_BY_OWNER,
                    shard -> List.of(keys.ownerKey(shard, owner)),
                    shard -> List.of(keys.sessionKeyPrefix(shard)));
            List<Session> sessions = new ArrayList<>();
            for (Object reply : replies) {
                for (Object fields : (List<?>) reply) {
                    sessions.add(SessionCodec.decode(fields));
                }
            }
            return sessions;
        });
    }

    /**
     * Pages through the shards in order and, within a shard, through its ids in byte order. The cursor is
     * {@code "<shard>:<last id>"}; ids are only added and removed, never moved, so a session stored for the
     * whole listing is returned exactly once.
     */
    @Override
    public SessionPage list(String cursor, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive but was " + limit);
        }
        int shard;
        String after;
        if (cursor == null) {
            shard = 0;
            after = "";
        } else {
            int colon = cursor.indexOf(':');
            try {
                shard = Integer.parseInt(cursor.substring(0, Math.max(colon, 0)));
            } catch (NumberFormatException e) {
                shard = -1;
            }
            if (shard < 0 || shard >= keys.shards()) {
                // A cursor names a session id: never echo it whole.
                throw new IllegalArgumentException("cursor '" + SessionIds.redact(cursor) + "' was not returned by this store ("
                        + keys.shards() + " shards)");
            }
            after = cursor.substring(colon + 1);
        }
        int startShard = shard;
        String startAfter = after;
        return call("list", () -> {
            List<Session> page = new ArrayList<>(Math.min(limit, 1024));
            int s = startShard;
            String a = startAfter;
            while (s < keys.shards()) {
                int want = limit - page.size();
                List<?> reply = (List<?>) Script.LIST.run(redis, List.of(keys.idsKey(s)),
                        List.of(a, Integer.toString(want), keys.sessionKeyPrefix(s)));
                int read = Integer.parseInt((String) reply.get(0));
                for (Object fields : reply.subList(2, reply.size())) {
                    page.add(SessionCodec.decode(fields));
                }
                if (read < want) {
                    s++;
                    a = "";
                } else {
                    a = (String) reply.get(1);
                }
                if (page.size() >= limit) {
                    break;
                }
            }
            return new SessionPage(page, s < keys.shards() ? s + ":" + a : null);
        });
    }

    @Override
    public long count() {
        return call("count", () -> {
            List<Response<Long>> counts = new ArrayList<>(keys.shards());
            try (AbstractPipeline pipeline = redis.pipelined()) {
                for (int shard = 0; shard < keys.shards(); shard++) {
                    counts.add(pipeline.zcard(keys.idsKey(shard)));
                }
                pipeline.sync();
            }
            long total = 0;
            for (Response<Long> c : counts) {
                total += c.get();
            }
            return total;
        });
    }

    /** Closes the client if the store built it. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true) && ownsClient) {
            redis.close();
        }
    }

    /**
     * Runs a script once per shard in one pipeline (one round trip per Redis node). If any server answers
     * NOSCRIPT, the batch is sent once more with the sources ({@code EVAL}): the scripts only read, or
     * remove index members that point at nothing, so running one twice is harmless.
     */
    private List<Object> onEveryShard(Script script, IntFunction<List<String>> keysOf,
                                      IntFunction<List<String>> argsOf) {
        try {
            return pipelined(script, keysOf, argsOf, false);
        } catch (JedisDataException e) {
            if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
                throw e;
            }
            return pipelined(script, keysOf, argsOf, true);
        }
    }

    private List<Object> pipelined(Script script, IntFunction<List<String>> keysOf,
                                   IntFunction<List<String>> argsOf, boolean withSource) {
        List<Response<Object>> responses = new ArrayList<>(keys.shards());
        try (AbstractPipeline pipeline = redis.pipelined()) {
            for (int shard = 0; shard < keys.shards(); shard++) {
                responses.add(withSource
                        ? pipeline.eval(script.source(), keysOf.apply(shard), argsOf.apply(shard))
                        : pipeline.evalsha(script.sha1(), keysOf.apply(shard), argsOf.apply(shard)));
            }
            pipeline.sync();
        }
        List<Object> replies = new ArrayList<>(responses.size());
        for (Response<Object> r : responses) {
            replies.add(r.get());
        }
        return replies;
    }

    /**
     * The TTL of a session hash: its expiry plus the grace period, during which sweepers can still claim it
     * and deliver its EXPIRED event before Redis drops it; and never less than the grace period from now,
     * so a session stored already expired (a clock behind, a test) stays until a sweeper takes it.
     */
    private long ttlAt(Session session) {
        long floor = System.currentTimeMillis() + graceMillis;
        long wanted = saturatedAdd(session.expiresAt().toEpochMilli(), graceMillis);
        return Math.min(Math.max(wanted, floor), MAX_TTL_AT);
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private <T> T call(String operation, Supplier<T> body) {
        if (closed.get()) {
            throw new IllegalStateException("RedisSessionStore is closed");
        }
        try {
            return body.get();
        } catch (JedisDataException e) {
            if (isTransient(e)) {
                throw new StoreUnavailableException("Redis could not serve " + operation + ": " + e.getMessage(), e);
            }
            throw new SessionStoreException("Redis refused " + operation + ": " + e.getMessage(), e);
        } catch (JedisException e) {
            // Connection refused or reset, a timeout, an exhausted pool wait, cluster retries used up.
            throw new StoreUnavailableException("Redis unavailable during " + operation + ": " + e.getMessage(), e);
        }
    }

    private static boolean isTransient(JedisDataException e) {
        String m = e.getMessage();
        if (m == null) {
            return false;
        }
        for (String code : TRANSIENT_ERRORS) {
            if (m.startsWith(code)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Builds a {@link RedisSessionStore}. Exactly one of {@link #client}, {@link #uri} and
     * {@link #clusterNodes} must be given; every other setting has the default listed on its method.
     */
    public static final class Builder {
        private UnifiedJedis client;
        private URI uri;
        private Set<HostAndPort> clusterNodes;
        private String keyPrefix = "usher:session:";
        private int shards = 16;
        private Duration expiryGrace = Duration.ofHours(1);
        private Duration timeout = Duration.ofSeconds(2);
        private int maxConnections = 32;

        private Builder() {
        }

        /**
         * A client the host owns and closes: a {@link RedisClient} (or {@code JedisPooled}) for one server,
         * a {@link RedisClusterClient} (or {@code JedisCluster}) for a cluster. Its own timeouts and pool
         * settings apply; {@link #timeout} and {@link #maxConnections} do not.
         */
        public Builder client(UnifiedJedis client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * One Redis server, as {@code redis://[user:password@]host:port[/database]} ({@code rediss://} for
         * TLS); the store builds a pooled client and closes it with itself.
         */
        public Builder uri(String uri) {
            Objects.requireNonNull(uri, "uri");
            URI parsed = URI.create(uri);
            if (!JedisURIHelper.isValid(parsed) || !JedisURIHelper.isRedisScheme(parsed)) {
                throw new IllegalArgumentException("uri must be redis://host:port or rediss://host:port but was '"
                        + uri + "'");
            }
            this.uri = parsed;
            return this;
        }

        /** A Redis Cluster reached through any of these nodes; the store builds the client and closes it. */
        public Builder clusterNodes(Collection<HostAndPort> nodes) {
            Objects.requireNonNull(nodes, "nodes");
            if (nodes.isEmpty()) {
                throw new IllegalArgumentException("clusterNodes must name at least one node");
            }
            this.clusterNodes = Set.copyOf(nodes);
            return this;
        }

        /**
         * Prefix of every key (default {@code "usher:session:"}); give each application sharing a Redis its
         * own. It must not contain braces: the store places the hash tags itself.
         */
        public Builder keyPrefix(String keyPrefix) {
            Objects.requireNonNull(keyPrefix, "keyPrefix");
            if (keyPrefix.indexOf('{') >= 0 || keyPrefix.indexOf('}') >= 0) {
                throw new IllegalArgumentException("keyPrefix must not contain '{' or '}' but was '" + keyPrefix + "'");
            }
            this.keyPrefix = keyPrefix;
            return this;
        }

        /**
         * How many hash tags sessions are spread over (default 16, at most 16384). On a cluster each shard is
         * one slot, so use several times the number of masters. Sweeping and listing visit every shard. It
         * decides where each session lives: never change it for existing data.
         */
        public Builder shards(int shards) {
            if (shards < 1 || shards > 16384) {
                throw new IllegalArgumentException("shards must be between 1 and 16384 but was " + shards);
            }
            this.shards = shards;
            return this;
        }

        /**
         * How long Redis keeps a session hash past its expiry (default 1 hour), so a sweeper can still claim
         * it and deliver its EXPIRED event. Sweeping, not the TTL, ends sessions; the TTL only bounds memory
         * when no sweeper runs at all.
         */
        public Builder expiryGrace(Duration grace) {
            Objects.requireNonNull(grace, "expiryGrace");
            if (grace.isNegative() || grace.toMillis() < 1000) {
                throw new IllegalArgumentException("expiryGrace must be at least 1 s but was " + grace);
            }
            this.expiryGrace = grace;
            return this;
        }

        /**
         * Bound on each network step of an owned client (default 2 s): the connect timeout, the socket read
         * timeout, the wait for a pooled connection and, on a cluster, the time spent on retries and
         * redirections. A call that must wait for a connection and then for a silent server can take about
         * twice as long before it fails.
         */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.toMillis() < 1 || timeout.toMillis() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("timeout must be between 1 ms and " + Integer.MAX_VALUE
                        + " ms but was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** Most connections of an owned client, per Redis node (default 32). */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1 but was " + max);
            }
            this.maxConnections = max;
            return this;
        }

        public RedisSessionStore build() {
            int given = (client != null ? 1 : 0) + (uri != null ? 1 : 0) + (clusterNodes != null ? 1 : 0);
            if (given != 1) {
                throw new IllegalStateException("exactly one of client, uri and clusterNodes must be set, but "
                        + given + " were");
            }
            if (client != null) {
                return new RedisSessionStore(this, client, false);
            }
            return new RedisSessionStore(this, uri != null ? standaloneClient() : clusterClient(), true);
        }

        private UnifiedJedis standaloneClient() {
            DefaultJedisClientConfig.Builder config = clientConfig()
                    .user(JedisURIHelper.getUser(uri))
                    .password(JedisURIHelper.getPassword(uri))
                    .database(JedisURIHelper.getDBIndex(uri))
                    .ssl(JedisURIHelper.isRedisSSLScheme(uri));
            return RedisClient.builder()
                    .hostAndPort(JedisURIHelper.getHostAndPort(uri))
                    .clientConfig(config.build())
                    .poolConfig(poolConfig())
                    .build();
        }

        private UnifiedJedis clusterClient() {
            return RedisClusterClient.builder()
                    .nodes(clusterNodes)
                    .clientConfig(clientConfig().build())
                    .poolConfig(poolConfig())
                    .maxTotalRetriesDuration(timeout)
                    .build();
        }

        private DefaultJedisClientConfig.Builder clientConfig() {
            int millis = (int) timeout.toMillis();
            return DefaultJedisClientConfig.builder()
                    .connectionTimeoutMillis(millis)
                    .socketTimeoutMillis(millis)
                    .clientName("usher-session-store");
        }

        private GenericObjectPoolConfig<Connection> poolConfig() {
            GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
            pool.setMaxTotal(maxConnections);
            pool.setMaxIdle(maxConnections);
            pool.setBlockWhenExhausted(true);
            // Unbounded by default in commons-pool: a burst beyond maxConnections would hang callers forever.
            pool.setMaxWait(timeout);
            pool.setJmxEnabled(false);
            return pool;
        }
    }
}
