-- Audit trail of administrative actions and refused cross-tenant attempts.
-- tenant_id 0 = the platform (no tenant). at is Unix milliseconds.
-- +goose Up
CREATE TABLE audit_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    tenant_id   INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    remote_addr TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX ix_audit_logs_tenant_at ON audit_logs (tenant_id, at);

-- +goose Down
DROP TABLE IF EXISTS audit_logs;
