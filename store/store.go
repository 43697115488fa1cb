// Package store keeps leaderhook's decisions across restarts in state_dir:
// the rule engine's memory (active rules, cooldowns), each cluster's view
// (leader, true start of a leaderless period) and the deliveries not yet
// finished. Everything is written so that a crash of the process, kill -9
// included, leaves either the old or the new version: files are replaced
// atomically, and a line torn at the end of an appended file is skipped.
package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
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

// Store is where state lives. The file implementation is Dir; a replicated
// store can take its place for high availability.
type Store interface {
	Load() (State, []dispatch.Delivery, error)
	Save(State) error
	dispatch.Journal
}

// Dir stores state in a directory: state.log, to which each save appends
// the whole state as one JSON line, and pending.log, an append-only journal
// of deliveries. Both are rewritten, atomically, when they grow.
//
// Appending rather than replacing a file on every save is what keeps a
// save cheap: on ext4 a rename over a file (or a truncation) makes the
// kernel start writing the new data out at once, 0.2-0.4 ms a time on a
// virtual disk, every 50 ms during a burst of leader changes; one write(2)
// costs a few microseconds.
type Dir struct {
	path string

	saveMu    sync.Mutex
	stateLog  *os.File
	stateSize int64 // bytes in state.log; past the limit, it is rewritten

	mu      sync.Mutex
	log     *os.File
	pending map[string]dispatch.Delivery
	lines   int
	// done holds "done" lines not yet written: they go out with the next
	// write, or doneDelay after the first of them, whichever comes first.
	done      []byte
	doneTimer *time.Timer
	line      bytes.Buffer    // what append writes, reused
	enc       *gojson.Encoder // into line
}

const (
	stateFile = "state.log"
	// oldStateFile is where versions before state.log kept the state. It
	// is read when there is no state.log, and removed once that exists.
	oldStateFile = "state.json"
	pendingFile  = "pending.log"
	// stateCompactBytes is how large state.log may grow (or 64 saves of
	// the current size, if that is larger) before it is rewritten with
	// only the last state.
	stateCompactBytes = 4 << 20
	// compactAfter is how many journal lines may pile up beyond the
	// pending deliveries before the journal is rewritten: a few MB.
	compactAfter = 10000
	// doneDelay bounds how long the end of a delivery may stay unwritten.
	// A crash inside it sends that delivery again after the restart, with
	// the same webhook-id: at least once allows that, and it saves a
	// write per delivery under load.
	doneDelay = 100 * time.Millisecond
)

// Open opens or creates the state directory.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	d := &Dir{path: path, pending: map[string]dispatch.Delivery{}}
	if err := d.readJournal(); err != nil {
		return nil, err
	}
	if err := d.compact(); err != nil {
		return nil, err
	}
	last, err := d.lastLine()
	if err != nil {
		return nil, err
	}
	// state.json is what versions before state.log wrote; after a
	// downgrade and an upgrade, both exist and the newer one counts.
	old, err := d.oldState()
	if err != nil {
		return nil, err
	}
	if old != nil && (last == nil || savedAt(old).After(savedAt(last))) {
		last = old
	}
	if err := d.compactState(last); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(path, oldStateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("state: %w", err)
	}
	return d, nil
}

// lastLine returns the last whole line of state.log, or nil: a line torn
// by a crash in the middle of a save is skipped.
func (d *Dir) lastLine() ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(d.path, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	for len(data) > 0 {
		data = bytes.TrimRight(data, "\n")
		line := data[bytes.LastIndexByte(data, '\n')+1:]
		if json.Valid(line) {
			return line, nil
		}
		data = data[:len(data)-len(line)]
	}
	return nil, nil
}

// oldState returns the state.json of an earlier version as one line, or
// nil. It was replaced atomically, so one that does not parse is damage to
// report, not a torn write to skip.
func (d *Dir) oldState() ([]byte, error) {
	path := filepath.Join(d.path, oldStateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, data); err != nil {
		return nil, fmt.Errorf("state %s: %w (move it away to start without the saved state)", path, err)
	}
	return line.Bytes(), nil
}

func savedAt(line []byte) time.Time {
	var s struct {
		SavedAt time.Time `json:"saved_at"`
	}
	_ = json.Unmarshal(line, &s)
	return s.SavedAt
}

// compactState rewrites state.log with only line (if any), atomically, and
// opens it for the saves that follow.
func (d *Dir) compactState(line []byte) error {
	path := filepath.Join(d.path, stateFile)
	var data []byte
	if len(line) > 0 {
		data = append(bytes.Clone(line), '\n')
	}
	f, err := rewrite(path, data, d.stateLog)
	if err != nil {
		return err
	}
	d.stateLog, d.stateSize = f, int64(len(data))
	return nil
}

