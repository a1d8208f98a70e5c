package dev.usher.session.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.session.Session;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child JVM writes sessions to a SQLite file in a loop and is killed with SIGKILL mid-write, three times
 * over on the same file. After each kill, a new store finds every write the child had acknowledged, and
 * {@code PRAGMA integrity_check} reports ok.
 */
@Tag("slow")
class SqliteCrashTest {
    private static final int ACKS_BEFORE_KILL = 1_500;

    @TempDir
    Path dir;

    @Test
    void everyAcknowledgedWriteSurvivesKillDashNine() throws Exception {
        Path file = dir.resolve("crash.db");
        String table = "crash_sessions";
        List<Long> inserted = new ArrayList<>();
        List<Long> replaced = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), SqliteCrashWriter.class.getName(),
                    file.toString(), table, Long.toString(round * 1_000_000L))
                    .redirectError(dir.resolve("child-" + round + ".err").toFile())
                    .start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                int acks = 0;
                String line;
                while ((line = out.readLine()) != null) {
                    record(line, inserted, replaced);
                    if (++acks == ACKS_BEFORE_KILL) {
                        // SIGKILL mid-write: no shutdown hook, no close. Through the handle, because
                        // Process.destroyForcibly would also close the pipe that still holds acknowledgements.
                        child.toHandle().destroyForcibly();
                    }
                }
                // Lines printed before the kill landed are acknowledgements too; readLine drained them.
                assertThat(acks).as("round %d: the child wrote before it was killed (see child-%d.err)", round, round)
                        .isGreaterThanOrEqualTo(ACKS_BEFORE_KILL);
            }
            assertThat(child.waitFor(1, TimeUnit.MINUTES)).isTrue();
            assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(137);

            try (JdbcSessionStore store = JdbcSessionStore.builder().jdbcUrl("jdbc:sqlite:" + file).tableName(table).build()) {
                for (long n : inserted) {
                    assertThat(store.load("crash-" + n)).as("acknowledged insert crash-%d", n).isPresent();
                }
                for (long n : replaced) {
                    Session s = store.load("crash-" + n).orElseThrow();
                    assertThat(s.version()).as("acknowledged replace of crash-%d", n).isEqualTo(2);
                    assertThat(s.attribute("n")).contains("replaced " + n);
                }
            }
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                 Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("PRAGMA integrity_check")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("ok");
            }
        }
        assertThat(inserted).hasSizeGreaterThanOrEqualTo(3 * ACKS_BEFORE_KILL / 2);
    }

    private static void record(String line, List<Long> inserted, List<Long> replaced) {
        if (line.startsWith("I ")) {
            inserted.add(Long.parseLong(line.substring(2)));
        } else if (line.startsWith("R ")) {
            replaced.add(Long.parseLong(line.substring(2)));
        } else {
            throw new AssertionError("unexpected line from the child: " + line);
        }
    }
}
