-- Dashboard accounts: users (tenant_id NULL = a super-admin bound to no
-- tenant), their login sessions (only the SHA-256 of a session id is
-- stored) and recent failed logins for throttling (keyed by a SHA-256 of
-- email + client address). Times are Unix milliseconds.
-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    tenant_id     INTEGER NULL,
    role          TEXT    NOT NULL,
    super_admin   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_users_email ON users (email);
CREATE INDEX ix_users_tenant ON users (tenant_id);

CREATE TABLE user_sessions (
    id_hash      BLOB    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    client_addr  TEXT    NOT NULL
);
CREATE INDEX ix_user_sessions_user ON user_sessions (user_id);
CREATE INDEX ix_user_sessions_expires ON user_sessions (expires_at);

CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash BLOB    NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX ix_login_failures_key_at ON login_failures (key_hash, at);
CREATE INDEX ix_login_failures_at ON login_failures (at);

-- +goose Down
DROP TABLE IF EXISTS login_failures;
DROP TABLE IF EXISTS user_sessions;
DROP TABLE IF EXISTS users;
