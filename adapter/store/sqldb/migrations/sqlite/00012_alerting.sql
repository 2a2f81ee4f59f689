-- Alerting (adapter/store/alerts): a tenant's rules with their schedule and
-- claim, the rules' instances (one per series or group_by group, keyed by
-- the hex SHA-256 of the instance key), the firing episodes (alerts), the
-- history of transitions and the outbox of notifications to send. Every
-- row carries its tenant. Labels are JSON objects, sample_values a JSON
-- array of {"ts", "value"}; condition_json is every rule field that is not
-- a column. Times and durations are Unix milliseconds. The outbox has no
-- link to the rules: a deleted rule's notifications still go out.
-- +goose Up
CREATE TABLE alert_rules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    metric         TEXT    NOT NULL,
    condition_json TEXT    NOT NULL,
    `window`       INTEGER NOT NULL,
    cadence        INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'normal',
    paused         INTEGER NOT NULL DEFAULT 0,
    next_eval_at   INTEGER NOT NULL,
    claim_until    INTEGER NOT NULL DEFAULT 0,
    claimed_by     TEXT    NOT NULL DEFAULT '',
    last_eval_at   INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX ix_alert_rules_due ON alert_rules (paused, next_eval_at);
CREATE INDEX ix_alert_rules_tenant ON alert_rules (tenant_id, id);

CREATE TABLE alert_instances (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id      INTEGER NOT NULL,
    tenant_id    INTEGER NOT NULL,
    instance_key TEXT    NOT NULL,
    key_hash     TEXT    NOT NULL,
    labels       TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    since        INTEGER NOT NULL,
    active_at    INTEGER NOT NULL,
    fired_at     INTEGER NOT NULL,
    value        REAL    NULL,
    last_eval_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_alert_instances_rule_key ON alert_instances (rule_id, key_hash);
CREATE INDEX ix_alert_instances_tenant ON alert_instances (tenant_id, id);
CREATE INDEX ix_alert_instances_state ON alert_instances (state, tenant_id);

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id       INTEGER NOT NULL,
    tenant_id     INTEGER NOT NULL,
    instance_key  TEXT    NOT NULL,
    key_hash      TEXT    NOT NULL,
    labels        TEXT    NOT NULL,
    fired_at      INTEGER NOT NULL,
    resolved_at   INTEGER NULL,
    sample_values TEXT    NOT NULL
);
CREATE INDEX ix_alerts_instance ON alerts (rule_id, key_hash, resolved_at);
CREATE INDEX ix_alerts_rule ON alerts (rule_id, id);

CREATE TABLE alert_transitions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id      INTEGER NOT NULL,
    tenant_id    INTEGER NOT NULL,
    instance_key TEXT    NOT NULL,
    labels       TEXT    NOT NULL,
    from_state   TEXT    NOT NULL,
    to_state     TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    value        REAL    NULL,
    note         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ix_alert_transitions_rule ON alert_transitions (rule_id, id);

CREATE TABLE alert_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    INTEGER NOT NULL,
    rule_id      INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    instance_key TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    payload      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER NULL,
    attempts     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_alert_outbox_pending ON alert_outbox (delivered_at, id);
CREATE INDEX ix_alert_outbox_tenant ON alert_outbox (tenant_id, id);

-- +goose Down
DROP TABLE IF EXISTS alert_outbox;
DROP TABLE IF EXISTS alert_transitions;
DROP TABLE IF EXISTS alerts;
DROP TABLE IF EXISTS alert_instances;
DROP TABLE IF EXISTS alert_rules;
