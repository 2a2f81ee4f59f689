-- The metric catalogue (GET /api/metrics/names): what names, tag keys and
-- tag values a tenant has, kept beside series so that listing them never
-- scans series. Three tables, each one range of its primary key per query:
--   series_names     one row per tenant + name (tagless series included);
--                    "names of a tenant with a prefix" is a range scan
--   series_tag_keys  one row per tenant + name + tag key; the keys of a
--                    page of names are one range scan
--   series_tags      one row per tenant + name + tag key + value; "the
--                    first N values of a key" is a range scan with a LIMIT
-- A single (tenant, name, key, value) table cannot do the first two without
-- reading every value of every name (a DISTINCT over 100k rows): MariaDB
-- neither skip-scans it nor runs a recursive skip-scan CTE on an index.
-- The collation is utf8mb4_nopad_bin: "a" and "a " are two values (under
-- the PAD SPACE utf8mb4_bin they would be one key).
-- The store inserts the rows (INSERT IGNORE) in the transaction that creates
-- the series; rows are never deleted with series (there is no series
-- deletion yet). Tag keys over 64 bytes and values over 256 bytes (beyond
-- the default limits) are left out of the catalogue, not refused.
-- +goose Up
CREATE TABLE series_names (
    tenant_id BIGINT       NOT NULL,
    name      VARCHAR(200) NOT NULL,
    PRIMARY KEY (tenant_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE series_tag_keys (
    tenant_id BIGINT       NOT NULL,
    name      VARCHAR(200) NOT NULL,
    tag_key   VARCHAR(64)  NOT NULL,
    PRIMARY KEY (tenant_id, name, tag_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE series_tags (
    tenant_id BIGINT       NOT NULL,
    name      VARCHAR(200) NOT NULL,
    tag_key   VARCHAR(64)  NOT NULL,
    tag_value VARCHAR(256) NOT NULL,
    PRIMARY KEY (tenant_id, name, tag_key, tag_value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Backfill from the series that exist (series.tags is a JSON object).
INSERT IGNORE INTO series_names (tenant_id, name)
SELECT DISTINCT tenant_id, name FROM series;

INSERT IGNORE INTO series_tags (tenant_id, name, tag_key, tag_value)
SELECT DISTINCT s.tenant_id, s.name, k.tag_key,
       JSON_VALUE(s.tags, CONCAT('$."', k.tag_key, '"'))
FROM series s,
     JSON_TABLE(JSON_KEYS(s.tags), '$[*]' COLUMNS (tag_key VARCHAR(1000) PATH '$')) k
WHERE LENGTH(k.tag_key) BETWEEN 1 AND 64
  AND LENGTH(JSON_VALUE(s.tags, CONCAT('$."', k.tag_key, '"'))) <= 256;

INSERT IGNORE INTO series_tag_keys (tenant_id, name, tag_key)
SELECT DISTINCT s.tenant_id, s.name, k.tag_key
FROM series s,
     JSON_TABLE(JSON_KEYS(s.tags), '$[*]' COLUMNS (tag_key VARCHAR(1000) PATH '$')) k
WHERE LENGTH(k.tag_key) BETWEEN 1 AND 64;

-- +goose Down
DROP TABLE IF EXISTS series_tags;
DROP TABLE IF EXISTS series_tag_keys;
DROP TABLE IF EXISTS series_names;
