-- Pulse schema, SQLite dialect; mirrors the MariaDB one. Times are INTEGER
-- Unix milliseconds; hashes are 16/32-byte BLOBs; series.tags is a JSON object as TEXT.
-- +goose Up
CREATE TABLE tenants (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    slug           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    retention_days INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    INTEGER NULL,
    name         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER NULL,
    last_used_at INTEGER NULL
);
CREATE INDEX ix_api_tokens_tenant ON api_tokens (tenant_id);

CREATE TABLE series (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    tags       TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, hash)
);
CREATE INDEX ix_series_tenant_name ON series (tenant_id, name);

CREATE TABLE samples (
    series_id   INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    value       REAL    NOT NULL,
    ingested_at INTEGER NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE TABLE sample_dedupe (
    tenant_id  INTEGER NOT NULL,
    dedupe_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, dedupe_id)
) WITHOUT ROWID;

-- The mission's flat view of the data. ts and ingested_at are ISO 8601 UTC
-- text with milliseconds, e.g. 2026-11-25T10:00:00.123Z.
CREATE VIEW metrics AS
SELECT s.tenant_id AS tenant_id,
       s.name      AS name,
       p.value     AS value,
       s.tags      AS tags,
       strftime('%Y-%m-%dT%H:%M:%S', p.ts / 1000, 'unixepoch') || '.' || printf('%03d', p.ts % 1000) || 'Z' AS ts,
       strftime('%Y-%m-%dT%H:%M:%S', p.ingested_at / 1000, 'unixepoch') || '.' || printf('%03d', p.ingested_at % 1000) || 'Z' AS ingested_at
FROM samples p
JOIN series s ON s.id = p.series_id;

-- +goose Down
DROP VIEW IF EXISTS metrics;
DROP TABLE IF EXISTS sample_dedupe;
DROP TABLE IF EXISTS samples;
DROP TABLE IF EXISTS series;
DROP TABLE IF EXISTS api_tokens;
DROP TABLE IF EXISTS tenants;
