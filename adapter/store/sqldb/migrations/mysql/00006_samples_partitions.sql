-- Retention (story 9). samples becomes RANGE-partitioned on ts (Unix ms) by
-- UTC day: partition pYYYYMMDD holds [day, day + 1), and pmax (VALUES LESS
-- THAN MAXVALUE) catches whatever lies beyond the last daily partition. The
-- retention job (Store.EnsurePartitions) splits pmax ahead of time and
-- (Store.DropPartitionsBefore) drops whole days past the longest retention,
-- which frees the space at once instead of deleting rows one by one.
--
-- Pre-existing rows: the table is rebuilt (a one-time copy) with one daily
-- partition for every day from the day of its oldest row to today + 3, so
-- old rows sit in their own day and are dropped with it once past
-- retention, like any later row. The first day is at most the longest
-- tenant retention back (30 days without tenants): older rows are past
-- every tenant's retention already and need no day of their own. The first
-- partition also holds every row older than its day (RANGE partitioning
-- puts everything below the first bound there) and is dropped when its day
-- is, at the next retention run at the latest. Rows after today + 3 go to
-- pmax until the retention job splits it.
-- The primary key (series_id, ts) contains ts, as partitioning requires.
--
-- series gets an index (tenant_id, id): the retention job walks one tenant's
-- series ids in order, a page at a time, to delete its old rows by key.
-- +goose Up
-- +goose StatementBegin
BEGIN NOT ATOMIC
    DECLARE day_ms    BIGINT DEFAULT 86400000;
    DECLARE today     BIGINT DEFAULT FLOOR(UNIX_TIMESTAMP() / 86400);
    DECLARE first_day BIGINT DEFAULT NULL;
    DECLARE keep_days BIGINT DEFAULT NULL;
    DECLARE d         BIGINT;
    DECLARE parts     LONGTEXT DEFAULT '';
    SELECT FLOOR(MIN(ts) / 86400000) INTO first_day FROM samples;
    SELECT MAX(retention_days) INTO keep_days FROM tenants;
    SET first_day = LEAST(GREATEST(COALESCE(first_day, today), today - COALESCE(keep_days, 30)), today);
    SET d = first_day;
    WHILE d <= today + 3 DO
        SET parts = CONCAT(parts, 'PARTITION p', DATE_FORMAT(DATE_ADD('1970-01-01', INTERVAL d DAY), '%Y%m%d'),
                           ' VALUES LESS THAN (', (d + 1) * day_ms, '), ');
        SET d = d + 1;
    END WHILE;
    EXECUTE IMMEDIATE CONCAT('ALTER TABLE samples PARTITION BY RANGE (ts) (', parts,
                             'PARTITION pmax VALUES LESS THAN MAXVALUE)');
END
-- +goose StatementEnd

CREATE INDEX ix_series_tenant_id ON series (tenant_id, id);

-- +goose Down
DROP INDEX ix_series_tenant_id ON series;
ALTER TABLE samples REMOVE PARTITIONING;
