-- Rollups (story 7); mirrors the MariaDB migration, see its comments.
-- +goose Up
CREATE TABLE rollups (
    series_id INTEGER NOT NULL,
    step_ms   INTEGER NOT NULL,
    start_ts  INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    sum       REAL    NOT NULL,
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    PRIMARY KEY (series_id, step_ms, start_ts)
) WITHOUT ROWID;
CREATE INDEX ix_rollups_step_start ON rollups (step_ms, start_ts);

CREATE TABLE rollup_pending (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL,
    min_ts    INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL
);
CREATE INDEX ix_rollup_pending_series ON rollup_pending (series_id, min_ts);

CREATE TABLE job_leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE VIEW metric_rollups AS
SELECT s.tenant_id                     AS tenant_id,
       s.name                          AS name,
       s.tags                          AS series,
       (r.step_ms / 60000) || 'm'      AS "interval",
       strftime('%Y-%m-%dT%H:%M:%S', r.start_ts / 1000, 'unixepoch') || '.' || printf('%03d', r.start_ts % 1000) || 'Z' AS start_ts,
       r.sum / r.count                 AS avg,
       r.min                           AS min,
       r.max                           AS max,
       r.count                         AS count,
       r.sum                           AS sum
FROM rollups r
JOIN series s ON s.id = r.series_id;

-- +goose Down
DROP VIEW IF EXISTS metric_rollups;
DROP TABLE IF EXISTS job_leases;
DROP TABLE IF EXISTS rollup_pending;
DROP TABLE IF EXISTS rollups;
