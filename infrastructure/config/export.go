package config

import (
	"fmt"
	"time"
)

// Export is the CSV exports' settings.
type Export struct {
	// TTL is the age at which the scheduler purges an export and its file
	// (PULSE_EXPORT_TTL).
	TTL time.Duration
	// MaxRows fails an export that would hold more rows
	// (PULSE_EXPORT_MAX_ROWS): the file lives in the database.
	MaxRows int
}

func registerExport(e *Export, num numFlag, dur durFlag) {
	dur(&e.TTL, "export-ttl", "PULSE_EXPORT_TTL", 24*time.Hour, "age at which the scheduler deletes a CSV export and its file")
	num(&e.MaxRows, "export-max-rows", "PULSE_EXPORT_MAX_ROWS", 5_000_000, "rows one CSV export may hold at most (its file is stored in the database)")
}

func (e Export) validate() error {
	// A download link lives an hour: an export must outlive the link it
	// was given.
	if e.TTL < time.Hour || e.TTL > 30*24*time.Hour {
		return fmt.Errorf("PULSE_EXPORT_TTL=%s: want between 1h and 720h", e.TTL)
	}
	if e.MaxRows < 1 {
		return fmt.Errorf("PULSE_EXPORT_MAX_ROWS=%d: want at least 1", e.MaxRows)
	}
	return nil
}
