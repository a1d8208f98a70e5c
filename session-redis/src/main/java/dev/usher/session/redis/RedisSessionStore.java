package dev.usher.session.redis;

import dev.usher.session.Durations;
import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import dev.usher.session.StoreUnavailableException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisClusterClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.providers.ConnectionProvider;
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
    // About 400 lines only because this entry point carries its public Builder (about 200 lines of documented
    // settings). The store's methods delegate: RedisCalls (circuit, failures), KeyLayout (keys and shards),
    // Script (the Lua scripts and their loading), SessionWrites (one session's scripts and TTLs),
    // OwnerLimitedInserts, Capacity (maxSessions), ExpiryClaims (the sweep), ShardScans (per-shard reads),
    // OwnedClients (clients built from the builder's settings).

    private final UnifiedJedis redis;
    private final boolean ownsClient;
    private final KeyLayout keys;
    private final Capacity capacity;
    private final RedisCalls calls;
    private final SessionWrites writes;
    private final OwnerLimitedInserts ownerLimited;
    private final ExpiryClaims expiry;
    private final ShardScans scans;

    /** {@code provider}: the connection pools of an owned client, or null for a host's client. */
    RedisSessionStore(Builder b, UnifiedJedis redis, boolean ownsClient, ConnectionProvider provider) {
        this.redis = redis;
        this.ownsClient = ownsClient;
        this.keys = new KeyLayout(b.keyPrefix, b.shards);
        long graceMillis = b.expiryGrace.toMillis();
        this.capacity = new Capacity(keys.capacityKey(), b.maxSessions, graceMillis, b.keyPrefix);
        this.writes = new SessionWrites(redis, keys, graceMillis);
        this.ownerLimited = new OwnerLimitedInserts(redis, keys, capacity, writes);
        this.expiry = new ExpiryClaims(redis, keys, capacity, writes, b.expiryClaimTimeout.toMillis());
        this.scans = new ShardScans(redis, keys);
        this.calls = new RedisCalls(b.keyPrefix, () -> {
            try {
                scans.count();
            } catch (RuntimeException e) {
                // Pooled connections from before a restart are dead; without this, each later probe would
                // borrow one of them and fail again, one stale connection at a time.
                OwnedClients.dropIdleConnections(provider);
                throw e;
            }
        });
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Optional<Session> load(String id) {
        return calls.call("load", () -> Optional.ofNullable(SessionCodec.decode(redis.hgetAll(keys.sessionKey(id)))));
    }

    @Override
    public boolean insert(Session session) {
        return calls.call("insert", () -> {
            capacity.reserve(redis, session);
            if (writes.insert(session)) {
                return true;
            }
            capacity.release(redis, List.of(session.id()));
            return false;
        });
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
        return calls.call("insertWithinOwnerLimit", () -> ownerLimited.insert(session, limit, now));
    }

    /**
     * The owner-limited insert under the new id (the session leaving {@code oldId} neither counts nor is
     * trimmed), then the removal of the old id at {@code expectedVersion}, undone as in {@link #changeId}
     * if that fails. Sessions trimmed by the first step stay ended either way and are reported.
     */
    @Override
    public OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                      OwnerLimit limit, Instant now) {
        return calls.call("changeIdWithinOwnerLimit",
                () -> ownerLimited.changeId(oldId, renamed, expectedVersion, limit, now));
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        return calls.call("replace", () -> writes.replace(session, expectedVersion));
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
        return calls.call("changeId", () -> {
            capacity.hold(redis, renamed);
            if (!writes.insert(renamed)) {
                capacity.release(redis, List.of(renamed.id()));
                return false;
            }
            return writes.retireOldId(oldId, expectedVersion, renamed, capacity);
        });
    }

    @Override
    public Optional<Session> remove(String id) {
        return calls.call("remove", () -> {
            Session removed = writes.remove(id, null);
            if (removed != null) {
                capacity.release(redis, List.of(id));
            }
            return Optional.ofNullable(removed);
        });
    }

    /** Claims expired sessions, one script per shard (see {@link ExpiryClaims}). */
    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        if (limit <= 0) {
            throw new IllegalArgumentException("limit must be positive but was " + limit);
        }
        return calls.call("removeExpired", () -> expiry.claim(now, limit));
    }

    /** One script per shard the ids fall into. */
    @Override
    public void acknowledgeExpired(Collection<String> ids) {
        Map<Integer, List<String>> byShard = expiry.byShard(ids);
        calls.call("acknowledgeExpired", () -> {
            expiry.acknowledge(byShard);
            return null;
        });
    }

    @Override
    public List<Session> findByOwner(String owner) {
        Objects.requireNonNull(owner, "owner");
        return calls.call("findByOwner", () -> scans.findByOwner(owner));
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
        ShardScans.Position start = scans.position(cursor);
        return calls.call("list", () -> scans.list(start, limit));
    }

    @Override
    public long count() {
        return calls.call("count", scans::count);
    }

    /** Stops the probe and closes the client if the store built it. Idempotent. */
    @Override
    public void close() {
        if (calls.closeOnce() && ownsClient) {
            redis.close();
        }
    }

    /**
     * Builds a {@link RedisSessionStore}. Exactly one of {@link #client}, {@link #uri} and
     * {@link #clusterNodes} must be given; every other setting has the default listed on its method.
     */
    public static final class Builder {
        UnifiedJedis client;
        URI uri;
        Set<HostAndPort> clusterNodes;
        String keyPrefix = "usher:session:";
        int shards = 16;
        Duration expiryGrace = Duration.ofHours(1);
        Duration expiryClaimTimeout = Duration.ofMinutes(1);
        int maxSessions;
        Duration timeout = Duration.ofSeconds(2);
        int maxConnections = 32;
        boolean clientSettingsGiven;

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
                throw new IllegalArgumentException("clusterNodes must name at least one node but was empty");
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
            this.expiryGrace = Durations.requireAtLeast("expiryGrace", grace, Duration.ofSeconds(1));
            return this;
        }

        /**
         * How long a sweeper's claim on expired sessions holds before another instance's sweeper takes it over
         * and delivers their EXPIRED events itself (default 1 minute, at least 1 s). A sweeper acknowledges
         * its claims right after delivering a batch's events, so this must exceed the time listeners take for
         * one batch; a sweeper that dies mid-sweep delays its sessions' events by about this much.
         */
        public Builder expiryClaimTimeout(Duration timeout) {
            this.expiryClaimTimeout = Durations.requireAtLeast("expiryClaimTimeout", timeout, Duration.ofSeconds(1));
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
            return uri != null ? OwnedClients.standalone(this) : OwnedClients.cluster(this);
        }
    }
}
