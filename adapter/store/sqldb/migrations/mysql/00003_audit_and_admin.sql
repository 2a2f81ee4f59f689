-- Audit trail of administrative actions and refused cross-tenant attempts.
-- tenant_id 0 = the platform (no tenant). at is Unix milliseconds.
-- +goose Up
CREATE TABLE audit_logs (
    id          BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at          BIGINT        NOT NULL,
    actor       VARCHAR(64)   NOT NULL,
    tenant_id   BIGINT        NOT NULL,
    action      VARCHAR(64)   NOT NULL,
    target      VARCHAR(255)  NOT NULL,
    remote_addr VARCHAR(255)  NOT NULL,
    detail      VARCHAR(1000) NOT NULL,
    KEY ix_audit_logs_tenant_at (tenant_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS audit_logs;
