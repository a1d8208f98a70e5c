package dev.usher.session.jdbc;

import dev.usher.session.jdbc.JdbcSessionStore.Dialect;
import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;

/**
 * How each engine reports trouble, sorted into what the store does about it: an outage (opens the
 * circuit), a call that could not be served in time (unavailable), a taken key (a refused write), or
 * anything else. Stateless.
 */
final class EngineErrors {
    private static final int SQLITE_BUSY = 5;
    private static final int SQLITE_LOCKED = 6;
    private static final int SQLITE_IOERR = 10;
    private static final int SQLITE_CANTOPEN = 14;
    private static final int SQLITE_CONSTRAINT = 19;

    private EngineErrors() {
    }

    /**
     * Whether the failure says the database itself cannot be reached (refused, reset, timed out, shut down,
     * a SQLite file that cannot be opened or read), which opens the circuit. A busy SQLite file or a pool
     * whose connections are all in use is load, not an outage: those fail alone, and so do constraint
     * violations and bad input.
     */
    static boolean isConnectionLevel(Dialect dialect, SQLException e) {
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
    static boolean isUnavailable(Dialect dialect, SQLException e) {
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

    static boolean isDuplicateKey(Dialect dialect, SQLException e) {
        return dialect == Dialect.POSTGRESQL
                ? "23505".equals(e.getSQLState())
                : (e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT;
    }
}
