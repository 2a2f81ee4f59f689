package exports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
)

// ReadChunk reads chunk seq of the tenant's export; ok is false when
// there is no such chunk (past the last, or another tenant's export).
func (s *Store) ReadChunk(ctx context.Context, tenantID, id int64, seq int) ([]byte, bool, error) {
	if err := sqldb.RequireTenant("read export chunk", tenantID); err != nil {
		return nil, false, err
	}
	var data []byte
	err := s.db.Read.QueryRowContext(ctx, "SELECT c.data FROM export_chunks c JOIN exports e ON e.id = c.export_id "+
		"WHERE c.export_id = ? AND c.seq = ? AND e.tenant_id = ?", id, seq, tenantID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read export chunk tenant=%d export=%d seq=%d: %w", tenantID, id, seq, err)
	}
	return data, true, nil
}

// purgeBatch bounds the exports one purge round lists: each is then
// deleted in its own transaction (its chunks first), so that no statement
// holds many megabytes of chunks at once.
const purgeBatch = 100

// PurgeExports deletes every export created before cutoff, with its
// chunks, and answers how many exports and chunks it deleted. A job still
// writing one loses its claim (export.ErrClaimLost). Safe to run from
// several processes at once.
func (s *Store) PurgeExports(ctx context.Context, cutoff int64) (exports, chunks int64, err error) {
	for {
		ids, err := s.purgeable(ctx, cutoff)
		if err != nil {
			return exports, chunks, fmt.Errorf("purge exports: %w", err)
		}
		for _, id := range ids {
			c, e, err := s.purgeOne(ctx, id)
			if err != nil {
				return exports, chunks, fmt.Errorf("purge export %d: %w", id, err)
			}
			chunks, exports = chunks+c, exports+e
		}
		if len(ids) < purgeBatch {
			return exports, chunks, nil
		}
	}
}

// purgeOne deletes one export and its chunks in one transaction.
func (s *Store) purgeOne(ctx context.Context, id int64) (chunks, exports int64, err error) {
	err = s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, "DELETE FROM export_chunks WHERE export_id = ?", id)
			if err != nil {
				return err
			}
			if chunks, err = res.RowsAffected(); err != nil {
				return err
			}
			if res, err = tx.ExecContext(ctx, "DELETE FROM exports WHERE id = ?", id); err != nil {
				return err
			}
			exports, err = res.RowsAffected()
			return err
		})
	})
	return chunks, exports, err
}

func (s *Store) purgeable(ctx context.Context, cutoff int64) ([]int64, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id FROM exports WHERE created_at < ? ORDER BY id LIMIT ?", cutoff, purgeBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
