-- One lock row per login-throttle key (the SHA-256 of email + client
-- address, as in login_failures). A reservation of a login attempt upserts
-- its key's row first and holds it until it commits: concurrent
-- reservations of one key queue on its row lock, so that the count of the
-- key's attempts and the insert of one more are a single step. at is the
-- key's latest reservation (BIGINT Unix milliseconds), by which idle keys
-- are purged.
-- +goose Up
CREATE TABLE login_throttle_locks (
    key_hash BINARY(32) NOT NULL PRIMARY KEY,
    at       BIGINT     NOT NULL,
    KEY ix_login_throttle_locks_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS login_throttle_locks;