// Load returns the saved state (zero when there is none) and the
// deliveries that were not finished, oldest first.
func (d *Dir) Load() (State, []dispatch.Delivery, error) {
	var s State
	d.saveMu.Lock()
	line, err := d.lastLine()
	d.saveMu.Unlock()
	if err != nil {
		return s, nil, err
	}
	if line != nil {
		if err := json.Unmarshal(line, &s); err != nil {
			return s, nil, fmt.Errorf("state %s: %w", filepath.Join(d.path, stateFile), err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ds := make([]dispatch.Delivery, 0, len(d.pending))
	for _, del := range d.pending {
		ds = append(ds, del)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID }) // ids are time-ordered
	return s, ds, nil
}

// Save appends the state to state.log with one write(2): a crash, kill -9
// included, leaves the previous line or this one whole (a torn line is
// skipped on reading). Past the size limit, the file is rewritten instead.
func (d *Dir) Save(s State) error {
	s.Version = 1
	// encoding/json, unlike goccy/go-json, honours omitzero (no zero
	// times for rules that never fired); saves are off the decision path.
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	if d.stateLog == nil {
		return errors.New("state: saved after Close")
	}
	line := append(data, '\n')
	if d.stateSize+int64(len(line)) > max(stateCompactBytes, 64*int64(len(line))) {
		return d.compactState(data)
	}
	n, err := d.stateLog.Write(line)
	d.stateSize += int64(n)
	if err != nil {
		// A part of the line may be written: the next save rewrites the
		// file rather than appending to the fragment.
		d.stateSize = math.MaxInt64 / 2
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

type journalLine struct {
	Op       string             `json:"op"` // "pending" or "done"
	ID       string             `json:"id"`
	Delivery *dispatch.Delivery `json:"delivery,omitempty"`
}

// Pending records a delivery that is not finished (again, with its attempt
// count, after each failed attempt).
func (d *Dir) Pending(del dispatch.Delivery) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending[del.ID] = del
	return d.append(journalLine{Op: "pending", ID: del.ID, Delivery: &del})
}

// Done records that a delivery is finished, delivered or given up.
func (d *Dir) Done(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.pending[id]; !ok {
		return nil
	}
	delete(d.pending, id)
	line, err := gojson.Marshal(journalLine{Op: "done", ID: id})
	if err != nil {
		return err
	}
	d.done = append(append(d.done, line...), '\n')
	d.lines++
	if d.lines > len(d.pending)+compactAfter {
		return d.compact()
	}
	if d.doneTimer == nil {
		d.doneTimer = time.AfterFunc(doneDelay, d.flushDone)
	}
	return nil
}

func (d *Dir) flushDone() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.doneTimer = nil
	if len(d.done) > 0 && d.log != nil {
		d.log.Write(d.done)
	}
	d.done = d.done[:0]
}

// append writes one line, after the done lines waiting, with one write(2)
// on an O_APPEND file: a process crash loses nothing written; only a torn
// last line is possible after a power loss, and readJournal skips it.
func (d *Dir) append(l journalLine) error {
	if d.enc == nil {
		d.enc = gojson.NewEncoder(&d.line)
	}
	// The encoder appends to the done lines waiting, and ends the line.
	d.line.Reset()
	d.line.Write(d.done)
	// Map keys (labels, event fields) in any order: only leaderhook reads
	// the journal back, and sorting them was a third of the encoding.
	if err := d.enc.EncodeWithOption(l, gojson.UnorderedMap()); err != nil {
		return err
	}
	d.lines++
	d.done = d.done[:0]
	_, err := d.log.Write(d.line.Bytes())
	return err
}

func (d *Dir) readJournal() error {
	f, err := os.Open(filepath.Join(d.path, pendingFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l journalLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // a line torn by a crash
		}
		switch {
		case l.Op == "pending" && l.Delivery != nil:
			d.pending[l.ID] = *l.Delivery
		case l.Op == "done":
			delete(d.pending, l.ID)
		}
	}
	return sc.Err()
}

// compact rewrites the journal with only the pending deliveries.
func (d *Dir) compact() error {
	var buf []byte
	ids := make([]string, 0, len(d.pending))
	for id := range d.pending {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		del := d.pending[id]
		line, err := gojson.Marshal(journalLine{Op: "pending", ID: id, Delivery: &del})
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	f, err := rewrite(filepath.Join(d.path, pendingFile), buf, d.log)
	if err != nil {
		return err
	}
	d.log, d.lines = f, len(ids)
	d.done = d.done[:0] // the rewritten journal has only the pending deliveries
	return nil
}

// Close closes the journal and state.log.
func (d *Dir) Close() error {
	d.saveMu.Lock()
	if d.stateLog != nil {
		d.stateLog.Close()
		d.stateLog = nil
	}
	d.saveMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.log == nil {
		return nil
	}
	if d.doneTimer != nil {
		d.doneTimer.Stop()
		d.doneTimer = nil
	}
	if len(d.done) > 0 {
		d.log.Write(d.done)
		d.done = nil
	}
	err := d.log.Close()
	d.log = nil
	return err
}

// rewrite replaces the file at path with data atomically, closes old (the
// file it replaces, if open) and opens the new one for appending.
func rewrite(path string, data []byte, old *os.File) (*os.File, error) {
	if err := writeAtomic(path, data); err != nil {
		return nil, err
	}
	if old != nil {
		old.Close()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return f, nil
}

// writeAtomic writes data to a temporary file and renames it over path:
// readers, and a restart after the process dies (kill -9 included), see
// the old or the new file, never a torn one. Like the appends, it does not
// fsync: state is saved on every change, and an fsync costs more than the
// rest of the decision; only a power loss could lose the last changes, not
// a crash of leaderhook.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}
