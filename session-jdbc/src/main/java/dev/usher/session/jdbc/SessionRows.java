package dev.usher.session.jdbc;

import dev.usher.session.Session;
import dev.usher.session.SessionIds;
import dev.usher.session.SessionStoreException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Sessions to and from rows of one table: instants as epoch milliseconds, attributes as JSON text
 * ({@link JsonAttributes}), columns in the order of {@link SqlStatements#COLUMNS}. Stateless apart from
 * the table name its errors give; thread-safe.
 */
final class SessionRows {
    private final String table;

    SessionRows(String table) {
        this.table = table;
    }

    /** Binds owner … attributes (the order of {@link SqlStatements}' SET list) from {@code index}; returns the next index. */
    int bindFields(PreparedStatement ps, int index, Session s) throws SQLException {
        ps.setString(index, s.owner());
        return bindFieldsAfterOwner(ps, index + 1, s);
    }

    /** Binds created_at … attributes from {@code index} (the SET list without the owner); returns the next index. */
    int bindFieldsAfterOwner(PreparedStatement ps, int index, Session s) throws SQLException {
        int i = index;
        ps.setLong(i++, millis("createdAt", s.createdAt()));
        ps.setLong(i++, millis("lastAccessedAt", s.lastAccessedAt()));
        ps.setLong(i++, s.idleTimeout().toMillis());
        ps.setLong(i++, millis("absoluteExpiry", s.absoluteExpiry()));
        ps.setLong(i++, expiresAtMillis(s));
        ps.setLong(i++, s.version());
        ps.setString(i++, JsonAttributes.encode(s.attributes()));
        return i;
    }

    Optional<Session> first(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(session(rs)) : Optional.empty();
        }
    }

    List<Session> all(PreparedStatement ps) throws SQLException {
        List<Session> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(session(rs));
            }
        }
        return out;
    }

    private Session session(ResultSet rs) throws SQLException {
        String id = rs.getString(1);
        try {
            return new Session(id, rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)),
                    Instant.ofEpochMilli(rs.getLong(4)), Duration.ofMillis(rs.getLong(5)),
                    Instant.ofEpochMilli(rs.getLong(6)), rs.getLong(8), JsonAttributes.decode(rs.getString(9)));
        } catch (IllegalArgumentException e) {
            throw new SessionStoreException("row of session " + SessionIds.redact(id) + " in table " + table
                    + " cannot be read: " + e.getMessage(), e);
        }
    }

    static long millis(String name, Instant instant) {
        try {
            return instant.toEpochMilli();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(name + " " + instant + " is outside the range of epoch milliseconds", e);
        }
    }

    private static long expiresAtMillis(Session s) {
        try {
            return s.expiresAt().toEpochMilli();
        } catch (ArithmeticException | DateTimeException e) {
            throw new IllegalArgumentException("expiry of session " + SessionIds.redact(s.id())
                    + " is outside the range of epoch milliseconds", e);
        }
    }
}
