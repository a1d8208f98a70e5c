package dev.usher.benchmarks;

import com.zaxxer.hikari.HikariDataSource;
import dev.usher.session.SessionManager;
import dev.usher.session.jdbc.JdbcSessionStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.jdbc.JdbcIndexedSessionRepository;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Per-request session work on a relational database, SQLite (a file in WAL mode) or PostgreSQL, each
 * through HikariCP: Usher's {@code SessionManager} on {@code JdbcSessionStore} (on PostgreSQL on the same
 * pool; on SQLite on the same file and settings, with the store's own writer and reader pools, as it runs
 * embedded), Spring Session's {@code JdbcIndexedSessionRepository} (findById + save, configured as
 * Spring Boot configures it: a REQUIRES_NEW transaction per call) and the raw statements a store cannot go
 * below: a select by primary key (a touch that need not write) and a single-statement upsert (an update).
 */
@State(Scope.Benchmark)
public class JdbcSessionBenchmark {
    /** Fewer than elsewhere: every one is a durable insert, and the set-up must stay short. */
    static final int SESSIONS = 1 << 8;
    /**
     * Tables of this process only: several people may run the suite against one PostgreSQL at once, and
     * each run creates its tables fresh and drops them at the end.
     */
    static final String SUFFIX = "_" + ProcessHandle.current().pid();
    static final String SPRING_TABLE = "BENCH_SPRING_SESSION" + SUFFIX;
    static final String USHER_TABLE = "bench_usher_session" + SUFFIX;
    static final String RAW_TABLE = "bench_raw_session" + SUFFIX;
    private static final String[] VALUES = {"a", "b", "c", "d", "e", "f", "g", "h"};

    @Param({"sqlite", "postgresql"})
    public String engine;

    /** False only to count statements (see {@link Servers#postgres}); benchmarks run as a host would. */
    boolean serverPrepared = true;
    private HikariDataSource dataSource;
    private SessionManager usher;
    private final String[] usherIds = new String[SESSIONS];
    /** The session as the last write left it: what a caller holds after its touch (the gate does). */
    private final dev.usher.session.Session[] usherHeld = new dev.usher.session.Session[SESSIONS];
    private SessionRepository<Session> spring;
    private final String[] springIds = new String[SESSIONS];
    private final String[] rawIds = new String[SESSIONS];

