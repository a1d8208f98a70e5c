package dev.usher.session.jdbc;

import static dev.usher.session.jdbc.TestEngine.session;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SQLite store keeps its prepared statements per pooled connection: a statement kept between calls must
 * not keep a read snapshot open (that would hold back every WAL checkpoint and let the WAL grow without
 * bound), and must see what other connections and other processes wrote since its last use.
 */
class SqliteStatementCacheTest {
    private static final Instant NOW = Instant.parse("2026-03-01T10:15:30.123Z");

    @TempDir
    Path dir;

    @Test
    void keptStatementsHoldNoReadSnapshotBetweenCalls() throws Exception {
        Path file = dir.resolve("sessions.db");
        try (JdbcSessionStore store = JdbcSessionStore.sqlite(file)) {
            store.insert(session("kept-statement-session", "owner-1", NOW, Map.of("a", "1")));
            for (int i = 0; i < 50; i++) {
                assertThat(store.load("kept-statement-session")).isPresent();
            }
            try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement st = other.createStatement()) {
                st.execute("PRAGMA busy_timeout = 2000");
                st.executeUpdate("UPDATE usher_session SET last_accessed_at = last_accessed_at WHERE id = 'x'");
                try (ResultSet rs = st.executeQuery("PRAGMA wal_checkpoint(TRUNCATE)")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt(1)).as("checkpoint blocked by a reader (1) or done (0)").isZero();
                }
            }
        }
    }

    @Test
    void keptStatementsSeeWritesOfOtherStores() {
        Path file = dir.resolve("shared.db");
        try (JdbcSessionStore reader = JdbcSessionStore.sqlite(file);
             JdbcSessionStore writer = JdbcSessionStore.sqlite(file)) {
            Session first = session("shared-session", "owner-1", NOW, Map.of("step", "0"));
            writer.insert(first);
            Session current = first;
            for (int i = 1; i <= 20; i++) {
                assertThat(reader.load("shared-session")).contains(current);
                Session next = current.withAttribute("step", Integer.toString(i)).withVersion(current.version() + 1);
                assertThat(writer.replace(next, current.version())).isTrue();
                current = next;
            }
            assertThat(reader.load("shared-session")).contains(current);
            assertThat(reader.remove("shared-session")).contains(current);
            assertThat(writer.load("shared-session")).isEmpty();
        }
    }
}
