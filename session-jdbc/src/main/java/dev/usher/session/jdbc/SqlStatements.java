package dev.usher.session.jdbc;

import dev.usher.session.jdbc.JdbcSessionStore.Dialect;

/**
 * The SQL of one store: its dialect's statements with the configured table name filled in. The table
 * name is validated as a plain identifier before it gets here, and every value is a bind parameter, so
 * no caller-supplied text ever becomes SQL.
 */
final class SqlStatements {
    static final String COLUMNS =
            "id, owner, created_at, last_accessed_at, idle_timeout_ms, absolute_expiry_at, expires_at, version, attributes";

    final String load;
    final String insert;
    final String replace;
    /**
     * SQLite only (null on PostgreSQL): {@link #replace} for a session whose owner is already stored,
     * leaving the owner column out of the SET list (see {@link JdbcSessionStore#replace}).
     */
    final String replaceSameOwner;
    final String changeId;
    final String remove;
    final String claimExpired;
    final String acknowledgePrefix;
    final String findByOwner;
    final String liveOfOwner;
    final String listFirst;
    final String listAfter;
    final String count;
    final String probe;

    SqlStatements(Dialect dialect, String table) {
        // PostgreSQL's column is json: the bound text is cast so the driver may send it as a plain string.
        String attributes = dialect == Dialect.POSTGRESQL ? "CAST(? AS json)" : "?";
        // A row with claimed_until set has been claimed by a sweeper and only waits for its event to be
        // delivered: it is gone for every statement but the sweep's.
        String visible = " AND claimed_until IS NULL";
        load = "SELECT " + COLUMNS + " FROM " + table + " WHERE id = ?" + visible;
        insert = "INSERT INTO " + table + " (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, " + attributes
                + ") ON CONFLICT (id) DO NOTHING";
        String set = "owner = ?, created_at = ?, last_accessed_at = ?, idle_timeout_ms = ?, absolute_expiry_at = ?,"
                + " expires_at = ?, version = ?, attributes = " + attributes;
        replace = "UPDATE " + table + " SET " + set + " WHERE id = ? AND version = ?" + visible;
        // SQLite rewrites an index entry for every indexed column named in SET, whether its value changed or
        // not; PostgreSQL compares the values itself, so it needs no such variant.
        replaceSameOwner = dialect == Dialect.SQLITE ? "UPDATE " + table + " SET " + set.substring(set.indexOf("created_at"))
                + " WHERE id = ? AND version = ? AND owner IS ?" + visible : null;
        changeId = "UPDATE " + table + " SET id = ?, " + set + " WHERE id = ? AND version = ?" + visible;
        remove = "DELETE FROM " + table + " WHERE id = ?" + visible + " RETURNING " + COLUMNS;
        // PostgreSQL: concurrent sweepers lock disjoint rows (SKIP LOCKED) and each claims only what it
        // locked, so every expired session is returned to exactly one of them; a row being updated by a
        // writer is skipped rather than waited for. SQLite has one writer at a time and this is a single
        // statement, so the same shape without the lock clause already claims each row exactly once. A claim
        // past its deadline (its sweeper died before acknowledging) is claimed again the same way.
        String lock = dialect == Dialect.POSTGRESQL ? " FOR UPDATE SKIP LOCKED" : "";
        claimExpired = "UPDATE " + table + " SET claimed_until = ? WHERE id IN (SELECT id FROM " + table
                + " WHERE expires_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)"
                + " ORDER BY expires_at LIMIT ?" + lock + ") RETURNING " + COLUMNS;
        acknowledgePrefix = "DELETE FROM " + table + " WHERE claimed_until IS NOT NULL AND id IN (";
        findByOwner = "SELECT " + COLUMNS + " FROM " + table + " WHERE owner = ?" + visible;
        liveOfOwner = "SELECT id FROM " + table + " WHERE owner = ? AND expires_at > ?" + visible
                + " ORDER BY created_at, id";
        listFirst = "SELECT " + COLUMNS + " FROM " + table + " WHERE claimed_until IS NULL ORDER BY id LIMIT ?";
        listAfter = "SELECT " + COLUMNS + " FROM " + table + " WHERE id > ?" + visible + " ORDER BY id LIMIT ?";
        count = "SELECT COUNT(*) FROM " + table + " WHERE claimed_until IS NULL";
        probe = "SELECT " + COLUMNS + ", claimed_until FROM " + table + " WHERE 1 = 0";
    }
}