    @Setup(Level.Trial)
    public void setUp() throws SQLException {
        dataSource = dataSource(engine, serverPrepared);
        JdbcSessionStore.Builder store = JdbcSessionStore.builder().tableName(USHER_TABLE);
        if (engine.equals("sqlite")) {
            store.jdbcUrl(dataSource.getJdbcUrl());
        } else {
            store.dataSource(dataSource);
        }
        usher = SessionManager.builder(store.build())
                .idleTimeout(Duration.ofMinutes(30))
                .sweepInterval(Duration.ZERO)
                .build();
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("DELETE FROM " + USHER_TABLE);
        }
        for (int i = 0; i < SESSIONS; i++) {
            usherHeld[i] = usher.create("user-" + i, Map.of("plan", "pro"));
            usherIds[i] = usherHeld[i].id();
        }
        spring = springRepository(dataSource, engine);
        for (int i = 0; i < SESSIONS; i++) {
            Session s = spring.createSession();
            s.setAttribute(FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, "user-" + i);
            s.setAttribute("plan", "pro");
            spring.save(s);
            springIds[i] = s.getId();
        }
        createRawTable(dataSource);
        try (Connection c = dataSource.getConnection();
             PreparedStatement insert = c.prepareStatement(RAW_UPSERT)) {
            for (int i = 0; i < SESSIONS; i++) {
                rawIds[i] = "raw-" + i;
                bindUpsert(insert, rawIds[i], "pro");
                insert.executeUpdate();
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws SQLException {
        usher.close();
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            for (String table : new String[] {USHER_TABLE, USHER_TABLE + "_schema_version", RAW_TABLE,
                    SPRING_TABLE + "_ATTRIBUTES", SPRING_TABLE}) {
                s.execute("DROP TABLE IF EXISTS " + table);
            }
        } finally {
            dataSource.close();
        }
    }

    @Benchmark
    public Optional<dev.usher.session.Session> usherTouch(Cursor c) {
        return usher.touch(usherIds[c.next(SESSIONS)]);
    }

    @Benchmark
    public Optional<dev.usher.session.Session> usherUpdate(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        return usher.update(usherIds[c.next(SESSIONS)], s -> s.withAttribute("step", value));
    }

    /** An update by a caller that holds the current session: one compare-and-set, no read. */
    @Benchmark
    public Optional<dev.usher.session.Session> usherUpdateHeld(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        int i = c.next(SESSIONS);
        Optional<dev.usher.session.Session> updated = usher.update(usherHeld[i], s -> s.withAttribute("step", value));
        updated.ifPresent(s -> usherHeld[i] = s);
        return updated;
    }

    @Benchmark
    public Session springTouch(Cursor c) {
        Session s = spring.findById(springIds[c.next(SESSIONS)]);
        s.setLastAccessedTime(Instant.now());
        spring.save(s);
        return s;
    }

    @Benchmark
    public Session springUpdate(Cursor c) {
        String value = VALUES[c.next(VALUES.length)];
        Session s = spring.findById(springIds[c.next(SESSIONS)]);
        s.setLastAccessedTime(Instant.now());
        s.setAttribute("step", value);
        spring.save(s);
        return s;
    }

    @Benchmark
    public long rawSelect(Cursor c) throws SQLException {
        try (Connection conn = dataSource.getConnection();
             PreparedStatement select = conn.prepareStatement(RAW_SELECT)) {
            select.setString(1, rawIds[c.next(SESSIONS)]);
            try (ResultSet rs = select.executeQuery()) {
                rs.next();
                return rs.getLong(1) + rs.getLong(2) + rs.getString(3).length();
            }
        }
    }

    @Benchmark
    public int rawUpsert(Cursor c) throws SQLException {
        String value = VALUES[c.next(VALUES.length)];
        try (Connection conn = dataSource.getConnection();
             PreparedStatement upsert = conn.prepareStatement(RAW_UPSERT)) {
            bindUpsert(upsert, rawIds[c.next(SESSIONS)], value);
            return upsert.executeUpdate();
        }
    }

    static final String RAW_SELECT = "SELECT last_accessed_at, version, attributes FROM " + RAW_TABLE + " WHERE id = ?";
    static final String RAW_UPSERT = "INSERT INTO " + RAW_TABLE + " (id, last_accessed_at, version, attributes) VALUES (?, ?, 1, ?) "
            + "ON CONFLICT (id) DO UPDATE SET last_accessed_at = excluded.last_accessed_at, "
            + "version = " + RAW_TABLE + ".version + 1, attributes = excluded.attributes";

    private static void bindUpsert(PreparedStatement upsert, String id, String value) throws SQLException {
        upsert.setString(1, id);
        upsert.setLong(2, System.currentTimeMillis());
        upsert.setString(3, "{\"plan\":\"pro\",\"step\":\"" + value + "\"}");
    }

    static HikariDataSource dataSource(String engine, boolean serverPrepared) {
        return switch (engine) {
            case "sqlite" -> Servers.sqlite(Servers.temporaryDirectory("usher-bench-").resolve("bench.db"), 4);
            case "postgresql" -> Servers.postgres(4, serverPrepared);
            default -> throw new IllegalArgumentException("engine was " + engine + ", expected sqlite or postgresql");
        };
    }

    static void createRawTable(DataSource dataSource) throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS " + RAW_TABLE);
            s.execute("CREATE TABLE " + RAW_TABLE + " (id VARCHAR(64) PRIMARY KEY, last_accessed_at BIGINT NOT NULL, "
                    + "version BIGINT NOT NULL, attributes TEXT NOT NULL)");
        }
    }

    /** Spring Session's own schema for the engine, under a table name of our own, created fresh. */
    static SessionRepository<Session> springRepository(DataSource dataSource, String engine) throws SQLException {
        String schema;
        try (InputStream in = JdbcIndexedSessionRepository.class.getResourceAsStream("schema-" + engine + ".sql")) {
            schema = new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("SPRING_SESSION", SPRING_TABLE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS " + SPRING_TABLE + "_ATTRIBUTES");
            s.execute("DROP TABLE IF EXISTS " + SPRING_TABLE);
            for (String statement : schema.split(";")) {
                if (!statement.isBlank()) {
                    s.execute(statement);
                }
            }
        }
        TransactionTemplate transactions = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
        transactions.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
        JdbcIndexedSessionRepository repository = new JdbcIndexedSessionRepository(new JdbcTemplate(dataSource), transactions);
        repository.setTableName(SPRING_TABLE);
        repository.setDefaultMaxInactiveInterval(Duration.ofMinutes(30));
        repository.setCleanupCron("-");
        repository.afterPropertiesSet();
        return SpringSessions.erase(repository);
    }
}
