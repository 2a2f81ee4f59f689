-- Exports (adapter/store/exports): a tenant's CSV exports and their files.
-- An export is one metric's points in [start_ms, end_ms) at `interval`
-- (auto, raw or a rollup step), each point's value the aggregate agg; tags
-- is the JSON object of its tag filters. status is queued, running, done
-- or failed; a worker claims a queued export (or a running one whose
-- claimed_until has passed: its worker died) for claimed_by until
-- claimed_until and renews the claim as it writes; attempts counts the
-- claims. `rows`, progress (0..1) and bytes grow while it runs; error is
-- the tenant-readable reason of a failure. The file is stored as chunks in
-- seq order (export_chunks), so every API replica serves it: MEDIUMBLOB,
-- as a chunk (1 MiB) overflows BLOB's 64 KiB. Times are BIGINT Unix
-- milliseconds (0: not yet). The scheduler purges exports and their chunks
-- by created_at.
-- +goose Up
CREATE TABLE exports (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id     BIGINT       NOT NULL,
    name          VARCHAR(255) NOT NULL,
    tags          TEXT         NOT NULL,
    start_ms      BIGINT       NOT NULL,
    end_ms        BIGINT       NOT NULL,
    `interval`    VARCHAR(16)  NOT NULL,
    agg           VARCHAR(16)  NOT NULL,
    gzip          TINYINT(1)   NOT NULL DEFAULT 0,
    status        VARCHAR(16)  NOT NULL,
    `rows`        BIGINT       NOT NULL DEFAULT 0,
    progress      DOUBLE       NOT NULL DEFAULT 0,
    error         TEXT         NOT NULL,
    attempts      INT          NOT NULL DEFAULT 0,
    bytes         BIGINT       NOT NULL DEFAULT 0,
    created_at    BIGINT       NOT NULL,
    started_at    BIGINT       NOT NULL DEFAULT 0,
    finished_at   BIGINT       NOT NULL DEFAULT 0,
    claimed_by    VARCHAR(255) NOT NULL DEFAULT '',
    claimed_until BIGINT       NOT NULL DEFAULT 0,
    KEY ix_exports_claim (status, id),
    KEY ix_exports_created (created_at),
    KEY ix_exports_tenant (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE export_chunks (
    export_id BIGINT     NOT NULL,
    seq       INT        NOT NULL,
    data      MEDIUMBLOB NOT NULL,
    PRIMARY KEY (export_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS export_chunks;
DROP TABLE IF EXISTS exports;
