-- The metric catalogue (GET /api/metrics/names); mirrors the MariaDB
-- migration, where the design is explained: series_names, series_tag_keys
-- and series_tags, each read by one range of its primary key, written in
-- the transaction that creates the series, backfilled here.
-- +goose Up
CREATE TABLE series_names (
    tenant_id INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE series_tag_keys (
    tenant_id INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    tag_key   TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, name, tag_key)
) WITHOUT ROWID;

CREATE TABLE series_tags (
    tenant_id INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    tag_key   TEXT    NOT NULL,
    tag_value TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, name, tag_key, tag_value)
) WITHOUT ROWID;

INSERT OR IGNORE INTO series_names (tenant_id, name)
SELECT DISTINCT tenant_id, name FROM series;

INSERT OR IGNORE INTO series_tags (tenant_id, name, tag_key, tag_value)
SELECT DISTINCT s.tenant_id, s.name, j.key, j.value
FROM series s, json_each(s.tags) j
WHERE j.type = 'text'
  AND length(CAST(j.key AS BLOB)) BETWEEN 1 AND 64
  AND length(CAST(j.value AS BLOB)) <= 256;

INSERT OR IGNORE INTO series_tag_keys (tenant_id, name, tag_key)
SELECT DISTINCT s.tenant_id, s.name, j.key
FROM series s, json_each(s.tags) j
WHERE length(CAST(j.key AS BLOB)) BETWEEN 1 AND 64;

-- +goose Down
DROP TABLE IF EXISTS series_tags;
DROP TABLE IF EXISTS series_tag_keys;
DROP TABLE IF EXISTS series_names;
