-- Notification channels (adapter/store/channels): a tenant's email, webhook
-- and Slack channels. settings_json holds the kind's settings (no secret);
-- secret_sealed the channel's one secret (SMTP password, webhook signing
-- secret or Slack webhook URL) as secretbox sealed it, '' when none: the
-- store never sees a key. Durations are BIGINT milliseconds, times Unix
-- milliseconds. A name is unique within its tenant (case-sensitive, bin).
-- +goose Up
CREATE TABLE notification_channels (
    id                 BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id          BIGINT       NOT NULL,
    name               VARCHAR(200) NOT NULL,
    kind               VARCHAR(16)  NOT NULL,
    settings_json      TEXT         NOT NULL,
    secret_sealed      TEXT         NOT NULL,
    send_resolved      TINYINT(1)   NOT NULL DEFAULT 1,
    group_wait_ms      BIGINT       NOT NULL,
    repeat_interval_ms BIGINT       NOT NULL,
    created_at         BIGINT       NOT NULL,
    updated_at         BIGINT       NOT NULL,
    UNIQUE KEY uq_notification_channels_name (tenant_id, name),
    KEY ix_notification_channels_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS notification_channels;
