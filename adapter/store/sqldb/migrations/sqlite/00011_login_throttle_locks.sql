-- One lock row per login-throttle key (the SHA-256 of email + client
-- address, as in login_failures). A reservation of a login attempt upserts
-- its key's row first and holds it until it commits, so that the count of
-- the key's attempts and the insert of one more are a single step; at is
-- the key's latest reservation (Unix milliseconds), by which idle keys are
-- purged. SQLite serialises writers anyway: the table keeps both dialects
-- alike.
-- +goose Up
CREATE TABLE login_throttle_locks (
    key_hash BLOB    NOT NULL PRIMARY KEY,
    at       INTEGER NOT NULL
);
CREATE INDEX ix_login_throttle_locks_at ON login_throttle_locks (at);

-- +goose Down
DROP TABLE IF EXISTS login_throttle_locks;
