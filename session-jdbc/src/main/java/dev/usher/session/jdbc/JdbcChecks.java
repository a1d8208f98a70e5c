package dev.usher.session.jdbc;

import dev.usher.session.Durations;
import dev.usher.session.SessionStoreException;
import dev.usher.session.StoreUnavailableException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLTimeoutException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;

/**
 * What {@link JdbcSessionStore.Builder#build()} checks before it builds a pool, so that a mistake in the
 * settings fails at once with its cause and the file or URL (passwords masked), where a pool would retry it
 * until its timeout and report it as an outage. Stateless.
 */
final class JdbcChecks {
    private JdbcChecks() {
    }

    /** The driver is the host's choice (an optional dependency): say which artifact is missing. */
    static void requireDriver(JdbcSessionStore.Dialect d) {
        String driverClass = d == JdbcSessionStore.Dialect.SQLITE ? "org.sqlite.JDBC" : "org.postgresql.Driver";
        try {
            Class.forName(driverClass, true, JdbcSessionStore.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            String artifact = d == JdbcSessionStore.Dialect.SQLITE ? "org.xerial:sqlite-jdbc" : "org.postgresql:postgresql";
            throw new IllegalStateException("JdbcSessionStore on " + d + " needs the JDBC driver " + artifact
                    + " on the class path (it is an optional dependency of session-jdbc): add it to the host's"
                    + " dependencies", e);
        }
    }

    /** A SQLite path that is a directory or has no parent directory is a mistake, not an outage. */
    static void checkSqliteFile(String jdbcUrl) {
        String rest = jdbcUrl.substring("jdbc:sqlite:".length());
        if (rest.startsWith("file:")) {
            rest = rest.substring("file:".length());
        }
        int query = rest.indexOf('?');
        String file = query >= 0 ? rest.substring(0, query) : rest;
        if (file.isEmpty()) {
            return;
        }
        Path path;
        try {
            path = Path.of(file).toAbsolutePath();
        } catch (RuntimeException e) {
            throw new SessionStoreException("jdbcUrl names the SQLite file '" + file + "', which is not a valid path: "
                    + e.getMessage(), e);
        }
        if (Files.isDirectory(path)) {
            throw new SessionStoreException("the SQLite session store " + path + " is a directory, not a database"
                    + " file: name a file inside it");
        }
        Path parent = path.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new SessionStoreException("the directory " + parent + " of the SQLite session store " + path
                    + " does not exist: create it first (JdbcSessionStore.sqlite(path) creates it)");
        }
    }

    /**
     * Connects once before any pool exists, so a mistake (nothing listening, unknown host, wrong password,
     * not a database) fails at once with its cause, where a pool would retry it until its timeout; only
     * a server that does not answer in time is reported as unavailable.
     */
    static void checkConnects(String jdbcUrl, Properties properties, JdbcSessionStore.Dialect d, Duration timeout,
                              Duration retryAfter) {
        String where = d == JdbcSessionStore.Dialect.SQLITE ? "the SQLite session store " + jdbcUrl.substring("jdbc:sqlite:".length())
                : "the session store database " + redact(jdbcUrl);
        try (Connection c = DriverManager.getConnection(jdbcUrl, properties);
             Statement st = c.createStatement()) {
            // On SQLite this reads the file's header: a file that is not a database fails here.
            st.execute(d == JdbcSessionStore.Dialect.SQLITE ? "PRAGMA schema_version" : "SELECT 1");
        } catch (SQLException e) {
            String cause = rootMessage(e);
            if (isSlow(e)) {
                throw new StoreUnavailableException(where + " did not answer within " + Durations.format(timeout)
                        + " (" + cause + ")", e, retryAfter);
            }
            throw new SessionStoreException("could not open " + where + ": " + cause, e);
        }
    }

    private static boolean isSlow(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException || t instanceof SQLTimeoutException) {
                return true;
            }
            if (t instanceof SQLException s && ("57P03".equals(s.getSQLState()) || "53300".equals(s.getSQLState()))) {
                return true; // starting up, or too many connections: it will answer later
            }
            String m = t.getMessage();
            if (m != null && m.toLowerCase(Locale.ROOT).contains("timed out")) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        StringBuilder out = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable t = e.getCause(); t != null && t != e; t = t.getCause()) {
            if (t.getMessage() != null && !out.toString().contains(t.getMessage())) {
                out.append("; ").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            }
        }
        return out.toString();
    }

    /** The URL without secrets: {@code password=} parameters and user-info are masked. */
    static String redact(String url) {
        return url.replaceAll("(?i)((?:password|pwd|sslpassword)=)[^&;]*", "$1***")
                .replaceAll("//[^/@?]*@", "//***@");
    }
}
