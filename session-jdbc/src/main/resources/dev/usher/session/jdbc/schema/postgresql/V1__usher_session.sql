-- Usher session store, schema version 1, PostgreSQL 9.5 or later (ON CONFLICT, SKIP LOCKED).
-- JdbcSessionStore runs this itself unless built with createSchema(false); a host that runs its own
-- migrations applies it as is (the store replaces the name usher_session when tableName is set).
-- Instants are epoch milliseconds. expires_at = min(last_accessed_at + idle_timeout_ms, absolute_expiry_at),
-- kept in its own indexed column so that sweeping is an index range scan.
-- attributes is a JSON object of strings; json, not jsonb, because jsonb rejects the escape \u0000 and
-- session values may contain NUL. Read it with: SELECT attributes ->> 'name' FROM usher_session;
CREATE TABLE IF NOT EXISTS usher_session (
    id                 varchar(256) COLLATE "C" PRIMARY KEY,
    owner              varchar(256),
    created_at         bigint NOT NULL,
    last_accessed_at   bigint NOT NULL,
    idle_timeout_ms    bigint NOT NULL,
    absolute_expiry_at bigint NOT NULL,
    expires_at         bigint NOT NULL,
    version            bigint NOT NULL,
    attributes         json   NOT NULL
);
CREATE INDEX IF NOT EXISTS usher_session_expires_at_idx ON usher_session (expires_at);
CREATE INDEX IF NOT EXISTS usher_session_owner_idx ON usher_session (owner);
