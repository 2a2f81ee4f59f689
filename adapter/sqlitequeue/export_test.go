package sqlitequeue

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
