-- Usher session store, schema version 2: durable expiry claims.
-- A sweeper claims an expired session by setting claimed_until (epoch milliseconds) instead of deleting it,
-- and deletes the row once the session's EXPIRED event is delivered. A claim whose claimer died is taken over
-- by another sweeper after claimed_until. Claimed rows are invisible to every other statement of the store.
ALTER TABLE usher_session ADD COLUMN claimed_until INTEGER;
