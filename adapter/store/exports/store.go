// Package exports stores the CSV exports (the export use case's port
// Store) in the database of adapter/store/sqldb, tables exports and
// export_chunks (migration 00015): each export's request, status and
// claim, and its file in chunks, so that any API replica serves it.
// Every method on one tenant's data refuses a missing tenant
// (sqldb.RequireTenant) and names the tenant in its WHERE clause;
// ExportForLink alone reads by id, for a download whose signed link names
// the tenant. A job's writes apply only while their holder holds the
// export's claim. A Store is safe for concurrent use.
package exports

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// Store is the SQL store of exports.
type Store struct{ db *sqldb.DB }

// New returns the store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

var _ export.Store = (*Store)(nil)

// cols are the columns of an export.Export (scan). `interval` and `rows`
// are reserved words in MariaDB.
const cols = "id, tenant_id, name, tags, start_ms, end_ms, `interval`, agg, gzip, status, `rows`, progress, error, attempts, bytes, " +
	"created_at, started_at, finished_at"

type scanner interface{ Scan(dest ...any) error }

func scan(r scanner) (export.Export, error) {
	var (
		e    export.Export
		tags string
	)
	err := r.Scan(&e.ID, &e.TenantID, &e.Name, &tags, &e.Start, &e.End, &e.Interval, &e.Agg, &e.Gzip, &e.Status, &e.Rows, &e.Progress,
		&e.Error, &e.Attempts, &e.Bytes, &e.CreatedAt, &e.StartedAt, &e.FinishedAt)
	if err != nil {
		return export.Export{}, err
	}
	if err := json.Unmarshal([]byte(tags), &e.Tags); err != nil {
		return export.Export{}, fmt.Errorf("export %d: tags: %w", e.ID, err)
	}
	if len(e.Tags) == 0 {
		e.Tags = nil
	}
	return e, nil
}

// CreateExport stores e (its ID is ignored) and answers it with its id.
func (s *Store) CreateExport(ctx context.Context, e export.Export) (export.Export, error) {
	if err := sqldb.RequireTenant("create export", e.TenantID); err != nil {
		return export.Export{}, err
	}
	tags, err := json.Marshal(e.Tags)
	if err != nil {
		return export.Export{}, fmt.Errorf("create export tenant=%d: tags: %w", e.TenantID, err)
	}
	if e.Tags == nil {
		tags = []byte("{}")
	}
	res, err := s.db.Write.ExecContext(ctx, "INSERT INTO exports (tenant_id, name, tags, start_ms, end_ms, `interval`, agg, gzip, status, error, created_at) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)", e.TenantID, e.Name, string(tags), e.Start, e.End, e.Interval, e.Agg, e.Gzip, e.Status, e.CreatedAt)
	if err != nil {
		return export.Export{}, fmt.Errorf("create export tenant=%d: %w", e.TenantID, err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return export.Export{}, fmt.Errorf("create export tenant=%d: id: %w", e.TenantID, err)
	}
	return e, nil
}

// GetExport reads the tenant's export: export.ErrNotFound when there is
// none of that id, or it is another tenant's.
func (s *Store) GetExport(ctx context.Context, tenantID, id int64) (export.Export, error) {
	if err := sqldb.RequireTenant("export", tenantID); err != nil {
		return export.Export{}, err
	}
	return s.get(ctx, "export", "WHERE id = ? AND tenant_id = ?", id, tenantID)
}

// ExportForLink reads an export by id alone: the caller checks the
// download link's signature against its tenant before anything else.
func (s *Store) ExportForLink(ctx context.Context, id int64) (export.Export, error) {
	return s.get(ctx, "export for link", "WHERE id = ?", id)
}

func (s *Store) get(ctx context.Context, what, where string, args ...any) (export.Export, error) {
	e, err := scan(s.db.Read.QueryRowContext(ctx, "SELECT "+cols+" FROM exports "+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return export.Export{}, fmt.Errorf("%s %v: %w", what, args, export.ErrNotFound)
	}
	if err != nil {
		return export.Export{}, fmt.Errorf("%s %v: %w", what, args, err)
	}
	return e, nil
}
