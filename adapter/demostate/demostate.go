// Package demostate keeps the demo use case's state (usecase/demo.Saved)
// in a JSON file, mode 0600, written atomically (a temp file renamed).
package demostate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pulsemetrics/pulse/usecase/demo"
)

// FileName is the state's file in the data dir.
const FileName = "demo.json"

// File is the state file at a path.
type File struct{ path string }

// New is the state file at path.
func New(path string) *File { return &File{path: path} }

// InDir is FileName in dir.
func InDir(dir string) *File { return New(filepath.Join(dir, FileName)) }

// Where is the file's path.
func (f *File) Where() string { return f.path }

// file is the JSON on disk.
type file struct {
	TenantID int64     `json:"tenant_id"`
	Token    string    `json:"token"`
	Backfill *backfill `json:"backfill,omitempty"`
}

type backfill struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Done    bool      `json:"done"`
	Samples int64     `json:"samples,omitempty"`
	Series  int       `json:"series,omitempty"`
}

// Load reads the state; no file is the zero state.
func (f *File) Load(context.Context) (demo.Saved, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return demo.Saved{}, nil
	}
	if err != nil {
		return demo.Saved{}, fmt.Errorf("read %s: %w", f.path, err)
	}
	var v file
	if err := json.Unmarshal(b, &v); err != nil {
		return demo.Saved{}, fmt.Errorf("read %s: %w (remove it to make a new demo token)", f.path, err)
	}
	s := demo.Saved{TenantID: v.TenantID, Token: v.Token}
	if bf := v.Backfill; bf != nil {
		s.Backfill = &demo.BackfillRange{From: bf.From, To: bf.To, Done: bf.Done, Samples: bf.Samples, Series: bf.Series}
	}
	return s, nil
}

// Save writes the state to a temp file beside it and renames it, mode 0600.
func (f *File) Save(_ context.Context, s demo.Saved) error {
	v := file{TenantID: s.TenantID, Token: s.Token}
	if bf := s.Backfill; bf != nil {
		v.Backfill = &backfill{From: bf.From, To: bf.To, Done: bf.Done, Samples: bf.Samples, Series: bf.Series}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o750); err != nil {
		return err
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an older tmp keeps its mode through WriteFile
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}
