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
    final String changeId;
    final String remove;
    final String removeExpired;
    final String findByOwner;
    final String liveOfOwner;
    final String listFirst;
    final String listAfter;
    final String count;
    final String probe;

    SqlStatements(Dialect dialect, String table) {
        // PostgreSQL's column is json: the bound text is cast so the driver may send it as a plain string.
        String attributes = dialect == Dialect.POSTGRESQL ? "CAST(? AS json)" : "?";
        load = "SELECT " + COLUMNS + " FROM " + table + " WHERE id = ?";
        insert = "INSERT INTO " + table + " (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, " + attributes
                + ") ON CONFLICT (id) DO NOTHING";
        String set = "owner = ?, created_at = ?, last_accessed_at = ?, idle_timeout_ms = ?, absolute_expiry_at = ?,"
                + " expires_at = ?, version = ?, attributes = " + attributes;
        replace = "UPDATE " + table + " SET " + set + " WHERE id = ? AND version = ?";
        changeId = "UPDATE " + table + " SET id = ?, " + set + " WHERE id = ? AND version = ?";
        remove = "DELETE FROM " + table + " WHERE id = ? RETURNING " + COLUMNS;
        // PostgreSQL: concurrent sweepers lock disjoint rows (SKIP LOCKED) and each deletes only what it
        // locked, so every expired session is returned to exactly one of them; a row being updated by a
        // writer is skipped rather than waited for. SQLite has one writer at a time and this is a single
        // statement, so the same shape without the lock clause already claims each row exactly once.
        String lock = dialect == Dialect.POSTGRESQL ? " FOR UPDATE SKIP LOCKED" : "";
        removeExpired = "DELETE FROM " + table + " WHERE id IN (SELECT id FROM " + table
                + " WHERE expires_at <= ? ORDER BY expires_at LIMIT ?" + lock + ") RETURNING " + COLUMNS;
        findByOwner = "SELECT " + COLUMNS + " FROM " + table + " WHERE owner = ?";
        liveOfOwner = "SELECT id FROM " + table + " WHERE owner = ? AND expires_at > ? ORDER BY created_at, id";
        listFirst = "SELECT " + COLUMNS + " FROM " + table + " ORDER BY id LIMIT ?";
        listAfter = "SELECT " + COLUMNS + " FROM " + table + " WHERE id > ? ORDER BY id LIMIT ?";
        count = "SELECT COUNT(*) FROM " + table;
        probe = "SELECT " + COLUMNS + " FROM " + table + " WHERE 1 = 0";
    }
}
