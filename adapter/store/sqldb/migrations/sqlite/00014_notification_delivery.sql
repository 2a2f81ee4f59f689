-- Notification delivery (adapter/store/notifications): the dispatcher's
-- state between the alerting outbox and the receivers. A delivery is one
-- outbox row bound for one channel (its state: waiting, held, silenced,
-- planned, skipped or suppressed; message_id once planned); a message is
-- what a sender claims, sends and retries (one webhook-id, many
-- deliveries). not_before is a message's first attempt's time and never
-- changes (the budget counts it), next_attempt_at moves with each retry.
-- notification_firing is the repeat schedule: what each channel was last
-- told of a still-firing instance, keyed by the hex SHA-256 of the instance
-- key as alert_instances is. Silences keep their matchers as a JSON array
-- of {"tag", "op", "value"}; notification_tenant_limits holds the tenants'
-- per-minute budget overrides. Every row carries its tenant; times are
-- Unix milliseconds. ix_alert_outbox_pending_tenant lets the planner take
-- each tenant's oldest unexpanded rows without reading another tenant's
-- backlog.
-- +goose Up
CREATE TABLE notification_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    INTEGER NOT NULL,
    channel_id   INTEGER NOT NULL,
    rule_id      INTEGER NOT NULL,
    outbox_id    INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    instance_key TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    message_id   INTEGER NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX ix_notification_deliveries_state ON notification_deliveries (state, tenant_id, id);
CREATE INDEX ix_notification_deliveries_message ON notification_deliveries (message_id);

CREATE TABLE notification_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    rule_id          INTEGER NOT NULL,
    kind             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    items            INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    not_before       INTEGER NOT NULL,
    claim_until      INTEGER NOT NULL DEFAULT 0,
    claimed_by       TEXT    NOT NULL DEFAULT '',
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_notification_messages_claim ON notification_messages (status, tenant_id, next_attempt_at, id);
CREATE INDEX ix_notification_messages_tenant ON notification_messages (tenant_id, id);
CREATE INDEX ix_notification_messages_sent ON notification_messages (not_before, tenant_id, channel_id);

CREATE TABLE notification_firing (
    tenant_id    INTEGER NOT NULL,
    channel_id   INTEGER NOT NULL,
    rule_id      INTEGER NOT NULL,
    key_hash     TEXT    NOT NULL,
    instance_key TEXT    NOT NULL,
    outbox_id    INTEGER NOT NULL,
    last_sent_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, rule_id, key_hash)
);
CREATE INDEX ix_notification_firing_sent ON notification_firing (last_sent_at);

CREATE TABLE notification_silences (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     INTEGER NOT NULL,
    rule_id       INTEGER NOT NULL,
    matchers_json TEXT    NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    comment       TEXT    NOT NULL DEFAULT '',
    created_by    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);
CREATE INDEX ix_notification_silences_active ON notification_silences (tenant_id, ends_at);
CREATE INDEX ix_notification_silences_tenant ON notification_silences (tenant_id, id);

CREATE TABLE notification_tenant_limits (
    tenant_id  INTEGER PRIMARY KEY,
    per_minute INTEGER NOT NULL
);

CREATE INDEX ix_alert_outbox_pending_tenant ON alert_outbox (delivered_at, tenant_id, id);

-- +goose Down
DROP INDEX IF EXISTS ix_alert_outbox_pending_tenant;
DROP TABLE IF EXISTS notification_tenant_limits;
DROP TABLE IF EXISTS notification_silences;
DROP TABLE IF EXISTS notification_firing;
DROP TABLE IF EXISTS notification_messages;
DROP TABLE IF EXISTS notification_deliveries;
