package dev.usher.session.jdbc;

import dev.usher.session.Session;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;

/**
 * The expiry sweep's two steps. {@link #claim} stamps {@code claimed_until} (now plus the claim timeout) on
 * expired rows in one statement and returns them; {@link #acknowledge} deletes them once their events are
 * delivered. Until then the claimed rows are invisible to every other statement, and a claim whose deadline
 * passed (its sweeper died) is claimed again by the next sweep on any instance, so no EXPIRED event is lost.
 * On PostgreSQL concurrent sweepers claim disjoint rows ({@code FOR UPDATE SKIP LOCKED}); SQLite runs one
 * writer at a time. Thread-safe.
 */
final class ExpiryClaims {
    /** Ids per acknowledging DELETE: well under SQLite's 999 bound parameters. */
    private static final int ACKNOWLEDGE_CHUNK = 500;

    private final Database db;
    private final SqlStatements sql;
    private final SessionRows rows;
    private final Duration claimTimeout;

    ExpiryClaims(Database db, SqlStatements sql, SessionRows rows, Duration claimTimeout) {
        this.db = db;
        this.sql = sql;
        this.rows = rows;
        this.claimTimeout = claimTimeout;
    }

    List<Session> claim(Instant now, int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1 but was " + limit);
        }
        long nowMillis = SessionRows.millis("now", now);
        long deadline = nowMillis + claimTimeout.toMillis();
        return db.write("removeExpired", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.claimExpired)) {
                ps.setLong(1, deadline);
                ps.setLong(2, nowMillis);
                ps.setLong(3, nowMillis);
                ps.setInt(4, limit);
                return rows.all(ps);
            }
        });
    }

    void acknowledge(Collection<String> ids) {
        List<String> storable = ids.stream().filter(StorableText::isStorableId).toList();
        for (int from = 0; from < storable.size(); from += ACKNOWLEDGE_CHUNK) {
            List<String> chunk = storable.subList(from, Math.min(storable.size(), from + ACKNOWLEDGE_CHUNK));
            String statement = sql.acknowledgePrefix + "?, ".repeat(chunk.size() - 1) + "?)";
            db.write("acknowledgeExpired", c -> {
                try (PreparedStatement ps = c.prepareStatement(statement)) {
                    for (int i = 0; i < chunk.size(); i++) {
                        ps.setString(i + 1, chunk.get(i));
                    }
                    return ps.executeUpdate();
                }
            });
        }
    }
}
