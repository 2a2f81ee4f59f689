-- Rollups (story 7). rollups holds one row per series, step and bucket with
-- the exact aggregates (count and sum, not avg, so coarser steps re-aggregate
-- exactly). rollup_pending is the work list: every sample write adds, in the
-- same transaction, one row per series and contiguous time range it touched;
-- the rollup job recomputes the buckets those ranges cover and deletes the
-- rows it handled, in one transaction. A bucket is therefore either exact in
-- rollups or overlapped by a pending row (and read from raw by queries).
-- job_leases lets one scheduler replica at a time run a job.
-- +goose Up
CREATE TABLE rollups (
    series_id BIGINT NOT NULL,
    step_ms   INT    NOT NULL,
    start_ts  BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    sum       DOUBLE NOT NULL,
    min       DOUBLE NOT NULL,
    max       DOUBLE NOT NULL,
    PRIMARY KEY (series_id, step_ms, start_ts),
    KEY ix_rollups_step_start (step_ms, start_ts)
) ENGINE=InnoDB;

CREATE TABLE rollup_pending (
    id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    series_id BIGINT NOT NULL,
    min_ts    BIGINT NOT NULL,
    max_ts    BIGINT NOT NULL,
    KEY ix_rollup_pending_series (series_id, min_ts)
) ENGINE=InnoDB;

CREATE TABLE job_leases (
    name       VARCHAR(100) NOT NULL PRIMARY KEY,
    holder     VARCHAR(200) NOT NULL,
    expires_at BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The mission's flat view: interval is '1m', '5m', ...; avg = sum / count.
CREATE VIEW metric_rollups AS
SELECT s.tenant_id                      AS tenant_id,
       s.name                           AS name,
       s.tags                           AS series,
       CONCAT(r.step_ms DIV 60000, 'm') AS `interval`,
       CAST(FROM_UNIXTIME(r.start_ts / 1000) AS DATETIME(3)) AS start_ts,
       r.sum / r.count                  AS avg,
       r.min                            AS min,
       r.max                            AS max,
       r.count                          AS count,
       r.sum                            AS sum
FROM rollups r
JOIN series s ON s.id = r.series_id;

-- +goose Down
DROP VIEW IF EXISTS metric_rollups;
DROP TABLE IF EXISTS job_leases;
DROP TABLE IF EXISTS rollup_pending;
DROP TABLE IF EXISTS rollups;
