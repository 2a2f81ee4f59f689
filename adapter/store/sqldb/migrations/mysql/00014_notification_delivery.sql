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
-- BIGINT Unix milliseconds. ix_alert_outbox_pending_tenant lets the
-- planner take each tenant's oldest unexpanded rows without reading
-- another tenant's backlog.
-- +goose Up
CREATE TABLE notification_deliveries (
    id           BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id    BIGINT      NOT NULL,
    channel_id   BIGINT      NOT NULL,
    rule_id      BIGINT      NOT NULL,
    outbox_id    BIGINT      NOT NULL,
    kind         VARCHAR(16) NOT NULL,
    instance_key TEXT        NOT NULL,
    state        VARCHAR(16) NOT NULL,
    message_id   BIGINT      NULL,
    created_at   BIGINT      NOT NULL,
    KEY ix_notification_deliveries_state (state, tenant_id, id),
    KEY ix_notification_deliveries_message (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notification_messages (
    id               BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id        BIGINT       NOT NULL,
    channel_id       BIGINT       NOT NULL,
    rule_id          BIGINT       NOT NULL,
    kind             VARCHAR(16)  NOT NULL,
    status           VARCHAR(16)  NOT NULL,
    items            INT          NOT NULL,
    attempts         INT          NOT NULL DEFAULT 0,
    first_attempt_at BIGINT       NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT       NOT NULL,
    not_before       BIGINT       NOT NULL,
    claim_until      BIGINT       NOT NULL DEFAULT 0,
    claimed_by       VARCHAR(255) NOT NULL DEFAULT '',
    last_status      INT          NOT NULL DEFAULT 0,
    last_error       TEXT         NOT NULL,
    created_at       BIGINT       NOT NULL,
    sent_at          BIGINT       NOT NULL DEFAULT 0,
    KEY ix_notification_messages_claim (status, tenant_id, next_attempt_at, id),
    KEY ix_notification_messages_tenant (tenant_id, id),
    KEY ix_notification_messages_sent (not_before, tenant_id, channel_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notification_firing (
    tenant_id    BIGINT   NOT NULL,
    channel_id   BIGINT   NOT NULL,
    rule_id      BIGINT   NOT NULL,
    key_hash     CHAR(64) NOT NULL,
    instance_key TEXT     NOT NULL,
    outbox_id    BIGINT   NOT NULL,
    last_sent_at BIGINT   NOT NULL,
    PRIMARY KEY (channel_id, rule_id, key_hash),
    KEY ix_notification_firing_sent (last_sent_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notification_silences (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id     BIGINT       NOT NULL,
    rule_id       BIGINT       NOT NULL,
    matchers_json TEXT         NOT NULL,
    starts_at     BIGINT       NOT NULL,
    ends_at       BIGINT       NOT NULL,
    comment       TEXT         NOT NULL,
    created_by    VARCHAR(255) NOT NULL,
    created_at    BIGINT       NOT NULL,
    KEY ix_notification_silences_active (tenant_id, ends_at),
    KEY ix_notification_silences_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notification_tenant_limits (
    tenant_id  BIGINT NOT NULL PRIMARY KEY,
    per_minute INT    NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX ix_alert_outbox_pending_tenant ON alert_outbox (delivered_at, tenant_id, id);

-- +goose Down
DROP INDEX ix_alert_outbox_pending_tenant ON alert_outbox;
DROP TABLE IF EXISTS notification_tenant_limits;
DROP TABLE IF EXISTS notification_silences;
DROP TABLE IF EXISTS notification_firing;
DROP TABLE IF EXISTS notification_messages;
DROP TABLE IF EXISTS notification_deliveries;
