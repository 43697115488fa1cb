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
// The journal is written behind: a delivery reaches it when something
// depends on it (Flush, before an answer to the events that caused it;
// Save, before a state that records its firing), or flushDelay after it
// was queued, whichever comes first. A delivery finished before then is
// never written: most are, and writing and encoding a line for each was a
// tenth of the daemon's CPU under load. A crash before the write loses
// nothing: the state saved then predates the firing, so the restart
// decides it again (or the sender, without an answer, sends it again).
//
// Appending rather than replacing a file on every save is what keeps a
// save cheap: on ext4 a rename over a file (or a truncation) makes the
// kernel start writing the new data out at once, 0.2-0.4 ms a time on a
// virtual disk, every 50 ms during a burst of leader changes; one write(2)
// costs a few microseconds.
type Dir struct {
	path string

	// OnError, if set, receives the errors nobody else hears of: a timed
	// journal write that failed, a delivery that cannot be encoded. Set it
	// before the first Pending.
	OnError func(error)

	saveMu    sync.Mutex
	stateLog  *os.File
	stateSize int64 // bytes in state.log; past the limit, it is rewritten

	mu      sync.Mutex
	log     *os.File
	pending map[string]dispatch.Delivery
	// unwritten holds the pending deliveries whose latest version is not
	// in the journal yet; written, those with a pending line in it.
	unwritten map[string]struct{}
	written   map[string]struct{}
	lines     int
	// done holds "done" lines not yet written.
	done       []byte
	flushTimer *time.Timer
	torn       bool            // the last write failed, perhaps half done
	line       bytes.Buffer    // what flush writes, reused
	enc        *gojson.Encoder // into line
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
	// flushDelay bounds how long a change to the journal may stay
	// unwritten when nothing asks for it sooner. A crash inside it sends
	// a delivery that had just finished again after the restart, with the
	// same webhook-id (at least once allows that), or resumes a retried
	// one with the attempt count it had before.
	flushDelay = 100 * time.Millisecond
)

// Open opens or creates the state directory.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	d := &Dir{path: path, pending: map[string]dispatch.Delivery{}, unwritten: map[string]struct{}{}, written: map[string]struct{}{}}
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
	// The deliveries a saved state has fired must be in the journal: a
	// restart that finds the state does not fire them again.
	d.mu.Lock()
	err = d.flush()
	d.mu.Unlock()
	if err != nil {
		return err
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
// count, after each failed attempt). It is written behind (see Dir).
func (d *Dir) Pending(del dispatch.Delivery) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending[del.ID] = del
	d.unwritten[del.ID] = struct{}{}
	d.flushLater(flushDelay)
	return nil
}

// Done records that a delivery is finished, delivered or given up. One that
// never reached the journal leaves no trace in it.
func (d *Dir) Done(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.pending[id]; !ok {
		return nil
	}
	delete(d.pending, id)
	delete(d.unwritten, id)
	if _, ok := d.written[id]; !ok {
		return nil
	}
	delete(d.written, id)
	line, err := gojson.Marshal(journalLine{Op: "done", ID: id})
	if err != nil {
		return err
	}
	d.done = append(append(d.done, line...), '\n')
	d.lines++
	if d.lines > len(d.pending)+compactAfter {
		return d.compact()
	}
	d.flushLater(flushDelay)
	return nil
}

// Flush writes what the journal holds unwritten now. HTTP ingest calls it
// before it answers for events whose deliveries did not all succeed at
// once: the sender may then forget the events.
func (d *Dir) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flush()
}

// flushLater arms the timer that writes the journal after delay, unless
// it is armed. A failed write is tried again a second later, and
// reported. Callers hold mu.
func (d *Dir) flushLater(delay time.Duration) {
	if d.flushTimer != nil {
		return
	}
	d.flushTimer = time.AfterFunc(delay, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.flushTimer = nil
		if err := d.flush(); err != nil {
			d.report(err)
			d.flushLater(time.Second)
		}
	})
}

func (d *Dir) report(err error) {
	if d.OnError != nil {
		d.OnError(err)
	}
}

// flush writes the done lines and the unwritten pending deliveries with
// one write(2) on an O_APPEND file: a process crash loses nothing written;
// only a torn last line is possible after a power loss, and readJournal
// skips it. What a failed write did not write is written with the next
// flush, on a new line. Only a failed write is an error: a delivery that
// cannot be encoded is reported and left out. Callers hold mu.
func (d *Dir) flush() error {
	if d.log == nil || len(d.unwritten) == 0 && len(d.done) == 0 {
		return nil
	}
	if d.enc == nil {
		d.enc = gojson.NewEncoder(&d.line)
	}
	d.line.Reset()
	if d.torn {
		d.line.WriteByte('\n') // after a fragment of a failed write
	}
	d.line.Write(d.done)
	for id := range d.unwritten {
		del := d.pending[id]
		// Map keys (labels, event fields) in any order: only leaderhook
		// reads the journal back, and sorting them was a third of the
		// encoding.
		if err := d.enc.EncodeWithOption(journalLine{Op: "pending", ID: id, Delivery: &del}, gojson.UnorderedMap()); err != nil {
			// It cannot be journaled, now or later; the others can.
			delete(d.unwritten, id)
			d.report(fmt.Errorf("journal: delivery %s cannot be encoded, so it is not crash-safe: %w", id, err))
		}
	}
	if _, err := d.log.Write(d.line.Bytes()); err != nil {
		d.torn = true
		return fmt.Errorf("journal: %w", err)
	}
	d.torn = false
	for id := range d.unwritten {
		d.written[id] = struct{}{}
		d.lines++
	}
	clear(d.unwritten)
	d.done = d.done[:0]
	return nil
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
	// The rewritten journal has every pending delivery, and only those.
	d.done = d.done[:0]
	clear(d.unwritten)
	clear(d.written)
	for _, id := range ids {
		d.written[id] = struct{}{}
	}
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
	if d.flushTimer != nil {
		d.flushTimer.Stop()
		d.flushTimer = nil
	}
	err := d.flush()
	if cerr := d.log.Close(); err == nil {
		err = cerr
	}
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
