-- Dashboards of a tenant and their widgets. Every query names the tenant:
-- widgets carry tenant_id too, so a widget id of another tenant matches
-- nothing. tags is a JSON object. Times are BIGINT Unix milliseconds.
-- +goose Up
CREATE TABLE dashboards (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id  BIGINT       NOT NULL,
    name       VARCHAR(100) NOT NULL,
    created_at BIGINT       NOT NULL,
    updated_at BIGINT       NOT NULL,
    KEY ix_dashboards_tenant_name (tenant_id, name, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE dashboard_widgets (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id    BIGINT       NOT NULL,
    dashboard_id BIGINT       NOT NULL,
    title        VARCHAR(100) NOT NULL,
    metric       VARCHAR(200) NOT NULL,
    tags         JSON         NOT NULL,
    agg          VARCHAR(8)   NOT NULL,
    chart        VARCHAR(8)   NOT NULL,
    position     INT          NOT NULL,
    KEY ix_dashboard_widgets_dashboard (tenant_id, dashboard_id, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE IF EXISTS dashboard_widgets;
DROP TABLE IF EXISTS dashboards;
