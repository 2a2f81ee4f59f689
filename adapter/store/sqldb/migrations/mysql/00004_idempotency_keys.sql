-- Idempotency-Keys of ingest requests (usecase/ingest.IdempotencyStore), and
-- an index that lets PurgeExpired delete old sample_dedupe rows in chunks
-- without scanning (and locking) the whole table. Times are Unix ms.
-- +goose Up
CREATE TABLE idempotency_keys (
    tenant_id   BIGINT       NOT NULL,
    idem_key    VARCHAR(255) NOT NULL,
    fingerprint BINARY(32)   NOT NULL,
    request_id  VARCHAR(128) NOT NULL,
    accepted    INT          NOT NULL,
    done        INT          NOT NULL,
    expires_at  BIGINT       NOT NULL,
    PRIMARY KEY (tenant_id, idem_key),
    KEY ix_idempotency_keys_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

CREATE INDEX ix_sample_dedupe_created ON sample_dedupe (created_at);

-- +goose Down
DROP INDEX ix_sample_dedupe_created ON sample_dedupe;
DROP TABLE IF EXISTS idempotency_keys;
