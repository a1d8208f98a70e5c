package dev.usher.session.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Prepared statements kept per connection of the store's own SQLite pools. sqlite-jdbc compiles the SQL on
 * every {@code prepareStatement}, which costs about as much as running a select by key, and HikariCP keeps
 * no statements, so without this a touch would compile its select on every call. PostgreSQL's driver keeps
 * server-side prepared statements per connection itself, and a host's {@code DataSource} may hand out
 * wrappers whose identity means nothing, so there every call prepares as usual (the cache is off).
 *
 * <p>Thread-safety: a statement belongs to one physical connection, which the pool lends to one thread at a
 * time, so a statement is only ever used by the thread holding its connection. Its result set is closed
 * after every use, which resets it, so a cached select holds no read snapshot between calls and does not
 * hold back WAL checkpoints. A statement whose use failed is closed and prepared afresh next time. When the
 * pool closes a connection, SQLite closes its statements; the entry is dropped the next time a connection
 * not yet seen comes along and the map holds more entries than the pools have connections.
 */
final class StatementCache {

    @FunctionalInterface
    interface Use<T> {
        T run(PreparedStatement ps) throws SQLException;
    }

    private final boolean enabled;
    /** Most connections the pools hold at once: more entries than this mean some connections are gone. */
    private final int connections;
    private final Map<Connection, Map<String, PreparedStatement>> byConnection = new ConcurrentHashMap<>();

    private StatementCache(boolean enabled, int connections) {
        this.enabled = enabled;
        this.connections = connections;
    }

    /** A cache over pools of at most {@code connections} connections in all. */
    static StatementCache keeping(int connections) {
        return new StatementCache(true, connections);
    }

    /** Prepares every statement anew and closes it after use. */
    static StatementCache off() {
        return new StatementCache(false, 0);
    }

    /** Runs {@code use} on the statement for {@code sql} on {@code c}, which the caller holds. */
    <T> T use(Connection c, String sql, Use<T> use) throws SQLException {
        if (!enabled) {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                return use.run(ps);
            }
        }
        // The pool's proxy is new on every checkout; the statements live on the connection behind it.
        Connection physical = c.unwrap(Connection.class);
        Map<String, PreparedStatement> statements = byConnection.get(physical);
        if (statements == null) {
            statements = firstSeen(physical);
        }
        PreparedStatement ps = statements.get(sql);
        if (ps == null || ps.isClosed()) {
            ps = physical.prepareStatement(sql);
            statements.put(sql, ps);
        }
        try {
            return use.run(ps);
        } catch (SQLException | RuntimeException e) {
            statements.remove(sql);
            try {
                ps.close();
            } catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    private Map<String, PreparedStatement> firstSeen(Connection physical) throws SQLException {
        if (byConnection.size() >= connections) {
            for (Connection known : byConnection.keySet()) {
                if (known.isClosed()) {
                    byConnection.remove(known);
                }
            }
        }
        Map<String, PreparedStatement> statements = new ConcurrentHashMap<>();
        byConnection.put(physical, statements);
        return statements;
    }

    /** Forgets every statement; call once the pools are closed, which closed the statements with them. */
    void clear() {
        byConnection.clear();
    }
}
