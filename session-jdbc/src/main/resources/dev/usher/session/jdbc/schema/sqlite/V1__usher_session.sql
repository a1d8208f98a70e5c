-- Usher session store, schema version 1, SQLite 3.35 or later (RETURNING).
-- JdbcSessionStore runs this itself unless built with createSchema(false); a host that runs its own
-- migrations applies it as is (the store replaces the name usher_session when tableName is set).
-- Instants are epoch milliseconds. expires_at = min(last_accessed_at + idle_timeout_ms, absolute_expiry_at),
-- kept in its own indexed column so that sweeping is an index range scan.
-- attributes is a JSON object of strings: SELECT json_extract(attributes, '$.name') FROM usher_session;
CREATE TABLE IF NOT EXISTS usher_session (
    id                 TEXT    NOT NULL PRIMARY KEY,
    owner              TEXT,
    created_at         INTEGER NOT NULL,
    last_accessed_at   INTEGER NOT NULL,
    idle_timeout_ms    INTEGER NOT NULL,
    absolute_expiry_at INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    attributes         TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS usher_session_expires_at_idx ON usher_session (expires_at);
CREATE INDEX IF NOT EXISTS usher_session_owner_idx ON usher_session (owner);
