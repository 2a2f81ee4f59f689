-- Dashboard accounts: users (tenant_id NULL = a super-admin bound to no
-- tenant), their login sessions (only the SHA-256 of a session id is
-- stored) and recent failed logins for throttling (keyed by a SHA-256 of
-- email + client address). Times are BIGINT Unix milliseconds.
-- +goose Up
CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email         VARCHAR(254) NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    tenant_id     BIGINT       NULL,
    role          VARCHAR(16)  NOT NULL,
    super_admin   TINYINT(1)   NOT NULL DEFAULT 0,
    created_at    BIGINT       NOT NULL,
    UNIQUE KEY uq_users_email (email),
    KEY ix_users_tenant (tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE user_sessions (
    id_hash      BINARY(32)   NOT NULL PRIMARY KEY,
    user_id      BIGINT       NOT NULL,
    created_at   BIGINT       NOT NULL,
    last_seen_at BIGINT       NOT NULL,
    expires_at   BIGINT       NOT NULL,
    client_addr  VARCHAR(255) NOT NULL,
    KEY ix_user_sessions_user (user_id),
    KEY ix_user_sessions_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE login_failures (
    id       BIGINT     NOT NULL AUTO_INCREMENT PRIMARY KEY,
    key_hash BINARY(32) NOT NULL,
    at       BIGINT     NOT NULL,
    KEY ix_login_failures_key_at (key_hash, at),
    KEY ix_login_failures_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS login_failures;
DROP TABLE IF EXISTS user_sessions;
DROP TABLE IF EXISTS users;
