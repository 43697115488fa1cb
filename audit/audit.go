// Package audit writes the audit log: one JSON object per line for every
// firing and every action attempt (time, rule, action, delivery id,
// attempt, outcome, duration, HTTP status or exit code, redacted error).
package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/leaderhook/leaderhook/dispatch"
)

// File appends records to a file. Each record is one write(2) on a file
// opened with O_APPEND, so lines from concurrent writers never interleave
// and a crash loses at most the line being written.
type File struct {
	mu  sync.Mutex
	f   *os.File
	err error
}

// Open opens (or creates) the audit log at path for appending.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &File{f: f}, nil
}

// Record appends r. A failing disk is reported once by Err, not per line.
func (a *File) Record(r dispatch.Record) {
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	data = append(data, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(data); err != nil && a.err == nil {
		a.err = err
	}
}

// Err returns the first write error.
func (a *File) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Close closes the file.
func (a *File) Close() error { return a.f.Close() }
