package dev.usher.session.jdbc;

import dev.usher.session.OwnerLimit;
import dev.usher.session.OwnerLimitPolicy;
import dev.usher.session.OwnerLimitedWrite;
import dev.usher.session.Session;
import dev.usher.session.SessionLimitException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The row writes, and the writes that must count before they write: {@code maxSessions} and the owner
 * limit. Each counting write is one transaction serialised across instances on what it counts (see
 * {@link SerialisedTransaction}): PostgreSQL takes transaction-scoped advisory locks, always the capacity
 * lock before the owner's, so two such transactions never wait for each other in a cycle; SQLite takes its
 * write lock at {@code BEGIN IMMEDIATE}. Thread-safe.
 */
final class LimitedWrites {
    private final Database db;
    private final SqlStatements sql;
    private final SessionRows rows;
    /** 0 for no limit. */
    private final int maxSessions;

    LimitedWrites(Database db, SqlStatements sql, SessionRows rows, int maxSessions) {
        this.db = db;
        this.sql = sql;
        this.rows = rows;
        this.maxSessions = maxSessions;
    }

    /**
     * One {@code INSERT … ON CONFLICT DO NOTHING}; with maxSessions, a transaction that counts the sessions
     * first, serialised with every other instance's inserts.
     */
    boolean insert(Session session) {
        if (maxSessions == 0) {
            return db.write("insert", c -> insertRow(c, session));
        }
        return db.write("insert", c -> inTransaction(c, null, () -> {
            checkCapacity(c);
            return insertRow(c, session);
        }, inserted -> inserted));
    }

    /** One statement that moves the row to the new id if it is still at {@code expectedVersion}. */
    boolean changeId(String oldId, Session renamed, long expectedVersion) {
        return db.write("changeId", c -> changeIdRow(c, oldId, renamed, expectedVersion));
    }

    OwnerLimitedWrite insertWithinOwnerLimit(Session session, OwnerLimit limit, Instant now) {
        return ownerLimited("insertWithinOwnerLimit", session, null, limit, now, c -> {
            if (maxSessions > 0) {
                checkCapacity(c);
            }
            return insertRow(c, session);
        });
    }

    OwnerLimitedWrite changeIdWithinOwnerLimit(String oldId, Session renamed, long expectedVersion,
                                               OwnerLimit limit, Instant now) {
        return ownerLimited("changeIdWithinOwnerLimit", renamed, oldId, limit, now,
                c -> changeIdRow(c, oldId, renamed, expectedVersion));
    }

    private boolean insertRow(Connection c, Session session) throws SQLException {
        return db.statements.use(c, sql.insert, ps -> {
            ps.setString(1, session.id());
            rows.bindFields(ps, 2, session);
            return ps.executeUpdate() == 1;
        });
    }

    private boolean changeIdRow(Connection c, String oldId, Session renamed, long expectedVersion)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql.changeId)) {
            ps.setString(1, renamed.id());
            int next = rows.bindFields(ps, 2, renamed);
            ps.setString(next, oldId);
            ps.setLong(next + 1, expectedVersion);
            return ps.executeUpdate() == 1;
        } catch (SQLException e) {
            // One statement moves the row; if the new id is taken the key constraint refuses it whole.
            if (db.isDuplicateKey(e)) {
                return false;
            }
            throw e;
        }
    }

    /** Throws past maxSessions; call inside a transaction that holds the capacity lock. */
    private void checkCapacity(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql.count)) {
            rs.next();
            if (rs.getLong(1) >= maxSessions) {
                throw new SessionLimitException("session store " + db.table + " is full: maxSessions=" + maxSessions,
                        "maxSessions", maxSessions);
            }
        }
    }

    /**
     * One transaction serialised on the owner: counts the owner's live sessions, writes, and removes the
     * oldest beyond the limit before it commits. Every instance's owner-limited writes for one owner take
     * the same lock, so the decision is atomic across instances.
     */
    private OwnerLimitedWrite ownerLimited(String operation, Session fresh, String retiringId, OwnerLimit limit,
                                           Instant now, Database.Work<Boolean> write) {
        long nowMillis = SessionRows.millis("now", now);
        return db.write(operation, c -> inTransaction(c, fresh.owner(), () -> {
            List<String> live = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql.liveOfOwner)) {
                ps.setString(1, fresh.owner());
                ps.setLong(2, nowMillis);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String id = rs.getString(1);
                        if (!id.equals(fresh.id()) && !id.equals(retiringId)) {
                            live.add(id);
                        }
                    }
                }
            }
            if (limit.policy() == OwnerLimitPolicy.REJECT && live.size() >= limit.max()) {
                return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.OWNER_AT_LIMIT, List.of());
            }
            if (!write.run(c)) {
                return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.REFUSED, List.of());
            }
            List<Session> ended = new ArrayList<>();
            // liveOfOwner is ordered oldest first (created_at, id), the order every instance trims in.
            for (String oldest : live.subList(0, Math.max(0, live.size() + 1 - limit.max()))) {
                try (PreparedStatement ps = c.prepareStatement(sql.remove)) {
                    ps.setString(1, oldest);
                    rows.first(ps).ifPresent(ended::add);
                }
            }
            return new OwnerLimitedWrite(OwnerLimitedWrite.Outcome.WRITTEN, ended);
        }, result -> result.outcome() == OwnerLimitedWrite.Outcome.WRITTEN));
    }

    /**
     * One transaction serialised with every instance's inserts (when maxSessions is set) and with every
     * owner-limited write for {@code owner} (when not null), the advisory locks always in that order.
     */
    private <T> T inTransaction(Connection c, String owner, SerialisedTransaction.Body<T> body, Predicate<T> commit)
            throws SQLException {
        String table = db.table;
        return SerialisedTransaction.run(c, db.dialect, locking -> {
            if (maxSessions > 0) {
                SerialisedTransaction.advisoryLock(locking, ~table.hashCode(), 0);
            }
            if (owner != null) {
                SerialisedTransaction.advisoryLock(locking, table.hashCode(), owner.hashCode());
            }
        }, body, commit);
    }
}
