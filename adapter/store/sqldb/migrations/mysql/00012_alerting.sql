-- Alerting (adapter/store/alerts): a tenant's rules with their schedule and
-- claim, the rules' instances (one per series or group_by group, keyed by
-- the hex SHA-256 of the instance key), the firing episodes (alerts), the
-- history of transitions and the outbox of notifications to send. Every
-- row carries its tenant. Labels are JSON objects, sample_values a JSON
-- array of {"ts", "value"}; condition_json is every rule field that is not
-- a column. Times and durations are BIGINT Unix milliseconds. The outbox
-- has no link to the rules: a deleted rule's notifications still go out.
-- MEDIUMTEXT where a rule's annotations (20 × 4 KiB templates, rendered up
-- to 8 KiB) would overflow TEXT's 64 KiB.
-- +goose Up
CREATE TABLE alert_rules (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id      BIGINT       NOT NULL,
    name           VARCHAR(200) NOT NULL,
    metric         VARCHAR(255) NOT NULL,
    condition_json MEDIUMTEXT   NOT NULL,
    `window`       BIGINT       NOT NULL,
    cadence        BIGINT       NOT NULL,
    state          VARCHAR(16)  NOT NULL DEFAULT 'normal',
    paused         TINYINT(1)   NOT NULL DEFAULT 0,
    next_eval_at   BIGINT       NOT NULL,
    claim_until    BIGINT       NOT NULL DEFAULT 0,
    claimed_by     VARCHAR(255) NOT NULL DEFAULT '',
    last_eval_at   BIGINT       NOT NULL DEFAULT 0,
    last_error     TEXT         NOT NULL,
    created_at     BIGINT       NOT NULL,
    updated_at     BIGINT       NOT NULL,
    KEY ix_alert_rules_due (paused, next_eval_at),
    KEY ix_alert_rules_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE alert_instances (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rule_id      BIGINT      NOT NULL,
    tenant_id    BIGINT      NOT NULL,
    instance_key TEXT        NOT NULL,
    key_hash     CHAR(64)    NOT NULL,
    labels       TEXT        NOT NULL,
    state        VARCHAR(16) NOT NULL,
    since        BIGINT      NOT NULL,
    active_at    BIGINT      NOT NULL,
    fired_at     BIGINT      NOT NULL,
    value        DOUBLE      NULL,
    last_eval_at BIGINT      NOT NULL,
    UNIQUE KEY uq_alert_instances_rule_key (rule_id, key_hash),
    KEY ix_alert_instances_tenant (tenant_id, id),
    KEY ix_alert_instances_state (state, tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE alerts (
    id            BIGINT     NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rule_id       BIGINT     NOT NULL,
    tenant_id     BIGINT     NOT NULL,
    instance_key  TEXT       NOT NULL,
    key_hash      CHAR(64)   NOT NULL,
    labels        TEXT       NOT NULL,
    fired_at      BIGINT     NOT NULL,
    resolved_at   BIGINT     NULL,
    sample_values MEDIUMTEXT NOT NULL,
    KEY ix_alerts_instance (rule_id, key_hash, resolved_at),
    KEY ix_alerts_rule (rule_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE alert_transitions (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    rule_id      BIGINT      NOT NULL,
    tenant_id    BIGINT      NOT NULL,
    instance_key TEXT        NOT NULL,
    labels       TEXT        NOT NULL,
    from_state   VARCHAR(16) NOT NULL,
    to_state     VARCHAR(16) NOT NULL,
    at           BIGINT      NOT NULL,
    value        DOUBLE      NULL,
    note         TEXT        NOT NULL,
    KEY ix_alert_transitions_rule (rule_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE alert_outbox (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id    BIGINT      NOT NULL,
    rule_id      BIGINT      NOT NULL,
    kind         VARCHAR(16) NOT NULL,
    instance_key TEXT        NOT NULL,
    at           BIGINT      NOT NULL,
    payload      MEDIUMTEXT  NOT NULL,
    created_at   BIGINT      NOT NULL,
    delivered_at BIGINT      NULL,
    attempts     INT         NOT NULL DEFAULT 0,
    KEY ix_alert_outbox_pending (delivered_at, id),
    KEY ix_alert_outbox_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS alert_outbox;
DROP TABLE IF EXISTS alert_transitions;
DROP TABLE IF EXISTS alerts;
DROP TABLE IF EXISTS alert_instances;
DROP TABLE IF EXISTS alert_rules;
