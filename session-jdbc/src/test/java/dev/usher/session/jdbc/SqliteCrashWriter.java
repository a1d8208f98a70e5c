package dev.usher.session.jdbc;

import dev.usher.session.Session;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * The child process of {@link SqliteCrashTest}: writes sessions to a SQLite file as fast as it can and
 * prints a line for every write the store acknowledged ({@code I n} after inserting session {@code crash-n},
 * {@code R n} after replacing it with version 2), until it is killed.
 *
 * <p>usage: {@code SqliteCrashWriter <file> <table> <first n>}
 */
public final class SqliteCrashWriter {
    private SqliteCrashWriter() {
    }

    public static void main(String[] args) {
        Path file = Path.of(args[0]);
        long n = Long.parseLong(args[2]);
        JdbcSessionStore store = JdbcSessionStore.builder().jdbcUrl("jdbc:sqlite:" + file).tableName(args[1]).build();
        String padding = "x".repeat(2_000);
        while (true) {
            Session s = TestEngine.session("crash-" + n, "owner-" + n % 10, Instant.now(), Map.of("n", "" + n, "pad", padding));
            if (!store.insert(s)) {
                throw new IllegalStateException("crash-" + n + " already exists");
            }
            System.out.println("I " + n);
            System.out.flush();
            if (!store.replace(s.withAttribute("n", "replaced " + n).withVersion(2), 1)) {
                throw new IllegalStateException("replace of crash-" + n + " lost");
            }
            System.out.println("R " + n);
            System.out.flush();
            n++;
        }
    }
}
