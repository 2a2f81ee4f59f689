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
}

func registerExport(e *Export, dur durFlag) {
	dur(&e.TTL, "export-ttl", "PULSE_EXPORT_TTL", 24*time.Hour, "age at which the scheduler deletes a CSV export and its file")
}

func (e Export) validate() error {
	// A download link lives an hour: an export must outlive the link it
	// was given.
	if e.TTL < time.Hour || e.TTL > 30*24*time.Hour {
		return fmt.Errorf("PULSE_EXPORT_TTL=%s: want between 1h and 720h", e.TTL)
	}
	return nil
}
