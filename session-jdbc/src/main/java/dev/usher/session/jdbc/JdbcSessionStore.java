package dev.usher.session.jdbc;

import dev.usher.session.Durations;
import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionIds;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStore;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreCircuit;
import dev.usher.session.StoreUnavailableException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * A {@link SessionStore} in a SQL database: SQLite (a local file in WAL mode, the embedded default) or
 * PostgreSQL (shared by several instances of the host).
 *
 * <p>Thread-safe; share one per database and table. Every method blocks on JDBC I/O, bounded by the
 * configured {@linkplain Builder#timeout timeout}, and holds no monitor meanwhile, so it is safe on virtual
 * threads. A store built from a {@linkplain Builder#jdbcUrl JDBC URL} owns its HikariCP pools (threads
 * named {@code usher-session-<table>…}) and {@link #close()} shuts them down; a store built on a host's
 * {@linkplain Builder#dataSource DataSource} never closes it.
 *
 * <p>Each session is one row; every plain write is a single statement that compares and sets the
 * {@code version} column, so it needs no read first and no transaction (a SQLite {@link #replace} that
 * finds no row with its owner-keeping statement runs the full one next; each is a whole compare-and-set). The writes that must count first
 * (the owner limit, {@linkplain Builder#maxSessions maxSessions}) are one short transaction each, serialised
 * across instances on what they count. Sweeping claims expired rows ({@code claimed_until}) and deletes them
 * once their events are acknowledged, so a sweeper that dies mid-sweep loses no event. On SQLite the store keeps one
 * writer connection and a pool of readers (WAL lets them read while it writes), begins its write
 * transactions with {@code BEGIN IMMEDIATE} and waits for a busy file up to the timeout, so "database is
 * locked" does not reach the caller. On PostgreSQL, sweepers on several instances claim disjoint sets of
 * expired sessions with {@code FOR UPDATE SKIP LOCKED}. Unreachable databases and timeouts surface as
 * {@link StoreUnavailableException}, other failures as {@link SessionStoreException}, both with the
 * driver's exception as the cause. Once the database is seen unreachable, every call fails at once (a
 * {@link StoreCircuit}) until a probe thread ({@code usher-probe-…}, stopped by {@link #close()}) reaches
 * it again, every 200 ms, on a connection of its own.
 *
 * <pre>{@code
 * SessionStore store = JdbcSessionStore.sqlite(Path.of("/var/lib/app/sessions.db"));
 * SessionStore shared = JdbcSessionStore.builder()
 *         .jdbcUrl("jdbc:postgresql://db:5432/app")
 *         .credentials("app", secret)
 *         .build();
 * }</pre>
 */
public final class JdbcSessionStore implements SessionStore {
    // Past 400 lines only because this entry point carries its public Builder (about 170 lines of documented
    // settings). The store's methods check their input and delegate: Database (connections, circuit,
    // failures), SqlStatements (each engine's SQL), SessionRows (rows to sessions), LimitedWrites (row writes,
    // maxSessions and owner limits), ExpiryClaims (the sweep), Schema (DDL and start-up checks),
    // DatabaseSetup (pools and drivers from the builder's settings), StatementCache (SQLite statements).

    /** The SQL engines this store speaks. */
    public enum Dialect {
        /** SQLite 3.35 or later (for {@code RETURNING}), as bundled with sqlite-jdbc. */
        SQLITE,
        /** PostgreSQL 9.5 or later (for {@code ON CONFLICT} and {@code SKIP LOCKED}); tested on 15. */
        POSTGRESQL
    }


    private final Database db;
    private final SqlStatements sql;
    private final SessionRows rows;
    private final LimitedWrites writes;
    private final ExpiryClaims expiry;

    private JdbcSessionStore(Database db, Duration expiryClaimTimeout, int maxSessions) {
        this.db = db;
        this.sql = new SqlStatements(db.dialect, db.table);
        this.rows = new SessionRows(db.table);
        this.writes = new LimitedWrites(db, sql, rows, maxSessions);
        this.expiry = new ExpiryClaims(db, sql, rows, expiryClaimTimeout);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The embedded default: a store in the SQLite file {@code file}, created if absent (with its parent
     * directories), every other setting default. Needs {@code org.xerial:sqlite-jdbc} on the class path.
     *
     * @throws IllegalStateException     if the SQLite driver is missing
     * @throws SessionStoreException     if the file is a directory, not a database, or cannot be created
     */
    public static JdbcSessionStore sqlite(Path file) {
        Path absolute = file.toAbsolutePath();
        Path parent = absolute.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            try {
                Files.createDirectories(parent);
            } catch (IOException e) {
                throw new SessionStoreException("could not create the directory " + parent + " of the SQLite session store "
                        + absolute + ": " + e, e);
            }
        }
        return builder().jdbcUrl("jdbc:sqlite:" + absolute).build();
    }

    /** The engine this store talks to. */
    public Dialect dialect() {
        return db.dialect;
    }

    /** The table holding the sessions. */
    public String tableName() {
        return db.table;
    }

    @Override
    public Optional<Session> load(String id) {
        if (!StorableText.isStorableId(id)) {
            return Optional.empty();
        }
        return db.read("load", c -> db.statements.use(c, sql.load, ps -> {
            ps.setString(1, id);
            return rows.first(ps);
        }));
    }

    /**
     * One {@code INSERT … ON CONFLICT DO NOTHING}; with {@linkplain Builder#maxSessions maxSessions}, a
     * transaction that counts the sessions first, serialised with every other instance's inserts (the
     * capacity advisory lock on PostgreSQL, the write lock on SQLite).
     */
    @Override
    public boolean insert(Session session) {
        StorableText.check(session.id(), session.owner());
        return writes.insert(session);
    }

    /**
     * One {@code UPDATE … WHERE id = ? AND version = ?}. On SQLite, which rewrites the owner index entry
     * whenever the statement names the owner column, even with the same value, the common write (owner
     * unchanged) first runs a variant that leaves the owner out and also requires the stored owner to be the
     * session's; only when that finds no row (a version conflict, a session gone, or a new owner) does the full
     * statement follow, on the same connection. Each statement is a compare-and-set of its own, so either
     * writes the whole session or nothing.
     */
    @Override
    public boolean replace(Session session, long expectedVersion) {
        StorableText.check(session.id(), session.owner());
        return db.write("replace", c -> sql.replaceSameOwner != null
                && replaceRow(c, sql.replaceSameOwner, true, session, expectedVersion)
                || replaceRow(c, sql.replace, false, session, expectedVersion));
    }

    /** Runs one of the replace statements: {@code ownerKept} leaves the owner out of SET and into WHERE. */
    private boolean replaceRow(Connection c, String statement, boolean ownerKept, Session session, long expectedVersion)
            throws SQLException {
        return db.statements.use(c, statement, ps -> {
            int next = ownerKept ? rows.bindFieldsAfterOwner(ps, 1, session) : rows.bindFields(ps, 1, session);
            ps.setString(next, session.id());
            ps.setLong(next + 1, expectedVersion);
            if (ownerKept) {
                ps.setString(next + 2, session.owner());
            }
            return ps.executeUpdate() == 1;
        });
    }

    @Override
    public boolean changeId(String oldId, Session renamed, long expectedVersion) {
        StorableText.check(renamed.id(), renamed.owner());
        if (!StorableText.isStorableId(oldId)) {
            return false;
        }
        return writes.changeId(oldId, renamed, expectedVersion);
    }

    /**
     * One transaction serialised on the owner: PostgreSQL takes a transaction-scoped advisory lock on
     * (table, owner), SQLite its write lock ({@code BEGIN IMMEDIATE}); then it counts the owner's live
     * sessions, writes, and removes the oldest beyond the limit before it commits. Every instance's
     * owner-limited writes for one owner take the same lock, so the decision is atomic across instances.
     */
    @Override
    public OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        StorableText.check(session.id(), session.owner());
        return writes.insertWithinOwnerLimit(session, limit, now);
    }

    @Override
    public OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                      OwnerLimit limit, Instant now) {
        StorableText.check(renamed.id(), renamed.owner());
        if (!StorableText.isStorableId(oldId)) {
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, List.of());
        }
        return writes.changeIdWithinOwnerLimit(oldId, renamed, expectedVersion, limit, now);
    }

    @Override
    public Optional<Session> remove(String id) {
        if (!StorableText.isStorableId(id)) {
            return Optional.empty();
        }
        return db.write("remove", c -> db.statements.use(c, sql.remove, ps -> {
            ps.setString(1, id);
            return rows.first(ps);
        }));
    }

    /**
     * Claims expired sessions by stamping {@code claimed_until} (now plus the claim timeout) on their rows,
     * in one statement; the rows are deleted by {@link #acknowledgeExpired} once the events are delivered.
     * Until then the claimed rows are invisible to every other method, and a claim whose deadline passed is
     * claimed again by the next sweep on any instance.
     */
    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        return expiry.claim(now, limit);
    }

    @Override
    public void acknowledgeExpired(Collection<String> ids) {
        expiry.acknowledge(ids);
    }

    @Override
    public List<Session> findByOwner(String owner) {
        Objects.requireNonNull(owner, "owner");
        if (!StorableText.isStorableOwner(owner)) {
            return List.of();
        }
        return db.read("findByOwner", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.findByOwner)) {
                ps.setString(1, owner);
                return rows.all(ps);
            }
        });
    }

    /**
     * Pages in id order (keyset pagination: {@code WHERE id > ?}), so sessions added or removed between
     * pages never shift the others. The cursor is the last id of the page, base64url-encoded.
     */
    @Override
    public SessionPage list(String cursor, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
        }
        String after = cursor == null ? null : decodeCursor(cursor);
        // One row more than asked tells whether another page follows, so the last page says so itself.
        int fetch = limit == Integer.MAX_VALUE ? limit : limit + 1;
        List<Session> found = db.read("list", c -> {
            try (PreparedStatement ps = c.prepareStatement(after == null ? sql.listFirst : sql.listAfter)) {
                int i = 1;
                if (after != null) {
                    ps.setString(i++, after);
                }
                ps.setInt(i, fetch);
                return rows.all(ps);
            }
        });
        if (found.size() <= limit) {
            return new SessionPage(found, null);
        }
        List<Session> page = found.subList(0, limit);
        return new SessionPage(page, encodeCursor(page.get(limit - 1).id()));
    }

    @Override
    public long count() {
        return db.read("count", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.count)) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /** Stops the probe and shuts down the pools this store built; a host's {@code DataSource} is left open. Idempotent. */
    @Override
    public void close() {
        db.close();
    }

    @Override
    public String toString() {
        return db.toString();
    }

    private static String encodeCursor(String id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(id.getBytes(StandardCharsets.UTF_8));
    }

    private static String decodeCursor(String cursor) {
        try {
            return new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            // A cursor encodes a session id: never echo it whole.
            throw new IllegalArgumentException("cursor '" + SessionIds.redact(cursor)
                    + "' was not issued by this store's list()", e);
        }
    }

    /**
     * Builds a {@link JdbcSessionStore}. Give either {@link #jdbcUrl} (the store builds and owns its pools)
     * or {@link #dataSource} (the host's, never closed by the store); every other setting has a default
     * listed on its method.
     */
    public static final class Builder {
        private static final Pattern TABLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,39}");

        DataSource dataSource;
        String jdbcUrl;
        String username;
        String password;
        Dialect dialect;
        String tableName = Schema.DEFAULT_TABLE;
        boolean createSchema = true;
        Duration timeout = Duration.ofSeconds(5);
        int maximumPoolSize;
        boolean synchronousCommit = true;
        Duration expiryClaimTimeout = Duration.ofMinutes(1);
        int maxSessions;

        private Builder() {
        }

        /**
         * The database, as a JDBC URL ({@code jdbc:sqlite:/path/sessions.db} or
         * {@code jdbc:postgresql://host:5432/db}); the store builds HikariCP pools for it and closes them in
         * {@link JdbcSessionStore#close()}. Parameters in the URL override the store's driver settings.
         */
        public Builder jdbcUrl(String jdbcUrl) {
            Objects.requireNonNull(jdbcUrl, "jdbcUrl");
            String lower = jdbcUrl.toLowerCase(Locale.ROOT);
            if (!lower.startsWith("jdbc:sqlite:") && !lower.startsWith("jdbc:postgresql:")) {
                throw new IllegalArgumentException("jdbcUrl must start with jdbc:sqlite: or jdbc:postgresql: but was "
                        + jdbcUrl.substring(0, Math.min(jdbcUrl.length(), 24)) + "…");
            }
            if (lower.startsWith("jdbc:sqlite:") && (lower.contains(":memory:") || lower.contains("mode=memory"))) {
                throw new IllegalArgumentException("jdbcUrl names an in-memory SQLite database, which each pooled"
                        + " connection would see empty; use a file, or InMemorySessionStore");
            }
            this.jdbcUrl = jdbcUrl;
            return this;
        }

        /** The database as the host's own pool; the store borrows connections and never closes it. */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            return this;
        }

        /** User and password for a {@link #jdbcUrl} (default: none, or as given in the URL). */
        public Builder credentials(String username, String password) {
            this.username = Objects.requireNonNull(username, "username");
            this.password = password;
            return this;
        }

        /** The engine (default: detected from the URL or the {@code DataSource}'s connection metadata). */
        public Builder dialect(Dialect dialect) {
            this.dialect = Objects.requireNonNull(dialect, "dialect");
            return this;
        }

        /**
         * The sessions table (default {@code usher_session}); the schema-version table is
         * {@code <table>_schema_version}. Lower-case letters, digits and underscores, at most 40 characters.
         */
        public Builder tableName(String tableName) {
            Objects.requireNonNull(tableName, "tableName");
            if (!TABLE_NAME.matcher(tableName).matches()) {
                throw new IllegalArgumentException("tableName must match " + TABLE_NAME.pattern() + " but was '"
                        + tableName + "'");
            }
            this.tableName = tableName;
            return this;
        }

        /**
         * Whether the store creates and migrates its tables on start (default true). With false, the host
         * applies the DDL resources itself and the store only checks that the table has the expected columns.
         */
        public Builder createSchema(boolean createSchema) {
            this.createSchema = createSchema;
            return this;
        }

        /**
         * How long a call may wait for the database (default 5 s, at least 250 ms): for a pooled connection,
         * for a new connection, for a server's answer (PostgreSQL socket timeout) and for a busy SQLite file
         * ({@code busy_timeout}). Past it the call fails with {@link StoreUnavailableException}. Applies to
         * the pools built from a {@link #jdbcUrl}; a host's {@code DataSource} keeps its own timeouts.
         */
        public Builder timeout(Duration timeout) {
            this.timeout = Durations.requireAtLeast("timeout", timeout, Duration.ofMillis(250));
            return this;
        }

        /**
         * Connections in a pool built from a {@link #jdbcUrl} (default 10 on PostgreSQL; on SQLite 4 readers,
         * and always exactly one writer, as SQLite writes one at a time).
         */
        public Builder maximumPoolSize(int size) {
            if (size < 1) {
                throw new IllegalArgumentException("maximumPoolSize must be at least 1 but was " + size);
            }
            this.maximumPoolSize = size;
            return this;
        }

        /**
         * PostgreSQL only: whether a write returns after its commit is flushed to disk (default true). With
         * false ({@code synchronous_commit=off} on the store's connections), a write returns before the flush,
         * many times faster on slow disks; a crash of the database server (not of the host) may then lose
         * the last fraction of a second of session writes, but never breaks atomicity or a compare-and-set.
         * SQLite always runs {@code synchronous=NORMAL} in WAL mode, which survives a crash of the process.
         */
        public Builder synchronousCommit(boolean synchronousCommit) {
            this.synchronousCommit = synchronousCommit;
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
         * Most sessions the table holds (default: no limit). An insert past it throws
         * {@link SessionLimitException} ({@code limitName() == "maxSessions"}) and writes nothing, as
         * {@code InMemorySessionStore} with {@code whenFull(REJECT)} does. Sessions count until removed or
         * claimed by a sweeper, expired ones not yet swept included. The count and the insert are one
         * transaction that every instance's inserts are serialised on (an advisory lock on PostgreSQL, the
         * write lock on SQLite), so the bound holds across instances; the price is a {@code COUNT(*)} per
         * insert (an index scan, growing with the table) and inserts that run one at a time.
         */
        public Builder maxSessions(int maxSessions) {
            if (maxSessions < 1) {
                throw new IllegalArgumentException("maxSessions must be at least 1 but was " + maxSessions);
            }
            this.maxSessions = maxSessions;
            return this;
        }

        /**
         * Connects, detects the dialect, and creates or checks the schema.
         *
         * @throws IllegalStateException      if neither or both of {@code jdbcUrl} and {@code dataSource} were set
         * @throws StoreUnavailableException  if the database cannot be reached within the timeout
         * @throws SessionStoreException      if the schema cannot be created, or is missing with {@code createSchema(false)}
         */
        public JdbcSessionStore build() {
            if ((jdbcUrl == null) == (dataSource == null)) {
                throw new IllegalStateException("set exactly one of jdbcUrl and dataSource, but "
                        + (jdbcUrl == null ? "neither was" : "both were") + " set");
            }
            if (dataSource != null && (username != null || maximumPoolSize != 0 || !synchronousCommit)) {
                throw new IllegalStateException("credentials, maximumPoolSize and synchronousCommit apply to a jdbcUrl,"
                        + " not to a host's dataSource");
            }
            Database db = dataSource != null ? DatabaseSetup.onHostDataSource(this) : DatabaseSetup.withOwnedPools(this);
            JdbcSessionStore store = new JdbcSessionStore(db, expiryClaimTimeout, maxSessions);
            try {
                Schema.start(db, store.sql.probe, createSchema);
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
            return store;
        }
    }
}
