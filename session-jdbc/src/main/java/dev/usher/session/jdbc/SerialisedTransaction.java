package dev.usher.session.jdbc;

import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.Predicate;

/**
 * One transaction that the database serialises with every other one taking the same locks, on any
 * instance: on PostgreSQL by transaction-scoped advisory locks (released by the commit or rollback, also
 * when the connection dies), on SQLite by its write lock, taken at {@code BEGIN IMMEDIATE} explicitly
 * whatever transaction mode a host's {@code DataSource} was given. The schema migration, the owner limit
 * and {@code maxSessions} all go through it.
 */
final class SerialisedTransaction {

    @FunctionalInterface
    interface Body<T> {
        T run() throws SQLException;
    }

    /** Takes the PostgreSQL advisory locks of the transaction, always in the same order. */
    @FunctionalInterface
    interface Locks {
        void take(Connection c) throws SQLException;
    }

    private SerialisedTransaction() {
    }

    /**
     * Runs {@code body} in one transaction on {@code c} and commits if {@code commit} accepts its result,
     * otherwise rolls back; a failure rolls back and is rethrown. The connection's auto-commit mode is
     * restored afterwards.
     */
    static <T> T run(Connection c, Dialect dialect, Locks postgresLocks, Body<T> body, Predicate<T> commit)
            throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        try (Statement st = c.createStatement()) {
            if (dialect == Dialect.POSTGRESQL) {
                c.setAutoCommit(false);
                postgresLocks.take(c);
            } else {
                c.setAutoCommit(true);
                st.execute("BEGIN IMMEDIATE");
            }
            T result;
            try {
                result = body.run();
            } catch (SQLException | RuntimeException e) {
                rollback(c, st, dialect, e);
                throw e;
            }
            if (!commit.test(result)) {
                rollback(c, st, dialect, null);
            } else if (dialect == Dialect.POSTGRESQL) {
                c.commit();
            } else {
                st.execute("COMMIT");
            }
            return result;
        } finally {
            c.setAutoCommit(autoCommit);
        }
    }

    /** The transaction-scoped advisory lock on one 64-bit key. */
    static void advisoryLock(Connection c, long key) throws SQLException {
        try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
            lock.setLong(1, key);
            lock.execute();
        }
    }

    /** The transaction-scoped advisory lock on a pair of 32-bit keys (a key space apart from the 64-bit one). */
    static void advisoryLock(Connection c, int key1, int key2) throws SQLException {
        try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?, ?)")) {
            lock.setInt(1, key1);
            lock.setInt(2, key2);
            lock.execute();
        }
    }

    /** Rolls back; a failure to do so is added to {@code failure}, or thrown when there is none. */
    private static void rollback(Connection c, Statement st, Dialect dialect, Exception failure) throws SQLException {
        try {
            if (dialect == Dialect.POSTGRESQL) {
                c.rollback();
            } else {
                st.execute("ROLLBACK");
            }
        } catch (SQLException e) {
            if (failure == null) {
                throw e;
            }
            failure.addSuppressed(e);
        }
    }
}
