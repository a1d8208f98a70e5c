package dev.usher.session.redis;

import dev.usher.session.SessionIds;
import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionIds;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import dev.usher.session.Durations;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreCircuit;
import dev.usher.session.StoreUnavailableException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.apache.commons.pool2.impl.GenericObjectPool;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisClusterOperationException;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.providers.ClusterConnectionProvider;
import redis.clients.jedis.providers.ConnectionProvider;
import redis.clients.jedis.providers.PooledConnectionProvider;
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
 * exception as its cause. From then on every call fails at once (no wait for a connection or a timeout)
 * while a background probe (thread {@code usher-probe-…}, stopped by {@link #close()}) tries Redis every
 * 200 ms; the first call after the probe reached it again goes through, on the same store object.
 *
 * <p>Round trips: {@link #load}, {@link #insert}, {@link #replace} (so every touch and update) and
 * {@link #remove} are one each: an {@code HGETALL}, or one {@code EVALSHA} of a Lua script that checks,
 * writes the session hash and updates its index entries atomically. {@link #changeId} is two (three when it
 * must undo); {@link #insertWithinOwnerLimit} is one (a second with {@linkplain Builder#maxSessions
 * maxSessions}, which adds one to every insert and removal). {@link #removeExpired} and {@link #list} are one
 * per shard visited, {@link #acknowledgeExpired} one per shard acknowledged; {@link #count} and
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
    private final long claimTimeoutMillis;
    private final Capacity capacity;
    /** How often a Redis that is down is probed: recovery is seen within this plus one round trip. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(200);
    /** Server errors that also mean the whole server (or cluster) is not serving, so calls should not wait on it. */
    private static final List<String> OUTAGE_ERRORS = List.of("LOADING", "CLUSTERDOWN", "MASTERDOWN");

    private final StoreCircuit circuit;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** {@code provider}: the connection pools of an owned client, or null for a host's client. */
    private RedisSessionStore(Builder b, UnifiedJedis redis, boolean ownsClient, ConnectionProvider provider) {
        this.redis = redis;
        this.ownsClient = ownsClient;
        this.keys = new KeyLayout(b.keyPrefix, b.shards);
        this.graceMillis = b.expiryGrace.toMillis();
        this.claimTimeoutMillis = b.expiryClaimTimeout.toMillis();
        this.capacity = new Capacity(keys.capacityKey(), b.maxSessions, graceMillis, b.keyPrefix);
        this.circuit = StoreCircuit.create("Redis session store " + b.keyPrefix, PROBE_INTERVAL, () -> {
            try {
                countNow();
            } catch (RuntimeException e) {
                // Pooled connections from before a restart are dead; without this, each later probe would
                // borrow one of them and fail again, one stale connection at a time.
                dropIdleConnections(provider);
                throw e;
            }
        });
    }

    private static void dropIdleConnections(ConnectionProvider provider) {
        if (provider == null) {
            return;
        }
        for (Object pool : provider.getConnectionMap().values()) {
            if (pool instanceof GenericObjectPool<?> p) {
                p.clear();
            }
        }
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
        return call("insert", () -> {
            capacity.reserve(redis, session);
            if (insertNow(session)) {
                return true;
            }
            capacity.release(redis, List.of(session.id()));
            return false;
        });
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

    /** Anonymous sessions anywhere; an owner's sessions in the owner's shard (see {@link KeyLayout}). */
    @Override
    public String newSessionId(String owner) {
        return owner == null ? SessionStore.super.newSessionId(null) : keys.idInShard(keys.shardOf(owner));
    }

    /**
     * One script on the owner's slot counts the owner's live sessions, writes and trims (see
     * {@link Script#OWNER_LIMITED_INSERT}). The session's id must come from {@link #newSessionId}, which
     * places it in the owner's shard.
     */
    @Override
    public OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        return call("insertWithinOwnerLimit", () -> {
            capacity.reserve(redis, session);
            OwnerLimitedWrite write = ownerLimitedInsert(session, "", limit, now);
            if (write.outcome() != OwnerLimitedWrite.Outcome.WRITTEN) {
                capacity.release(redis, List.of(session.id()));
            }
            capacity.release(redis, idsOf(write.endedOldest()));
            return write;
        });
    }

    /**
     * The owner-limited insert under the new id (the session leaving {@code oldId} neither counts nor is
     * trimmed), then the removal of the old id at {@code expectedVersion}, undone as in {@link #changeId}
     * if that fails. Sessions trimmed by the first step stay ended either way and are reported.
     */
    @Override
    public OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                      OwnerLimit limit, Instant now) {
        return call("changeIdWithinOwnerLimit", () -> {
            capacity.hold(redis, renamed);
            OwnerLimitedWrite inserted = ownerLimitedInsert(renamed, oldId, limit, now);
            capacity.release(redis, idsOf(inserted.endedOldest()));
            if (inserted.outcome() != OwnerLimitedWrite.Outcome.WRITTEN) {
                capacity.release(redis, List.of(renamed.id()));
                return inserted;
            }
            if (removeNow(oldId, expectedVersion) != null) {
                capacity.release(redis, List.of(oldId));
                return inserted;
            }
            removeNow(renamed.id(), renamed.version());
            capacity.release(redis, List.of(renamed.id()));
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, inserted.endedOldest());
        });
    }

    private OwnerLimitedWrite ownerLimitedInsert(Session session, String retiringId, OwnerLimit limit, Instant now) {
        int shard = keys.shardOf(session.id());
        if (session.owner() == null || shard != keys.shardOf(session.owner())) {
            throw new IllegalArgumentException("session " + SessionIds.redact(session.id()) + " of owner '" + session.owner()
                    + "' has an id outside the owner's shard; ids for owned sessions come from newSessionId(owner)");
        }
        List<String> k = List.of(keys.sessionKey(session.id()), keys.expiryKey(shard), keys.idsKey(shard),
                keys.ownerKey(shard, session.owner()));
        List<String> fields = SessionCodec.fields(session);
        List<String> args = new ArrayList<>(8 + fields.size());
        args.add(session.id());
        args.add(Long.toString(session.expiresAt().toEpochMilli()));
        args.add(Long.toString(ttlAt(session)));
        args.add(Long.toString(now.toEpochMilli()));
        args.add(Integer.toString(limit.max()));
        args.add(limit.policy().name());
        args.add(retiringId);
        args.add(keys.sessionKeyPrefix(shard));
        args.addAll(fields);
        List<?> reply = (List<?>) Script.OWNER_LIMITED_INSERT.run(redis, k, args);
        long outcome = (Long) reply.get(0);
        if (outcome == 0L) {
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, List.of());
        }
        if (outcome == 2L) {
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.OWNER_AT_LIMIT, List.of());
        }
        List<Session> ended = new ArrayList<>(reply.size() - 1);
        for (Object fieldsOfEnded : reply.subList(1, reply.size())) {
            ended.add(SessionCodec.decode(fieldsOfEnded));
        }
        return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, ended);
    }

    private static List<String> idsOf(List<Session> sessions) {
        return sessions.stream().map(Session::id).toList();
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
            capacity.hold(redis, renamed);
            if (!insertNow(renamed)) {
                capacity.release(redis, List.of(renamed.id()));
                return false;
            }
            if (removeNow(oldId, expectedVersion) != null) {
                capacity.release(redis, List.of(oldId));
                return true;
            }
            removeNow(renamed.id(), renamed.version());
            capacity.release(redis, List.of(renamed.id()));
            return false;
        });
    }

    @Override
    public Optional<Session> remove(String id) {
        return call("remove", () -> {
            Session removed = removeNow(id, null);
            if (removed != null) {
                capacity.release(redis, List.of(id));
            }
            return Optional.ofNullable(removed);
        });
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
     * instances mostly work on different shards. Each shard's claim is one script: it takes claims past their
     * deadline and expired sessions, and moves them to the shard's claims in one atomic step, so two sweepers
     * never both get a session while its claim holds. A claim lives until {@link #acknowledgeExpired}; if the
     * claimer dies or its connection drops first (even after Redis ran the script and the reply was lost), the
     * claim is taken over after the {@linkplain Builder#expiryClaimTimeout claim timeout}.
     */
    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive but was " + limit);
        }
        return call("removeExpired", () -> {
            List<Session> claimed = new ArrayList<>();
            int first = ThreadLocalRandom.current().nextInt(keys.shards());
            long deadline = saturatedAdd(now.toEpochMilli(), claimTimeoutMillis);
            long claimTtlAt = Math.min(Math.max(saturatedAdd(deadline, graceMillis),
                    System.currentTimeMillis() + graceMillis), MAX_TTL_AT);
            List<String> fixedArgs = List.of(Long.toString(now.toEpochMilli()), "", "", "", "",
                    Long.toString(deadline), Long.toString(claimTtlAt));
            for (int i = 0; i < keys.shards() && claimed.size() < limit; i++) {
                int shard = (first + i) % keys.shards();
                List<String> args = new ArrayList<>(fixedArgs);
                args.set(1, Integer.toString(limit - claimed.size()));
                args.set(2, keys.sessionKeyPrefix(shard));
                args.set(3, keys.ownerKeyPrefix(shard));
                args.set(4, keys.claimKeyPrefix(shard));
                List<?> reply = (List<?>) Script.REMOVE_EXPIRED.run(redis,
                        List.of(keys.expiryKey(shard), keys.idsKey(shard), keys.claimsKey(shard)), args);
                for (Object fields : reply) {
                    claimed.add(SessionCodec.decode(fields));
                }
            }
            capacity.release(redis, idsOf(claimed));
            return claimed;
        });
    }

    /** One script per shard the ids fall into. */
    @Override
    public void acknowledgeExpired(Collection<String> ids) {
        Map<Integer, List<String>> byShard = new HashMap<>();
        for (String id : ids) {
            int shard = keys.shardOf(id);
            byShard.computeIfAbsent(shard, s -> {
                List<String> args = new ArrayList<>();
                args.add(keys.claimKeyPrefix(s));
                return args;
            }).add(id);
        }
        call("acknowledgeExpired", () -> {
            byShard.forEach((shard, args) -> Script.ACKNOWLEDGE.run(redis, List.of(keys.claimsKey(shard)), args));
            return null;
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
        return call("count", this::countNow);
    }

    private long countNow() {
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
    }

    /** Stops the probe and closes the client if the store built it. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            circuit.close();
            if (ownsClient) {
                redis.close();
            }
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
        circuit.throwIfOpen();
        try {
            return body.get();
        } catch (JedisDataException e) {
            if (startsWithAny(e, TRANSIENT_ERRORS)) {
                if (startsWithAny(e, OUTAGE_ERRORS)) {
                    circuit.trip(e);
                }
                throw new StoreUnavailableException("Redis could not serve " + operation + ": " + e.getMessage(), e,
                        PROBE_INTERVAL);
            }
            throw new SessionStoreException("Redis refused " + operation + ": " + e.getMessage(), e);
        } catch (JedisException e) {
            // Connection refused or reset, a timeout, cluster retries used up: Redis is down, so open the
            // circuit. An exhausted pool wait is load, not an outage: that call fails alone.
            if (e instanceof JedisConnectionException || e instanceof JedisClusterOperationException) {
                circuit.trip(e);
            }
            throw new StoreUnavailableException("Redis unavailable during " + operation + ": " + e.getMessage(), e,
                    PROBE_INTERVAL);
        }
    }

    private static boolean startsWithAny(JedisDataException e, List<String> codes) {
        String m = e.getMessage();
        if (m == null) {
            return false;
        }
        for (String code : codes) {
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
        private Duration expiryClaimTimeout = Duration.ofMinutes(1);
        private int maxSessions;
        private Duration timeout = Duration.ofSeconds(2);
        private int maxConnections = 32;
        private boolean clientSettingsGiven;

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
            URI parsed;
            try {
                parsed = URI.create(uri);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("uri must be redis://host:port or rediss://host:port but was '"
                        + redactUri(uri) + "' (" + e.getMessage().replace(uri, "…") + ")", e);
            }
            if (!JedisURIHelper.isValid(parsed) || !JedisURIHelper.isRedisScheme(parsed)) {
                throw new IllegalArgumentException("uri must be redis://host:port or rediss://host:port but was '"
                        + redactUri(uri) + "'");
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
                throw new IllegalArgumentException("expiryGrace must be at least 1s but was " + Durations.format(grace));
            }
            this.expiryGrace = grace;
            return this;
        }

        /**
         * How long a sweeper's claim on expired sessions holds before another instance's sweeper takes it over
         * and delivers their EXPIRED events itself (default 1 minute, at least 1 s). A sweeper acknowledges
         * its claims right after delivering a batch's events, so this must exceed the time listeners take for
         * one batch; a sweeper that dies mid-sweep delays its sessions' events by about this much.
         */
        public Builder expiryClaimTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "expiryClaimTimeout");
            if (timeout.toMillis() < 1000) {
                throw new IllegalArgumentException("expiryClaimTimeout must be at least 1 s but was " + timeout);
            }
            this.expiryClaimTimeout = timeout;
            return this;
        }

        /**
         * Most sessions the store holds (default: no limit). An insert past it throws
         * {@code SessionLimitException} ({@code limitName() == "maxSessions"}) and writes nothing, as
         * {@code InMemorySessionStore} with {@code whenFull(REJECT)} does. Sessions count until removed or
         * claimed by a sweeper, expired ones not yet swept included. The count is one script on a key of its
         * own ({@code <prefix>{capacity}:places}, one slot), which every instance's inserts go through, so the
         * bound holds across instances; it costs one more round trip per insert, removal and sweep batch. A
         * process killed between taking a place and writing its session leaves the place taken until the
         * session's absolute expiry plus {@link #expiryGrace}: the bound errs towards refusing.
         */
        public Builder maxSessions(int maxSessions) {
            if (maxSessions < 1) {
                throw new IllegalArgumentException("maxSessions must be at least 1 but was " + maxSessions);
            }
            this.maxSessions = maxSessions;
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
                throw new IllegalArgumentException("timeout must be between 1ms and " + Integer.MAX_VALUE
                        + "ms but was " + Durations.format(timeout));
            }
            this.timeout = timeout;
            this.clientSettingsGiven = true;
            return this;
        }

        /** Most connections of an owned client, per Redis node (default 32). */
        public Builder maxConnections(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1 but was " + max);
            }
            this.maxConnections = max;
            this.clientSettingsGiven = true;
            return this;
        }

        /** The URI without its password (user-info is masked). */
        private static String redactUri(String uri) {
            return uri.replaceAll("//[^/@]*@", "//***@");
        }

        public RedisSessionStore build() {
            int given = (client != null ? 1 : 0) + (uri != null ? 1 : 0) + (clusterNodes != null ? 1 : 0);
            if (given != 1) {
                throw new IllegalStateException("exactly one of client, uri and clusterNodes must be set, but "
                        + given + " were");
            }
            if (client != null) {
                if (clientSettingsGiven) {
                    throw new IllegalStateException("timeout and maxConnections apply to a client the store builds"
                            + " (uri or clusterNodes), not to a host's client, which keeps its own settings");
                }
                return new RedisSessionStore(this, client, false, null);
            }
            if (uri != null) {
                DefaultJedisClientConfig config = clientConfig()
                        .user(JedisURIHelper.getUser(uri))
                        .password(JedisURIHelper.getPassword(uri))
                        .database(JedisURIHelper.getDBIndex(uri))
                        .ssl(JedisURIHelper.isRedisSSLScheme(uri))
                        .build();
                HostAndPort node = JedisURIHelper.getHostAndPort(uri);
                PooledConnectionProvider provider = new PooledConnectionProvider(node, config, poolConfig());
                UnifiedJedis standalone = RedisClient.builder()
                        .hostAndPort(node)
                        .clientConfig(config)
                        .connectionProvider(provider)
                        .build();
                return new RedisSessionStore(this, standalone, true, provider);
            }
            DefaultJedisClientConfig config = clientConfig().build();
            ClusterConnectionProvider provider = new ClusterConnectionProvider(clusterNodes, config, poolConfig());
            UnifiedJedis cluster = RedisClusterClient.builder()
                    .nodes(clusterNodes)
                    .clientConfig(config)
                    .connectionProvider(provider)
                    .maxTotalRetriesDuration(timeout)
                    .build();
            return new RedisSessionStore(this, cluster, true, provider);
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
