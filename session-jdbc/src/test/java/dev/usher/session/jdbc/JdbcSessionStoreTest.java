package dev.usher.session.jdbc;

import static dev.usher.session.Await.awaitCondition;
import static dev.usher.session.jdbc.TestEngine.session;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.usher.session.Concurrently;
import dev.usher.session.OwnerLimitPolicy;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionPage;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreUnavailableException;
import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The store's own behaviour on both engines: round trips, hostile input, restarts, schema handling. */
@Tag("server")
class JdbcSessionStoreTest {
    private static final Instant NOW = Instant.parse("2026-03-01T10:15:30.123Z");

    @TempDir
    Path dir;
    private TestEngine engine;

    private JdbcSessionStore open(Dialect dialect) {
        engine = TestEngine.create(dialect, dir);
        return engine.open();
    }

    @AfterEach
    void dropDatabase() throws Exception {
        if (engine != null) {
            engine.close();
        }
    }

    /**
     * maxSessions across two store instances, 16 threads at once: exactly the limit get in, the rest get
     * SessionLimitException naming it, nothing half-written; a removal frees a place, and owner-limited
     * inserts obey it too.
     */
    @ParameterizedTest
    @EnumSource(Dialect.class)
    void maxSessionsHoldsAcrossInstancesLikeTheInMemoryStoresReject(Dialect dialect) throws Exception {
        engine = TestEngine.create(dialect, dir);
        JdbcSessionStore one = engine.track(engine.builder().maxSessions(5).build());
        JdbcSessionStore two = engine.track(engine.builder().maxSessions(5).build());
        Set<String> inserted = ConcurrentHashMap.newKeySet();
        AtomicInteger refused = new AtomicInteger();
        Concurrently.run(16, t -> {
            for (int i = 0; i < 4; i++) {
                String id = "cap-" + t + "-" + i;
                try {
                    assertThat((t % 2 == 0 ? one : two).insert(session(id, null, NOW, Map.of()))).isTrue();
                    inserted.add(id);
                } catch (SessionLimitException e) {
                    assertThat(e.limitName()).isEqualTo("maxSessions");
                    assertThat(e.limit()).isEqualTo(5);
                    assertThat(e).hasMessageContaining("maxSessions=5");
                    refused.incrementAndGet();
                }
            }
        });
        assertThat(inserted).hasSize(5);
        assertThat(refused).hasValue(64 - 5);
        assertThat(one.count()).isEqualTo(5);
        for (String id : inserted) {
            assertThat(two.load(id)).isPresent();
        }
        try (SessionManager manager = SessionManager.builder(two).sweepInterval(Duration.ZERO)
                .maxSessionsPerOwner(2, OwnerLimitPolicy.REJECT).build()) {
            assertThatThrownBy(() -> manager.create("alice", Map.of())).isInstanceOf(SessionLimitException.class)
                    .hasMessageContaining("maxSessions=5");
            assertThatThrownBy(() -> manager.create(null, Map.of())).isInstanceOf(SessionLimitException.class);
            assertThat(one.remove(inserted.iterator().next())).isPresent();
            assertThat(manager.create("alice", Map.of()).owner()).isEqualTo("alice");
            assertThat(one.count()).isEqualTo(5);
        }
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void writesAreCompareAndSetOnTheVersion(Dialect dialect) {
        JdbcSessionStore store = open(dialect);
        Session s = session("s1", "alice", NOW, Map.of("a", "1"));
        assertThat(store.insert(s)).isTrue();
        assertThat(store.insert(s.withAttribute("a", "2"))).isFalse();
        assertThat(store.load("s1")).contains(s);

        Session v2 = s.withAttribute("a", "2").withVersion(2);
        assertThat(store.replace(v2, 1)).isTrue();
        assertThat(store.replace(v2.withAttribute("a", "lost").withVersion(3), 1)).isFalse();
        assertThat(store.load("s1")).contains(v2);
        assertThat(store.replace(session("absent", null, NOW, Map.of()).withVersion(2), 1)).isFalse();

        store.insert(session("taken", null, NOW, Map.of()));
        assertThat(store.changeId("s1", v2.withId("taken").withVersion(3), 2)).isFalse();
        assertThat(store.changeId("s1", v2.withId("s2").withVersion(3), 1)).isFalse();
        assertThat(store.load("s1")).contains(v2);
        assertThat(store.changeId("s1", v2.withId("s2").withVersion(3), 2)).isTrue();
        assertThat(store.load("s1")).isEmpty();
        assertThat(store.replace(v2.withVersion(3), 2)).isFalse();
        assertThat(store.load("s2")).contains(v2.withId("s2").withVersion(3));

        assertThat(store.remove("s2")).contains(v2.withId("s2").withVersion(3));
        assertThat(store.remove("s2")).isEmpty();
        assertThat(store.count()).isEqualTo(1);
    }

    /**
     * SQLite's replace first tries a statement that keeps the stored owner (see JdbcSessionStore#replace):
     * a session whose owner differs, or a stale one with the same owner, must still come out exactly as a
     * single compare-and-set would leave it.
     */
    @ParameterizedTest
    @EnumSource(Dialect.class)
    void replaceChangesTheOwnerWhenAskedAndRefusesStaleVersionsWhateverTheOwner(Dialect dialect) {
        JdbcSessionStore store = open(dialect);
        Session s = session("s1", "alice", NOW, Map.of("a", "1"));
        assertThat(store.insert(s)).isTrue();

        Session sameOwner = s.withAttribute("a", "2").withVersion(2);
        assertThat(store.replace(sameOwner, 1)).isTrue();
        assertThat(store.replace(s.withAttribute("a", "stale").withVersion(2), 1)).isFalse();
        assertThat(store.load("s1")).contains(sameOwner);

        Session toBob = new Session("s1", "bob", s.createdAt(), s.lastAccessedAt(), s.idleTimeout(),
                s.absoluteExpiry(), 3, Map.of("a", "3"));
        assertThat(store.replace(toBob.withVersion(3).withAttribute("a", "stale"), 1))
                .as("a stale version with another owner is refused too").isFalse();
        assertThat(store.load("s1")).contains(sameOwner);
        assertThat(store.replace(toBob, 2)).isTrue();
        assertThat(store.load("s1")).contains(toBob);
        assertThat(store.findByOwner("alice")).isEmpty();
        assertThat(store.findByOwner("bob")).containsExactly(toBob);

        Session anonymous = new Session("s1", null, s.createdAt(), s.lastAccessedAt(), s.idleTimeout(),
                s.absoluteExpiry(), 4, Map.of());
        assertThat(store.replace(anonymous, 3)).isTrue();
        assertThat(store.findByOwner("bob")).isEmpty();
        Session stillAnonymous = anonymous.withAttribute("b", "1").withVersion(5);
        assertThat(store.replace(stillAnonymous, 4)).isTrue();
        assertThat(store.replace(stillAnonymous.withVersion(6), 4)).isFalse();
        assertThat(store.load("s1")).contains(stillAnonymous);

        Session toCarol = new Session("s1", "carol", s.createdAt(), s.lastAccessedAt(), s.idleTimeout(),
                s.absoluteExpiry(), 6, Map.of("c", "1"));
        assertThat(store.replace(toCarol, 5)).isTrue();
        assertThat(store.load("s1")).contains(toCarol);
        assertThat(store.findByOwner("carol")).containsExactly(toCarol);
        assertThat(store.count()).isEqualTo(1);
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void storesTheExpiryInItsOwnColumnAndSweepsInBatches(Dialect dialect) throws Exception {
        JdbcSessionStore store = open(dialect);
        Session idle = new Session("idle", null, NOW, NOW, Duration.ofMinutes(5), NOW.plus(Duration.ofHours(1)), 1, Map.of());
        Session absolute = new Session("absolute", null, NOW, NOW, Duration.ofHours(2), NOW.plus(Duration.ofMinutes(3)), 1, Map.of());
        Session live = new Session("live", null, NOW, NOW, Duration.ofHours(2), NOW.plus(Duration.ofHours(3)), 1, Map.of());
        for (Session s : List.of(idle, absolute, live)) {
            store.insert(s);
        }
        try (Connection c = engine.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, expires_at FROM " + engine.table + " ORDER BY expires_at")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("absolute");
            assertThat(rs.getLong(2)).isEqualTo(NOW.plus(Duration.ofMinutes(3)).toEpochMilli());
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(2)).isEqualTo(NOW.plus(Duration.ofMinutes(5)).toEpochMilli());
        }
        assertThat(store.removeExpired(NOW.plus(Duration.ofMinutes(3)).minusMillis(1), 10)).isEmpty();
        assertThat(store.removeExpired(NOW.plus(Duration.ofMinutes(10)), 1)).containsExactly(absolute);
        assertThat(store.removeExpired(NOW.plus(Duration.ofMinutes(10)), 10)).containsExactly(idle);
        assertThat(store.load("live")).contains(live);
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void attributesRoundTripExactly(Dialect dialect) {
        JdbcSessionStore store = open(dialect);
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("nul", "before\u0000after\u0000");
        attributes.put("quotes", "it's \"quoted\" `back` \\ slash \\u0000 not an escape");
        attributes.put("injection", "'); DROP TABLE " + engine.table + "; --");
        attributes.put("한국어 이름", "안녕하세요 세계");
        attributes.put("emoji 🎉", "👩‍💻🚀 \uD83D\uDE00");
        attributes.put("lone surrogates", "\uD800 then \uDFFF");
        attributes.put("controls", "\t\n\r\b\f\u0001\u001f\u007f\u2028\u2029");
        attributes.put("empty", "");
        attributes.put("json-looking", "{\"nested\": [1, 2, {\"x\": null}]}");
        attributes.put("64 KiB", "é".repeat(32 * 1024));
        for (int i = 0; i < 14; i++) {
            attributes.put("bulk" + i, Character.toString('a' + i).repeat(64 * 1024));
        }
        Session s = session("attrs", null, NOW, attributes);
        assertThat(store.insert(s)).isTrue();
        assertThat(store.load("attrs").orElseThrow().attributes()).isEqualTo(attributes);

        Session changed = s.withAttribute("nul", "\u0000").withoutAttribute("bulk0").withVersion(2);
        assertThat(store.replace(changed, 1)).isTrue();
        assertThat(store.load("attrs").orElseThrow().attributes()).isEqualTo(changed.attributes());
        assertThat(store.remove("attrs").orElseThrow().attributes()).isEqualTo(changed.attributes());
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void hostileIdsAndOwnersAreInert(Dialect dialect) {
        JdbcSessionStore store = open(dialect);
        List<String> hostile = List.of("'; DROP TABLE " + engine.table + "; --", "\"quoted\" id", "x' OR '1'='1",
                "세션-아이디", "🍪🍪🍪", "back\\slash", "per%cent_under", "a".repeat(256));
        for (String text : hostile) {
            assertThat(store.insert(session(text, text, NOW, Map.of("v", text)))).isTrue();
        }
        for (String text : hostile) {
            assertThat(store.load(text)).hasValueSatisfying(s -> {
                assertThat(s.id()).isEqualTo(text);
                assertThat(s.owner()).isEqualTo(text);
            });
            assertThat(store.findByOwner(text)).extracting(Session::id).containsExactly(text);
        }
        assertThat(store.load("x")).isEmpty();
        assertThat(store.findByOwner("%")).isEmpty();
        assertThat(store.count()).isEqualTo(hostile.size());
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void idsAndOwnersNeitherEngineCanKeepAreRejectedAlikeAndNothingIsWritten(Dialect dialect) {
        JdbcSessionStore store = open(dialect);
        assertThatThrownBy(() -> store.insert(session("nul\u0000id", null, NOW, Map.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("session id contains a NUL character at index 3");
        assertThatThrownBy(() -> store.insert(session("ok", "owner\u0000", NOW, Map.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("owner contains a NUL character at index 5");
        assertThatThrownBy(() -> store.insert(session("a".repeat(257), null, NOW, Map.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 256 characters but was 257");
        assertThatThrownBy(() -> store.insert(session("ok", "o".repeat(300), NOW, Map.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 256 characters but was 300");
        assertThatThrownBy(() -> store.insert(session("half\uD800", null, NOW, Map.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate at index 4");
        assertThat(store.count()).isZero();
        assertThat(store.load("nul\u0000id")).isEmpty();
        assertThat(store.load("a".repeat(100_000))).isEmpty();
        assertThat(store.remove("nul\u0000id")).isEmpty();
        assertThat(store.findByOwner("owner\u0000")).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void attributesAreReadableWithTheEnginesOwnTools(Dialect dialect) throws Exception {
        JdbcSessionStore store = open(dialect);
        store.insert(session("readable", "bob", NOW, Map.of("cart", "사과 🍎", "n", "3")));
        String extract = dialect == Dialect.POSTGRESQL ? "attributes ->> 'cart'" : "json_extract(attributes, '$.cart')";
        try (Connection c = engine.connect();
             PreparedStatement ps = c.prepareStatement("SELECT " + extract + ", owner, version FROM " + engine.table + " WHERE id = ?")) {
            ps.setString(1, "readable");
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("사과 🍎");
                assertThat(rs.getString(2)).isEqualTo("bob");
                assertThat(rs.getLong(3)).isEqualTo(1);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void listsEverySessionOnceInIdOrderWithAnOpaqueCursor(Dialect dialect) {
        JdbcSessionStore store = open(dialect);
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 25; i++) {
            String id = "id-" + (char) ('a' + i) + "-한";
            ids.add(id);
            store.insert(session(id, null, NOW, Map.of()));
        }
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            SessionPage page = store.list(cursor, 10);
            page.sessions().forEach(s -> seen.add(s.id()));
            cursor = page.nextCursor();
            pages++;
        } while (cursor != null);
        assertThat(pages).isEqualTo(3);
        assertThat(seen).containsExactlyInAnyOrderElementsOf(ids).isSorted();
        assertThat(store.list(null, 25).nextCursor()).isNull();
        assertThatThrownBy(() -> store.list("not base64 !", 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not ba…").hasMessageContaining("not issued");
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void aNewStoreOnTheSameDatabaseFindsEverythingAfterARestart(Dialect dialect) {
        JdbcSessionStore first = open(dialect);
        List<Session> written = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Session s = new Session("restart-" + i, i % 2 == 0 ? "owner" + i % 5 : null, NOW.plusMillis(i),
                    NOW.plusSeconds(i), Duration.ofMinutes(1 + i), NOW.plus(Duration.ofHours(1 + i)), 1, Map.of("i", "" + i));
            first.insert(s);
            if (i % 3 == 0) {
                Session next = s.withAttribute("i", "changed " + i).withVersion(7);
                first.replace(next, 1);
                s = next;
            }
            written.add(s);
        }
        first.close();
        assertThatThrownBy(() -> first.load("restart-0")).isInstanceOf(IllegalStateException.class);

        JdbcSessionStore second = engine.open();
        for (Session s : written) {
            Session loaded = second.load(s.id()).orElseThrow();
            assertThat(loaded).isEqualTo(s);
            assertThat(loaded.expiresAt()).isEqualTo(s.expiresAt());
        }
        assertThat(second.count()).isEqualTo(50);
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void schemaIsCreatedOnceEvenWhenStoresStartTogether(Dialect dialect) throws Exception {
        engine = TestEngine.create(dialect, dir);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Callable<JdbcSessionStore>> starts = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                starts.add(() -> engine.track(engine.builder().build()));
            }
            for (Future<JdbcSessionStore> f : pool.invokeAll(starts)) {
                assertThat(f.get().insert(session("s" + System.identityHashCode(f), null, NOW, Map.of()))).isTrue();
            }
        } finally {
            pool.shutdown();
        }
        engine.open();
        try (Connection c = engine.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM " + engine.table + "_schema_version ORDER BY version")) {
            for (int v = 1; v <= Schema.VERSION; v++) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("each version applied once, in order").isEqualTo(v);
            }
            assertThat(rs.next()).isFalse();
        }
    }

    /** A table made by the previous version, with a session in it, is migrated in place and keeps working. */
    @ParameterizedTest
    @EnumSource(Dialect.class)
    void aVersionOneTableIsMigratedWithItsSessions(Dialect dialect) throws Exception {
        engine = TestEngine.create(dialect, dir);
        try (Connection c = engine.connect(); Statement st = c.createStatement()) {
            for (String ddl : Schema.statements(dialect, 1, engine.table)) {
                st.execute(ddl);
            }
            st.execute("CREATE TABLE " + engine.table + "_schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
            st.execute("INSERT INTO " + engine.table + "_schema_version VALUES (1, 0)");
        }
        Session old = session("from-v1", "alice", NOW.minus(Duration.ofHours(2)), Map.of("k", "v"));
        engine.bulkInsert(List.of(old));
        JdbcSessionStore store = engine.open();
        assertThat(store.load("from-v1")).contains(old);
        assertThat(store.removeExpired(NOW, 10)).containsExactly(old);
        store.acknowledgeExpired(List.of("from-v1"));
        assertThat(store.count()).isZero();
        try (Connection c = engine.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + engine.table)) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(1)).as("the acknowledged claim deleted the row").isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void aHostThatRunsItsOwnMigrationsOptsOutOfSchemaCreation(Dialect dialect) throws Exception {
        engine = TestEngine.create(dialect, dir);
        assertThatThrownBy(() -> engine.builder().createSchema(false).build())
                .isInstanceOf(SessionStoreException.class)
                .hasMessageContaining("table " + engine.table + " is missing")
                .hasMessageContaining(Schema.resource(dialect, 1));

        try (Connection c = engine.connect(); Statement st = c.createStatement()) {
            for (int v = 1; v <= Schema.VERSION; v++) {
                for (String ddl : Schema.statements(dialect, v, engine.table)) {
                    st.execute(ddl);
                }
            }
        }
        JdbcSessionStore store = engine.track(engine.builder().createSchema(false).build());
        assertThat(store.insert(session("own-migrations", null, NOW, Map.of()))).isTrue();
        try (Connection c = engine.connect(); ResultSet rs = c.getMetaData().getTables(null, null, engine.table + "_schema_version", null)) {
            assertThat(rs.next()).as("no version table when the host migrates").isFalse();
        }
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void onTheHostsDataSourceTheDialectIsDetectedAndThePoolIsLeftOpen(Dialect dialect) throws Exception {
        engine = TestEngine.create(dialect, dir);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(engine.jdbcUrl());
        if (dialect == Dialect.POSTGRESQL) {
            config.setUsername(TestEngine.POSTGRES_USER);
            config.setPassword(TestEngine.POSTGRES_PASSWORD);
        }
        config.setMaximumPoolSize(2);
        try (HikariDataSource hostPool = new HikariDataSource(config)) {
            JdbcSessionStore store = JdbcSessionStore.builder().dataSource(hostPool).tableName(engine.table).build();
            assertThat(store.dialect()).isEqualTo(dialect);
            assertThat(store.insert(session("host", null, NOW, Map.of("k", "v")))).isTrue();
            store.close();
            assertThat(hostPool.isClosed()).isFalse();
            assertThat(engine.open().load("host")).isPresent();
        }
    }

    @Test
    void sqliteWaitsOutAnotherWritersLockAndReportsOnePastTheTimeoutAsUnavailable() throws Exception {
        engine = TestEngine.create(Dialect.SQLITE, dir);
        JdbcSessionStore store = engine.open();
        JdbcSessionStore impatient = engine.track(engine.builder().timeout(Duration.ofMillis(500)).build());
        try (Connection other = engine.connect(); Statement st = other.createStatement()) {
            try (ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("wal");
            }
            // Another process holds the write lock for a moment, well inside the store's 5 s busy timeout:
            // the store's write waits for it instead of failing with "database is locked".
            st.execute("BEGIN IMMEDIATE");
            AtomicReference<Thread> writer = new AtomicReference<>();
            ExecutorService pool = Executors.newSingleThreadExecutor(task -> {
                Thread t = new Thread(task, "sqlite-writer");
                writer.set(t);
                return t;
            });
            try {
                Future<Boolean> insert = pool.submit(() -> store.insert(session("waited", null, NOW, Map.of())));
                // Wait until the store's write is inside SQLite's statement execution, where the busy handler
                // retries against the held lock; the insert cannot finish while the lock is held.
                awaitCondition("the store's writer to wait on SQLite's lock", () -> insideSqliteExecution(writer.get()));
                assertThat(insert.isDone()).as("the write waits while another writer holds the lock").isFalse();
                assertThat(store.load("waited")).as("readers are not blocked by the writer").isEmpty();
                st.execute("COMMIT");
                assertThat(insert.get(1, TimeUnit.MINUTES)).isTrue();
            } finally {
                pool.shutdown();
            }
            // Held past the timeout: the caller gets the store's own exception, the driver's as its cause.
            st.execute("BEGIN IMMEDIATE");
            assertThatThrownBy(() -> impatient.insert(session("late", null, NOW, Map.of())))
                    .isInstanceOf(StoreUnavailableException.class).hasCauseInstanceOf(SQLException.class);
            st.execute("ROLLBACK");
        }
        assertThat(store.load("waited")).isPresent();
        assertThat(store.load("late")).isEmpty();
    }

    /** Whether {@code thread} is executing a statement in sqlite-jdbc's native layer (where SQLite waits on a lock). */
    private static boolean insideSqliteExecution(Thread thread) {
        if (thread == null) {
            return false;
        }
        for (StackTraceElement frame : thread.getStackTrace()) {
            if (frame.getClassName().equals("org.sqlite.core.NativeDB")
                    && (frame.getMethodName().equals("step") || frame.getMethodName().startsWith("_exec"))) {
                return true;
            }
        }
        return false;
    }

    @ParameterizedTest
    @EnumSource(Dialect.class)
    void theShippedDdlUsesTheDefaultTableName(Dialect dialect) {
        List<String> ddl = Schema.statements(dialect, 1, Schema.DEFAULT_TABLE);
        assertThat(ddl).hasSize(3);
        assertThat(ddl.get(0)).startsWith("CREATE TABLE IF NOT EXISTS usher_session (");
        assertThat(ddl.get(1)).contains("usher_session_expires_at_idx ON usher_session (expires_at)");
        assertThat(ddl.get(2)).contains("usher_session_owner_idx ON usher_session (owner)");
        assertThat(Schema.statements(dialect, 1, "app_sessions").get(1))
                .contains("app_sessions_expires_at_idx ON app_sessions (expires_at)");
    }
}
