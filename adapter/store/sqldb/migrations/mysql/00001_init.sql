-- Pulse schema, MariaDB dialect. Times are BIGINT Unix milliseconds.
-- +goose Up
CREATE TABLE tenants (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    slug           VARCHAR(63)  NOT NULL,
    name           VARCHAR(200) NOT NULL,
    retention_days INT          NOT NULL,
    created_at     BIGINT       NOT NULL,
    UNIQUE KEY uq_tenants_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE api_tokens (
    id           VARCHAR(12)  NOT NULL PRIMARY KEY,
    tenant_id    BIGINT       NULL,
    name         VARCHAR(200) NOT NULL,
    scopes       VARCHAR(100) NOT NULL,
    secret_hash  BINARY(32)   NOT NULL,
    created_at   BIGINT       NOT NULL,
    revoked_at   BIGINT       NULL,
    last_used_at BIGINT       NULL,
    KEY ix_api_tokens_tenant (tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE series (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id  BIGINT       NOT NULL,
    name       VARCHAR(200) NOT NULL,
    tags       JSON         NOT NULL,
    hash       BINARY(16)   NOT NULL,
    created_at BIGINT       NOT NULL,
    UNIQUE KEY uq_series_tenant_hash (tenant_id, hash),
    KEY ix_series_tenant_name (tenant_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE samples (
    series_id   BIGINT NOT NULL,
    ts          BIGINT NOT NULL,
    value       DOUBLE NOT NULL,
    ingested_at BIGINT NOT NULL,
    PRIMARY KEY (series_id, ts)
) ENGINE=InnoDB;

CREATE TABLE sample_dedupe (
    tenant_id  BIGINT       NOT NULL,
    dedupe_id  VARCHAR(128) NOT NULL,
    created_at BIGINT       NOT NULL,
    PRIMARY KEY (tenant_id, dedupe_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The mission's flat view of the data. ts and ingested_at are DATETIME(3) in
-- the session time zone (the store's connections use UTC).
CREATE VIEW metrics AS
SELECT s.tenant_id                                     AS tenant_id,
       s.name                                          AS name,
       p.value                                         AS value,
       s.tags                                          AS tags,
       CAST(FROM_UNIXTIME(p.ts / 1000) AS DATETIME(3))          AS ts,
       CAST(FROM_UNIXTIME(p.ingested_at / 1000) AS DATETIME(3)) AS ingested_at
FROM samples p
JOIN series s ON s.id = p.series_id;

-- +goose Down
DROP VIEW IF EXISTS metrics;
DROP TABLE IF EXISTS sample_dedupe;
DROP TABLE IF EXISTS samples;
DROP TABLE IF EXISTS series;
DROP TABLE IF EXISTS api_tokens;
DROP TABLE IF EXISTS tenants;
