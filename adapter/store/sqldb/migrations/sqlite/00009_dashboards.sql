-- Dashboards of a tenant and their widgets. Every query names the tenant:
-- widgets carry tenant_id too, so a widget id of another tenant matches
-- nothing. tags is a JSON object. Times are Unix milliseconds.
-- +goose Up
CREATE TABLE dashboards (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ix_dashboards_tenant_name ON dashboards (tenant_id, name, id);

CREATE TABLE dashboard_widgets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    INTEGER NOT NULL,
    dashboard_id INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    metric       TEXT    NOT NULL,
    tags         TEXT    NOT NULL,
    agg          TEXT    NOT NULL,
    chart        TEXT    NOT NULL,
    position     INTEGER NOT NULL
);
CREATE INDEX ix_dashboard_widgets_dashboard ON dashboard_widgets (tenant_id, dashboard_id, position);

-- +goose Down
DROP TABLE IF EXISTS dashboard_widgets;
DROP TABLE IF EXISTS dashboards;
