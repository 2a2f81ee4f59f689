-- Exports (adapter/store/exports): a tenant's CSV exports and their files.
-- An export is one metric's points in [start_ms, end_ms) at `interval`
-- (auto, raw or a rollup step), each point's value the aggregate agg; tags
-- is the JSON object of its tag filters. status is queued, running, done
-- or failed; a worker claims a queued export (or a running one whose
-- claimed_until has passed: its worker died) for claimed_by until
-- claimed_until and renews the claim as it writes; attempts counts the
-- claims. `rows`, progress (0..1) and bytes grow while it runs; error is
-- the tenant-readable reason of a failure. The file is stored as chunks in
-- seq order (export_chunks), so every API replica serves it. Times are
-- Unix milliseconds (0: not yet). The scheduler purges exports and their
-- chunks by created_at.
-- +goose Up
CREATE TABLE exports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    tags          TEXT    NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL,
    `interval`    TEXT    NOT NULL,
    agg           TEXT    NOT NULL,
    gzip          INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL,
    `rows`        INTEGER NOT NULL DEFAULT 0,
    progress      REAL    NOT NULL DEFAULT 0,
    error         TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER NOT NULL DEFAULT 0,
    finished_at   INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT    NOT NULL DEFAULT '',
    claimed_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_exports_claim ON exports (status, id);
CREATE INDEX ix_exports_created ON exports (created_at);
CREATE INDEX ix_exports_tenant ON exports (tenant_id, id);

CREATE TABLE export_chunks (
    export_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (export_id, seq)
);

-- +goose Down
DROP TABLE IF EXISTS export_chunks;
DROP TABLE IF EXISTS exports;
