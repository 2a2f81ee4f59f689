-- rollup_pending keyed by (series, range); see the MariaDB migration.
-- +goose Up
CREATE TABLE rollup_pending_v2 (
    series_id INTEGER NOT NULL,
    min_ts    INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL,
    gen       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (series_id, min_ts, max_ts)
) WITHOUT ROWID;
INSERT OR IGNORE INTO rollup_pending_v2 (series_id, min_ts, max_ts) SELECT series_id, min_ts, max_ts FROM rollup_pending;
DROP TABLE rollup_pending;
ALTER TABLE rollup_pending_v2 RENAME TO rollup_pending;

-- +goose Down
CREATE TABLE rollup_pending_v1 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    series_id INTEGER NOT NULL,
    min_ts    INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL
);
INSERT INTO rollup_pending_v1 (series_id, min_ts, max_ts) SELECT series_id, min_ts, max_ts FROM rollup_pending;
DROP TABLE rollup_pending;
ALTER TABLE rollup_pending_v1 RENAME TO rollup_pending;
CREATE INDEX ix_rollup_pending_series ON rollup_pending (series_id, min_ts);
