package sqlitequeue

import "context"

// Pragmas reports journal_mode and synchronous (2 = FULL) on the queue's connection.
func (q *Queue) Pragmas() (mode string, sync int, err error) {
	if err = q.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return "", 0, err
	}
	err = q.db.QueryRow("PRAGMA synchronous").Scan(&sync)
	return mode, sync, err
}

// Commits is the number of enqueue transactions committed so far.
func (q *Queue) Commits() int64 { return q.commits.Load() }

// CorruptAll overwrites every queued payload with bytes no decoder accepts.
func (q *Queue) CorruptAll() error {
	_, err := q.db.Exec("UPDATE queue_entries SET payload = x'ff00'")
	return err
}

// EnqueuePayload stores payload as an entry as it is (no encoding), as a
// corrupt file or another build's entry would hold it.
func (q *Queue) EnqueuePayload(ctx context.Context, payload []byte) error {
	_, err := q.db.ExecContext(ctx, "INSERT INTO queue_entries (payload, enqueued_at) VALUES (?, ?)",
		payload, q.opts.Clock().UnixMilli())
	return err
}

// DeadPayloads returns the payloads in dead_entries, oldest entry first.
func (q *Queue) DeadPayloads(ctx context.Context) ([][]byte, error) {
	rows, err := q.db.QueryContext(ctx, "SELECT payload FROM dead_entries ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DropIndexes removes the indexes Open adds, leaving the file as an older
// build wrote it.
func (q *Queue) DropIndexes() error {
	_, err := q.db.Exec("DROP INDEX queue_entries_by_attempts; DROP INDEX dead_entries_by_died_at")
	return err
}
