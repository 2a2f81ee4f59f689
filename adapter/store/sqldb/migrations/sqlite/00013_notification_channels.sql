-- Notification channels (adapter/store/channels): a tenant's email, webhook
-- and Slack channels. settings_json holds the kind's settings (no secret);
-- secret_sealed the channel's one secret (SMTP password, webhook signing
-- secret or Slack webhook URL) as secretbox sealed it, '' when none: the
-- store never sees a key. Durations are milliseconds, times Unix
-- milliseconds. A name is unique within its tenant (case-sensitive).
-- +goose Up
CREATE TABLE notification_channels (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id          INTEGER NOT NULL,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    settings_json      TEXT    NOT NULL,
    secret_sealed      TEXT    NOT NULL DEFAULT '',
    send_resolved      INTEGER NOT NULL DEFAULT 1,
    group_wait_ms      INTEGER NOT NULL,
    repeat_interval_ms INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_notification_channels_name ON notification_channels (tenant_id, name);
CREATE INDEX ix_notification_channels_tenant ON notification_channels (tenant_id, id);

-- +goose Down
DROP TABLE IF EXISTS notification_channels;
