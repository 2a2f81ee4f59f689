-- Retention (story 9); see the MariaDB migration. SQLite has no partitions:
-- samples stays one table and the retention job deletes old rows in chunks
-- by key (Store.DeleteSamplesBefore), so nothing changes for samples here.
-- series gets the same index (tenant_id, id) as on MariaDB: the retention
-- job walks one tenant's series ids in order, a page at a time, to delete
-- that tenant's old rows by primary key (series_id, ts) without scanning
-- other tenants' rows.
-- +goose Up
CREATE INDEX ix_series_tenant_id ON series (tenant_id, id);

-- +goose Down
DROP INDEX IF EXISTS ix_series_tenant_id;
