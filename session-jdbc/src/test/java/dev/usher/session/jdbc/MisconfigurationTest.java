package dev.usher.session.jdbc;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreUnavailableException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mistake in the JDBC settings fails at {@code build()} at once, with the cause and the path or URL
 * (credentials masked) in the message, not after the pool's 5 s timeout as a "store unavailable". The bound
 * asserted is generous (a loaded machine) but well under that timeout.
 */
@Tag("server")
class MisconfigurationTest {
    private static final Duration WELL_UNDER_THE_TIMEOUT = Duration.ofSeconds(3);

    @TempDir
    Path dir;

    @Test
    void aSqlitePathThatIsADirectory() {
        Throwable e = failsFast(() -> JdbcSessionStore.sqlite(dir));
        assertThat(e).isExactlyInstanceOf(SessionStoreException.class).hasMessageContaining(dir.toString())
                .hasMessageContaining("is a directory");
    }

    @Test
    void aSqliteFileThatIsNotADatabase() throws Exception {
        Path notADatabase = dir.resolve("notes.db");
        Files.writeString(notADatabase, "this is a text file, not SQLite, and it is long enough to hold a header "
                .repeat(20), StandardCharsets.UTF_8);
        Throwable e = failsFast(() -> JdbcSessionStore.sqlite(notADatabase));
        assertThat(e).isExactlyInstanceOf(SessionStoreException.class).hasMessageContaining(notADatabase.toString())
                .hasMessageContaining("not a database").hasCauseInstanceOf(java.sql.SQLException.class);
    }

    @Test
    void aMissingParentDirectoryIsAnErrorForAUrlAndCreatedByTheSqliteDefault() {
        Path missing = dir.resolve("no/such/dir/sessions.db");
        Throwable e = failsFast(() -> JdbcSessionStore.builder().jdbcUrl("jdbc:sqlite:" + missing).build());
        assertThat(e).isExactlyInstanceOf(SessionStoreException.class).hasMessageContaining(missing.getParent().toString())
                .hasMessageContaining("does not exist");
        try (JdbcSessionStore store = JdbcSessionStore.sqlite(missing)) {
            assertThat(store.count()).isZero();
            assertThat(missing).isRegularFile();
        }
    }

    @Test
    void postgresWithNothingListeningFailsAtOnceWithTheUrlAndNoPassword() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/app?password=hunter2";
        Throwable e = failsFast(() -> JdbcSessionStore.builder().jdbcUrl(url).credentials("app", "s3cret").build());
        assertThat(e).isExactlyInstanceOf(SessionStoreException.class)
                .hasMessageContaining("127.0.0.1:" + port).hasMessageContaining("refused")
                .hasMessageNotContaining("hunter2").hasMessageNotContaining("s3cret");
    }

    @Test
    void postgresOnAnUnknownHostFailsAtOnceNamingTheHost() {
        Throwable e = failsFast(() -> JdbcSessionStore.builder()
                .jdbcUrl("jdbc:postgresql://no-such-host.invalid:5432/app").build());
        assertThat(e).isExactlyInstanceOf(SessionStoreException.class).hasMessageContaining("no-such-host.invalid");
        assertThat(e).isNotInstanceOf(StoreUnavailableException.class);
    }

    @Test
    void urlsAreRedacted() {
        assertThat(JdbcChecks.redact("jdbc:postgresql://db/app?user=a&password=secret&ssl=true"))
                .isEqualTo("jdbc:postgresql://db/app?user=a&password=***&ssl=true");
        assertThat(JdbcChecks.redact("jdbc:postgresql://bob:pw@db/app")).isEqualTo("jdbc:postgresql://***@db/app");
    }

    private static Throwable failsFast(Supplier<?> build) {
        long began = System.nanoTime();
        Throwable e = catchThrowable(build::get);
        Duration took = Duration.ofNanos(System.nanoTime() - began);
        assertThat(e).as("build() fails").isNotNull();
        assertThat(took).as("build() failed well under the 5s timeout: " + e).isLessThan(WELL_UNDER_THE_TIMEOUT);
        return e;
    }
}
