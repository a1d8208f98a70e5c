package dev.usher.session.jdbc;

import dev.usher.session.SessionIds;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitPolicy;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Durations;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionIds;
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
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * {@code version} column, so it needs no read first and no transaction. The writes that must count first
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

    /** The SQL engines this store speaks. */
    public enum Dialect {
        /** SQLite 3.35 or later (for {@code RETURNING}), as bundled with sqlite-jdbc. */
        SQLITE,
        /** PostgreSQL 9.5 or later (for {@code ON CONFLICT} and {@code SKIP LOCKED}); tested on 15. */
        POSTGRESQL
    }

    private static final Logger log = LoggerFactory.getLogger(JdbcSessionStore.class);
    /** Longest id and owner: both are btree keys, and 256 characters stay under PostgreSQL's key size limit. */
    private static final int MAX_ID_LENGTH = 256;
    private static final int MAX_OWNER_LENGTH = 256;
    private static final int SQLITE_BUSY = 5;
    private static final int SQLITE_LOCKED = 6;
    private static final int SQLITE_CONSTRAINT = 19;
    /** Ids per acknowledging DELETE: well under SQLite's 999 bound parameters. */
    private static final int ACKNOWLEDGE_CHUNK = 500;
    private static final int SQLITE_IOERR = 10;
    private static final int SQLITE_CANTOPEN = 14;
    /** How often a store that is down is probed: recovery is seen within this plus one round trip. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(200);

    private final Dialect dialect;
    private final String table;
    private final Duration timeout;
    private final Duration expiryClaimTimeout;
    /** 0 for no limit. */
    private final int maxSessions;
    private final SqlStatements sql;
    private final DataSource writer;
    private final DataSource reader;
    private final List<HikariDataSource> ownedPools;
    private final StoreCircuit circuit;
    private final AtomicBoolean closed = new AtomicBoolean();

    private JdbcSessionStore(Dialect dialect, String table, Duration timeout, DataSource writer, DataSource reader,
            List<HikariDataSource> ownedPools, Duration expiryClaimTimeout, int maxSessions, Duration probeInterval,
            StoreCircuit.Probe probe) {
        this.dialect = dialect;
        this.table = table;
        this.timeout = timeout;
        this.expiryClaimTimeout = expiryClaimTimeout;
        this.maxSessions = maxSessions;
        this.sql = new SqlStatements(dialect, table);
        this.writer = writer;
        this.reader = reader;
        this.ownedPools = ownedPools;
        this.circuit = StoreCircuit.create("session store " + table + " (" + dialect + ")", probeInterval, probe);
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

    /** Checks the engine, then creates or migrates the schema (or only checks the table, when the host owns it). */
    private void start(boolean createSchema) {
        run("start", writer, c -> {
            if (dialect == Dialect.SQLITE) {
                checkSqlite(c);
            }
            if (createSchema) {
                Schema.migrate(c, dialect, table);
            } else {
                try (Statement st = c.createStatement()) {
                    st.executeQuery(sql.probe).close();
                } catch (SQLException e) {
                    if (isUnavailable(e)) {
                        throw e;
                    }
                    throw new SessionStoreException("table " + table + " is missing or lacks the expected columns ("
                            + e.getMessage() + "); with createSchema(false) the host applies "
                            + Schema.resource(dialect, 1) + " to " + Schema.resource(dialect, Schema.VERSION)
                            + " first", e);
                }
            }
            return null;
        });
    }

    private void checkSqlite(Connection c) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        int major = meta.getDatabaseMajorVersion();
        int minor = meta.getDatabaseMinorVersion();
        if (major < 3 || (major == 3 && minor < 35)) {
            throw new SessionStoreException("SQLite " + meta.getDatabaseProductVersion()
                    + " is too old: JdbcSessionStore needs 3.35 or later (RETURNING)");
        }
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
            if (rs.next() && !"wal".equalsIgnoreCase(rs.getString(1))) {
                log.warn("SQLite session store {} runs in journal_mode={}, not WAL: readers will wait for writers",
                        table, rs.getString(1));
            }
        }
    }

    /** The engine this store talks to. */
    public Dialect dialect() {
        return dialect;
    }

    /** The table holding the sessions. */
    public String tableName() {
        return table;
    }

    @Override
    public Optional<Session> load(String id) {
        if (!storable(id, MAX_ID_LENGTH)) {
            return Optional.empty();
        }
        return run("load", reader, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.load)) {
                ps.setString(1, id);
                return first(ps);
            }
        });
    }

    /**
     * One {@code INSERT … ON CONFLICT DO NOTHING}; with {@linkplain Builder#maxSessions maxSessions}, a
     * transaction that counts the sessions first, serialised with every other instance's inserts (the
     * capacity advisory lock on PostgreSQL, the write lock on SQLite).
     */
    @Override
    public boolean insert(Session session) {
        checkStorable(session.id(), session.owner());
        if (maxSessions == 0) {
            return run("insert", writer, c -> insertRow(c, session));
        }
        return run("insert", writer, c -> inTransaction(c, null, () -> {
            checkCapacity(c);
            return insertRow(c, session);
        }, inserted -> inserted));
    }

    private boolean insertRow(Connection c, Session session) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql.insert)) {
            ps.setString(1, session.id());
            bindFields(ps, 2, session);
            return ps.executeUpdate() == 1;
        }
    }

    /** Throws past maxSessions; call inside a transaction that holds the capacity lock. */
    private void checkCapacity(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.count)) {
            rs.next();
            if (rs.getLong(1) >= maxSessions) {
                throw new SessionLimitException("session store " + table + " is full: maxSessions=" + maxSessions,
                        "maxSessions", maxSessions);
            }
        }
    }

    @Override
    public boolean replace(Session session, long expectedVersion) {
        checkStorable(session.id(), session.owner());
        return run("replace", writer, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.replace)) {
                int next = bindFields(ps, 1, session);
                ps.setString(next, session.id());
                ps.setLong(next + 1, expectedVersion);
                return ps.executeUpdate() == 1;
            }
        });
    }

    @Override
    public boolean changeId(String oldId, Session renamed, long expectedVersion) {
        checkStorable(renamed.id(), renamed.owner());
        if (!storable(oldId, MAX_ID_LENGTH)) {
            return false;
        }
        return run("changeId", writer, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.changeId)) {
                ps.setString(1, renamed.id());
                int next = bindFields(ps, 2, renamed);
                ps.setString(next, oldId);
                ps.setLong(next + 1, expectedVersion);
                return ps.executeUpdate() == 1;
            } catch (SQLException e) {
                // One statement moves the row; if the new id is taken the key constraint refuses it whole.
                if (isDuplicateKey(e)) {
                    return false;
                }
                throw e;
            }
        });
    }

    /**
     * One transaction serialised on the owner: PostgreSQL takes a transaction-scoped advisory lock on
     * (table, owner), SQLite its write lock ({@code BEGIN IMMEDIATE}); then it counts the owner's live
     * sessions, writes, and removes the oldest beyond the limit before it commits. Every instance's
     * owner-limited writes for one owner take the same lock, so the decision is atomic across instances.
     */
    @Override
    public OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        checkStorable(session.id(), session.owner());
        return ownerLimited("insertWithinOwnerLimit", session, null, limit, now, c -> {
            if (maxSessions > 0) {
                checkCapacity(c);
            }
            return insertRow(c, session);
        });
    }

    @Override
    public OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                                      OwnerLimit limit, Instant now) {
        checkStorable(renamed.id(), renamed.owner());
        if (!storable(oldId, MAX_ID_LENGTH)) {
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, List.of());
        }
        return ownerLimited("changeIdWithinOwnerLimit", renamed, oldId, limit, now, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.changeId)) {
                ps.setString(1, renamed.id());
                int next = bindFields(ps, 2, renamed);
                ps.setString(next, oldId);
                ps.setLong(next + 1, expectedVersion);
                return ps.executeUpdate() == 1;
            } catch (SQLException e) {
                if (isDuplicateKey(e)) {
                    return false;
                }
                throw e;
            }
        });
    }

    private OwnerLimitedWrite ownerLimited(String operation, Session fresh, String retiringId, OwnerLimit limit,
                                           Instant now, Work<Boolean> write) {
        long nowMillis = millis("now", now);
        return run(operation, writer, c -> inTransaction(c, fresh.owner(), () -> {
            List<String> live = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql.liveOfOwner)) {
                ps.setString(1, fresh.owner());
                ps.setLong(2, nowMillis);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String id = rs.getString(1);
                        if (!id.equals(fresh.id()) && !id.equals(retiringId)) {
                            live.add(id);
                        }
                    }
                }
            }
            if (limit.policy() == OwnerLimitPolicy.REJECT && live.size() >= limit.max()) {
                return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.OWNER_AT_LIMIT, List.of());
            }
            if (!write.run(c)) {
                return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, List.of());
            }
            List<Session> ended = new ArrayList<>();
            // liveOfOwner is ordered oldest first (created_at, id), the order every instance trims in.
            for (String oldest : live.subList(0, Math.max(0, live.size() + 1 - limit.max()))) {
                try (PreparedStatement ps = c.prepareStatement(sql.remove)) {
                    ps.setString(1, oldest);
                    first(ps).ifPresent(ended::add);
                }
            }
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, ended);
        }, result -> result.outcome() == OwnerLimitedWrite.Outcome.WRITTEN));
    }

    /**
     * One transaction serialised with every instance's inserts (when maxSessions is set) and with every
     * owner-limited write for {@code owner} (when not null); on PostgreSQL the advisory locks are always
     * taken in that order, so two such transactions never wait for each other in a cycle.
     */
    private <T> T inTransaction(Connection c, String owner, SerialisedTransaction.Body<T> body, Predicate<T> commit)
            throws SQLException {
        return SerialisedTransaction.run(c, dialect, locking -> {
            if (maxSessions > 0) {
                SerialisedTransaction.advisoryLock(locking, ~table.hashCode(), 0);
            }
            if (owner != null) {
                SerialisedTransaction.advisoryLock(locking, table.hashCode(), owner.hashCode());
            }
        }, body, commit);
    }

    @Override
    public Optional<Session> remove(String id) {
        if (!storable(id, MAX_ID_LENGTH)) {
            return Optional.empty();
        }
        return run("remove", writer, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.remove)) {
                ps.setString(1, id);
                return first(ps);
            }
        });
    }

    /**
     * Claims expired sessions by stamping {@code claimed_until} (now plus the claim timeout) on their rows,
     * in one statement; the rows are deleted by {@link #acknowledgeExpired} once the events are delivered.
     * Until then the claimed rows are invisible to every other method, and a claim whose deadline passed is
     * claimed again by the next sweep on any instance.
     */
    @Override
    public List<Session> removeExpired(Instant now, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
        }
        long nowMillis = millis("now", now);
        long deadline = nowMillis + expiryClaimTimeout.toMillis();
        return run("removeExpired", writer, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.claimExpired)) {
                ps.setLong(1, deadline);
                ps.setLong(2, nowMillis);
                ps.setLong(3, nowMillis);
                ps.setInt(4, limit);
                return all(ps);
            }
        });
    }

    @Override
    public void acknowledgeExpired(Collection<String> ids) {
        List<String> storable = ids.stream().filter(id -> storable(id, MAX_ID_LENGTH)).toList();
        for (int from = 0; from < storable.size(); from += ACKNOWLEDGE_CHUNK) {
            List<String> chunk = storable.subList(from, Math.min(storable.size(), from + ACKNOWLEDGE_CHUNK));
            String statement = sql.acknowledgePrefix + "?, ".repeat(chunk.size() - 1) + "?)";
            run("acknowledgeExpired", writer, c -> {
                try (PreparedStatement ps = c.prepareStatement(statement)) {
                    for (int i = 0; i < chunk.size(); i++) {
                        ps.setString(i + 1, chunk.get(i));
                    }
                    return ps.executeUpdate();
                }
            });
        }
    }

    @Override
    public List<Session> findByOwner(String owner) {
        Objects.requireNonNull(owner, "owner");
        if (!storable(owner, MAX_OWNER_LENGTH)) {
            return List.of();
        }
        return run("findByOwner", reader, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.findByOwner)) {
                ps.setString(1, owner);
                return all(ps);
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
        List<Session> rows = run("list", reader, c -> {
            try (PreparedStatement ps = c.prepareStatement(after == null ? sql.listFirst : sql.listAfter)) {
                int i = 1;
                if (after != null) {
                    ps.setString(i++, after);
                }
                ps.setInt(i, fetch);
                return all(ps);
            }
        });
        if (rows.size() <= limit) {
            return new SessionPage(rows, null);
        }
        List<Session> page = rows.subList(0, limit);
        return new SessionPage(page, encodeCursor(page.get(limit - 1).id()));
    }

    @Override
    public long count() {
        return run("count", reader, c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.count)) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /** Stops the probe and shuts down the pools this store built; a host's {@code DataSource} is left open. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            circuit.close();
            ownedPools.forEach(HikariDataSource::close);
        }
    }

    @Override
    public String toString() {
        return "JdbcSessionStore[" + dialect + ", table=" + table + "]";
    }

    // ---- rows ---------------------------------------------------------------------------------------

    /** Binds owner … attributes (the order of {@link SqlStatements}' SET list) from {@code index}; returns the next index. */
    private int bindFields(PreparedStatement ps, int index, Session s) throws SQLException {
        int i = index;
        ps.setString(i++, s.owner());
        ps.setLong(i++, millis("createdAt", s.createdAt()));
        ps.setLong(i++, millis("lastAccessedAt", s.lastAccessedAt()));
        ps.setLong(i++, s.idleTimeout().toMillis());
        ps.setLong(i++, millis("absoluteExpiry", s.absoluteExpiry()));
        ps.setLong(i++, expiresAtMillis(s));
        ps.setLong(i++, s.version());
        ps.setString(i++, JsonAttributes.encode(s.attributes()));
        return i;
    }

    private Optional<Session> first(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(session(rs)) : Optional.empty();
        }
    }

    private List<Session> all(PreparedStatement ps) throws SQLException {
        List<Session> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(session(rs));
            }
        }
        return out;
    }

    private Session session(ResultSet rs) throws SQLException {
        String id = rs.getString(1);
        try {
            return new Session(id, rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)),
                    Instant.ofEpochMilli(rs.getLong(4)), Duration.ofMillis(rs.getLong(5)),
                    Instant.ofEpochMilli(rs.getLong(6)), rs.getLong(8), JsonAttributes.decode(rs.getString(9)));
        } catch (IllegalArgumentException e) {
            throw new SessionStoreException("row of session " + SessionIds.redact(id) + " in table " + table
                    + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static long millis(String name, Instant instant) {
        try {
            return instant.toEpochMilli();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(name + " " + instant + " is outside the range of epoch milliseconds", e);
        }
    }

    private static long expiresAtMillis(Session s) {
        try {
            return s.expiresAt().toEpochMilli();
        } catch (ArithmeticException | DateTimeException e) {
            throw new IllegalArgumentException("expiry of session " + SessionIds.redact(s.id())
                    + " is outside the range of epoch milliseconds", e);
        }
    }

    // ---- input --------------------------------------------------------------------------------------

    /**
     * Ids and owners are index keys and PostgreSQL text cannot hold NUL, so both are limited to what both
     * engines store alike: at most 256 characters of well-formed UTF-16 without NUL. Writes of anything else
     * are refused; reads of it find nothing, as nothing like it can have been stored.
     */
    private static void checkStorable(String id, String owner) {
        checkText("session id", id, MAX_ID_LENGTH);
        if (owner != null) {
            checkText("owner", owner, MAX_OWNER_LENGTH);
        }
    }

    private static void checkText(String what, String s, int maxLength) {
        if (s.isEmpty() || s.length() > maxLength) {
            throw new IllegalArgumentException(what + " must be 1 to " + maxLength + " characters but was "
                    + s.length());
        }
        int bad = firstUnstorable(s);
        if (bad >= 0) {
            throw new IllegalArgumentException(what + " contains " + (s.charAt(bad) == 0 ? "a NUL character"
                    : "an unpaired surrogate") + " at index " + bad + ", which the database cannot store");
        }
    }

    private static boolean storable(String s, int maxLength) {
        return s != null && !s.isEmpty() && s.length() <= maxLength && firstUnstorable(s) < 0;
    }

    private static int firstUnstorable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) {
                return i;
            }
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
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

    // ---- execution and failures ---------------------------------------------------------------------

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private <T> T run(String operation, DataSource source, Work<T> work) {
        if (closed.get()) {
            throw new IllegalStateException(this + " is closed");
        }
        circuit.throwIfOpen();
        try (Connection c = source.getConnection()) {
            return work.run(c);
        } catch (SQLException e) {
            if (isConnectionLevel(e) && circuit.trip(e)) {
                // Connections opened before the outage are dead after a restart: drop them now (those in use as
                // they come back), so the first call after recovery gets a fresh one instead of failing again.
                ownedPools.forEach(pool -> pool.getHikariPoolMXBean().softEvictConnections());
            }
            throw failure(operation, e);
        }
    }

    private SessionStoreException failure(String operation, SQLException e) {
        String what = "session store " + table + " (" + dialect + ") could not " + operation;
        if (isUnavailable(e)) {
            return new StoreUnavailableException(what + ": the database did not answer within " + Durations.format(timeout)
                    + " or is unreachable (" + e.getMessage() + ")", e, circuit.probeInterval());
        }
        return new SessionStoreException(what + ": " + e.getMessage(), e);
    }

    /**
     * Whether the failure says the database itself cannot be reached (refused, reset, timed out, shut down,
     * a SQLite file that cannot be opened or read), which opens the circuit. A busy SQLite file or a pool
     * whose connections are all in use is load, not an outage: those fail alone, and so do constraint
     * violations and bad input.
     */
    private boolean isConnectionLevel(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLNonTransientConnectionException || t instanceof SQLRecoverableException
                    || t instanceof IOException) {
                return true;
            }
            if (t instanceof SQLException s) {
                String state = s.getSQLState();
                if (dialect == Dialect.POSTGRESQL && state != null && (state.startsWith("08")
                        || state.equals("57P01") || state.equals("57P02") || state.equals("57P03"))) {
                    return true;
                }
                int primary = s.getErrorCode() & 0xff;
                if (dialect == Dialect.SQLITE && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Connection trouble, timeouts, a server shutting down, or SQLite still busy after its busy timeout. */
    private boolean isUnavailable(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
                    || t instanceof SQLRecoverableException || t instanceof SQLTimeoutException
                    || t instanceof IOException) {
                return true;
            }
            if (t instanceof SQLException s) {
                String state = s.getSQLState();
                // 08: connection exception; 57P0x: admin/crash shutdown, cannot connect now; 53300: too many connections.
                if (state != null && (state.startsWith("08") || state.startsWith("57P") || state.equals("53300"))) {
                    return true;
                }
                int primary = s.getErrorCode() & 0xff;
                if (dialect == Dialect.SQLITE && (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean isDuplicateKey(SQLException e) {
        return dialect == Dialect.POSTGRESQL
                ? "23505".equals(e.getSQLState())
                : (e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT;
    }

    /**
     * Builds a {@link JdbcSessionStore}. Give either {@link #jdbcUrl} (the store builds and owns its pools)
     * or {@link #dataSource} (the host's, never closed by the store); every other setting has a default
     * listed on its method.
     */
    public static final class Builder {
        private static final Pattern TABLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,39}");

        private DataSource dataSource;
        private String jdbcUrl;
        private String username;
        private String password;
        private Dialect dialect;
        private String tableName = Schema.DEFAULT_TABLE;
        private boolean createSchema = true;
        private Duration timeout = Duration.ofSeconds(5);
        private int maximumPoolSize;
        private boolean synchronousCommit = true;
        private Duration expiryClaimTimeout = Duration.ofMinutes(1);
        private int maxSessions;

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
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.toMillis() < 250) {
                throw new IllegalArgumentException("timeout must be at least 250ms but was " + Durations.format(timeout));
            }
            this.timeout = timeout;
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
            Objects.requireNonNull(timeout, "expiryClaimTimeout");
            if (timeout.toMillis() < 1000) {
                throw new IllegalArgumentException("expiryClaimTimeout must be at least 1 s but was " + timeout);
            }
            this.expiryClaimTimeout = timeout;
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
            JdbcSessionStore store = dataSource != null ? onHostDataSource() : withOwnedPools();
            try {
                store.start(createSchema);
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
            return store;
        }

        private JdbcSessionStore onHostDataSource() {
            Dialect d = dialect;
            if (d == null) {
                d = detect(dataSource);
            }
            DataSource ds = dataSource;
            int seconds = probeSeconds();
            return new JdbcSessionStore(d, tableName, timeout, ds, ds, List.of(), expiryClaimTimeout, maxSessions,
                    PROBE_INTERVAL, () -> {
                try (Connection c = ds.getConnection()) {
                    if (!c.isValid(seconds)) {
                        throw new SQLException("connection not valid");
                    }
                }
            });
        }

        private Dialect detect(DataSource ds) {
            String product;
            try (Connection c = ds.getConnection()) {
                product = c.getMetaData().getDatabaseProductName();
            } catch (SQLException e) {
                throw new StoreUnavailableException("could not connect to detect the session store's dialect: "
                        + e.getMessage(), e);
            }
            if ("SQLite".equalsIgnoreCase(product)) {
                return Dialect.SQLITE;
            }
            if ("PostgreSQL".equalsIgnoreCase(product)) {
                return Dialect.POSTGRESQL;
            }
            throw new IllegalArgumentException("database '" + product + "' is not supported; JdbcSessionStore speaks "
                    + "SQLite and PostgreSQL (set dialect() if the driver names it differently)");
        }

        private JdbcSessionStore withOwnedPools() {
            Dialect d = dialect != null ? dialect
                    : jdbcUrl.toLowerCase(Locale.ROOT).startsWith("jdbc:sqlite:") ? Dialect.SQLITE : Dialect.POSTGRESQL;
            JdbcChecks.requireDriver(d);
            if (d == Dialect.SQLITE) {
                JdbcChecks.checkSqliteFile(jdbcUrl);
            }
            JdbcChecks.checkConnects(jdbcUrl, driverProperties(d, timeoutSeconds()), d, timeout, PROBE_INTERVAL);
            String poolName = "usher-session-" + tableName;
            Properties probeProperties = driverProperties(d, probeSeconds());
            StoreCircuit.Probe probe = () -> {
                try (Connection c = DriverManager.getConnection(jdbcUrl, probeProperties); Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
            };
            if (d == Dialect.POSTGRESQL) {
                HikariConfig config = poolConfig(poolName, maximumPoolSize == 0 ? 10 : maximumPoolSize);
                // No idle floor: while the circuit is open nobody waits for a connection, so the pool stops
                // retrying the dead server and the first call after recovery connects at once, without waiting
                // out the pool's growing retry back-off.
                config.setMinimumIdle(0);
                config.setDataSourceProperties(driverProperties(d, timeoutSeconds()));
                HikariDataSource pool = new HikariDataSource(config);
                return new JdbcSessionStore(d, tableName, timeout, pool, pool, List.of(pool), expiryClaimTimeout,
                        maxSessions, PROBE_INTERVAL, probe);
            }
            // One writer, since SQLite serialises writers anyway: queueing for it in the pool is fair and
            // bounded by the timeout, where several writer connections would spin in busy handlers.
            HikariDataSource writerPool = new HikariDataSource(sqliteConfig(poolConfig(poolName + "-writer", 1)));
            HikariDataSource readerPool;
            try {
                readerPool = new HikariDataSource(sqliteConfig(
                        poolConfig(poolName + "-reader", maximumPoolSize == 0 ? 4 : maximumPoolSize)));
            } catch (RuntimeException e) {
                writerPool.close();
                throw e;
            }
            return new JdbcSessionStore(d, tableName, timeout, writerPool, readerPool, List.of(writerPool, readerPool),
                    expiryClaimTimeout, maxSessions, PROBE_INTERVAL, probe);
        }

        private int timeoutSeconds() {
            return (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
        }

        /** The probe's own bound: short, so a frozen server is retried often and its return is seen soon. */
        private int probeSeconds() {
            return Math.min(2, timeoutSeconds());
        }

        private Properties driverProperties(Dialect d, int seconds) {
            Properties p = new Properties();
            if (username != null) {
                p.setProperty("user", username);
                if (password != null) {
                    p.setProperty("password", password);
                }
            }
            if (d == Dialect.POSTGRESQL) {
                p.setProperty("connectTimeout", Integer.toString(seconds));
                p.setProperty("loginTimeout", Integer.toString(seconds));
                p.setProperty("socketTimeout", Integer.toString(seconds));
                p.setProperty("tcpKeepAlive", "true");
                p.setProperty("ApplicationName", "usher-session");
                if (!synchronousCommit) {
                    p.setProperty("options", "-c synchronous_commit=off");
                }
            }
            return p;
        }

        private HikariConfig poolConfig(String name, int size) {
            HikariConfig config = new HikariConfig();
            config.setPoolName(name);
            config.setJdbcUrl(jdbcUrl);
            if (username != null) {
                config.setUsername(username);
                config.setPassword(password);
            }
            config.setMaximumPoolSize(size);
            config.setMinimumIdle(1);
            config.setConnectionTimeout(timeout.toMillis());
            config.setValidationTimeout(Math.max(250, timeout.toMillis() / 2));
            // Connect lazily: start() reaches the database next and reports a failure as StoreUnavailableException.
            config.setInitializationFailTimeout(-1);
            return config;
        }

        private HikariConfig sqliteConfig(HikariConfig config) {
            config.addDataSourceProperty("journal_mode", "WAL");
            config.addDataSourceProperty("synchronous", "NORMAL");
            config.addDataSourceProperty("busy_timeout", Long.toString(timeout.toMillis()));
            // A transaction that read first and then writes must upgrade its lock, and SQLite answers a lost
            // upgrade with "database is locked" at once, whatever the busy timeout. IMMEDIATE takes the write
            // lock at BEGIN instead, where the busy timeout applies. The store's own writes are single
            // autocommit statements, which start without a read snapshot and so wait the same way.
            config.addDataSourceProperty("transaction_mode", "IMMEDIATE");
            return config;
        }
    }
}
