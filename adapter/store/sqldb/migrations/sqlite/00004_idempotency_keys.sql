-- Idempotency-Keys of ingest requests (usecase/ingest.IdempotencyStore), and
-- an index that lets PurgeExpired delete old sample_dedupe rows in chunks
-- without scanning the whole table. Times are Unix ms.
-- +goose Up
CREATE TABLE idempotency_keys (
    tenant_id   INTEGER NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    request_id  TEXT    NOT NULL,
    accepted    INTEGER NOT NULL,
    done        INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
) WITHOUT ROWID;
CREATE INDEX ix_idempotency_keys_expires ON idempotency_keys (expires_at);

CREATE INDEX ix_sample_dedupe_created ON sample_dedupe (created_at);

-- +goose Down
DROP INDEX IF EXISTS ix_sample_dedupe_created;
DROP TABLE IF EXISTS idempotency_keys;
