// Package store keeps leaderhook's decisions across restarts in state_dir:
// the rule engine's memory (active rules, cooldowns), each cluster's view
// (leader, true start of a leaderless period) and the deliveries not yet
// finished. Everything is written so that a crash of the process, kill -9
// included, leaves either the old or the new version: files are replaced
// atomically, and a line torn at the end of an appended file is skipped.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/internal/atomicfile"
	"github.com/leaderhook/leaderhook/rules"
)

// State is what survives a restart, apart from pending deliveries.
type State struct {
	Version int                       `json:"version"`
	SavedAt time.Time                 `json:"saved_at"`
	Engine  rules.Snapshot            `json:"engine"`
	Views   map[string]detector.State `json:"views"`
	// Files are the read positions of followed event files, by path.
	Files map[string]detector.Position `json:"files,omitempty"`
}

const (
	stateFile = "state.log"
	// oldStateFile is where versions before state.log kept the state. It
	// is read when there is no state.log, and removed once that exists.
	oldStateFile = "state.json"
	pendingFile  = "pending.log"
)

// Dir stores state in a directory: state.log, to which each save appends
// the whole state as one JSON line, and pending.log, an append-only journal
// of deliveries. Both are rewritten, atomically, when they grow.
//
// Every write is one write(2) on a file opened with O_APPEND and returns
// only once the kernel has the data: a crash of the process loses nothing
// written. Appends are not fsynced: a save and a journal line come with
// every decision, and only a power loss could lose the last of them. A
// rewrite, rarer, is synced around its rename (writeAtomic).
type Dir struct {
	path string
	lock *os.File // held until Close: one process per state_dir
	// replace writes a file whole: writeAtomic, or in tests one that
	// fails as on a full disk.
	replace func(path string, data []byte) error

	saveMu    sync.Mutex
	stateLog  *os.File
	stateSize int64 // bytes in state.log; past the limit, it is rewritten

	journalMu sync.Mutex
	journal   journal

	notes []string // what Open found and recovered from
}

// Notes says what Open found and recovered from (a torn last line
// skipped), for the log.
func (d *Dir) Notes() []string { return d.notes }

func (d *Dir) note(s string) {
	if s != "" && !slices.Contains(d.notes, s) {
		d.notes = append(d.notes, s)
	}
}

// Open opens or creates the state directory. It refuses, before touching
// any file there, a directory that another process has open.
func Open(path string) (*Dir, error) { return open(path, writeAtomic) }

func open(path string, replace func(path string, data []byte) error) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	lock, err := lock(path)
	if err != nil {
		return nil, err
	}
	d := &Dir{path: path, lock: lock, replace: replace}
	d.removeLeftovers()
	if err := d.journal.open(filepath.Join(path, pendingFile), replace, d.note); err != nil {
		lock.Close()
		return nil, err
	}
	if err := d.openState(); err != nil {
		d.journal.close()
		lock.Close()
		return nil, err
	}
	return d, nil
}

// Load returns the saved state (zero when there is none) and the
// deliveries that were not finished, in the order they were decided.
func (d *Dir) Load() (State, []dispatch.Delivery, error) {
	d.saveMu.Lock()
	s, err := d.loadState()
	d.saveMu.Unlock()
	if err != nil {
		return s, nil, err
	}
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	return s, d.journal.deliveries(), nil
}

// Pending records a delivery that is not finished (again, with its attempt
// count, after each failed attempt). It returns once the line is written.
func (d *Dir) Pending(del dispatch.Delivery) error {
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	return d.journal.add(del)
}

// Done records that a delivery is finished, delivered or given up.
func (d *Dir) Done(id string) error {
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	return d.journal.remove(id)
}

// OnCompactionFailure has f told of each failed compaction of the journal
// (a full disk, say). It fails no Done, since the journal stays whole and
// is compacted on a later try; f runs with the journal held.
func (d *Dir) OnCompactionFailure(f func(error)) {
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	d.journal.compactFailed = f
}

// CrashSafe reports nil when every pending delivery is written in the
// journal, or else why not: a write failed (a full disk, say), and until
// Repair succeeds, a crash would lose what only memory holds.
func (d *Dir) CrashSafe() error {
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	return d.journal.failed
}

// Repair rewrites the journal from memory if a write failed, and returns
// the error that remains, if any.
func (d *Dir) Repair() error {
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	return d.journal.repair()
}

// Close closes the journal and state.log. If a journal write failed, it
// first rewrites the journal from memory, which alone holds what that
// write left out: a clean stop must not lose a pending delivery.
func (d *Dir) Close() error {
	d.saveMu.Lock()
	if d.stateLog != nil {
		d.stateLog.Close()
		d.stateLog = nil
	}
	d.saveMu.Unlock()
	d.journalMu.Lock()
	defer d.journalMu.Unlock()
	var repairErr error
	if err := d.journal.repair(); err != nil {
		repairErr = fmt.Errorf("pending deliveries missing from the journal are lost: %w", err)
	}
	err := d.journal.close()
	if d.lock != nil {
		d.lock.Close() // releases the flock
		d.lock = nil
	}
	return errors.Join(repairErr, err)
}

// rewrite replaces the file at path with data atomically and opens the
// new one for appending. The caller closes the file it replaces, which it
// keeps if the rewrite fails.
func rewrite(replace func(path string, data []byte) error, path string, data []byte) (*os.File, error) {
	if err := replace(path, data); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return f, nil
}

// removeLeftovers removes the temporary files of rewrites that a killed
// process left: no other process can be writing them, the lock is held.
// One that cannot be removed is noted, and harms nothing.
func (d *Dir) removeLeftovers() {
	for _, name := range []string{pendingFile, stateFile} {
		for _, path := range atomicfile.Leftovers(filepath.Join(d.path, name)) {
			if err := os.Remove(path); err != nil {
				d.note(fmt.Sprintf("%s, left by an interrupted rewrite, cannot be removed: %v", path, err))
			}
		}
	}
}

// writeAtomic replaces the file at path whole (atomicfile.Write).
func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// readOptional reads a file that may not exist (nil, nil then).
func readOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return data, nil
}
