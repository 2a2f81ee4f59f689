-- Per-token quota (samples per minute, 0 = server default) and disabled tenants.
-- +goose Up
ALTER TABLE api_tokens ADD COLUMN rate_limit BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN disabled INT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE tenants DROP COLUMN disabled;
ALTER TABLE api_tokens DROP COLUMN rate_limit;
