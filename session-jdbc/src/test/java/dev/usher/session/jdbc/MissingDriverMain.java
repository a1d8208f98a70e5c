package dev.usher.session.jdbc;

import java.nio.file.Files;

/** Run by {@link MissingDriverTest} in a JVM without sqlite-jdbc: prints what the SQLite default throws. */
public final class MissingDriverMain {
    private MissingDriverMain() {
    }

    public static void main(String[] args) throws Exception {
        try (JdbcSessionStore store = JdbcSessionStore.sqlite(Files.createTempDirectory("usher-no-driver-").resolve("s.db"))) {
            System.out.println("BUILT " + store);
        } catch (RuntimeException e) {
            System.out.println("THROWN " + e.getClass().getName() + ": " + e.getMessage());
        }
    }
}
