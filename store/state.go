package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"
)

// stateCompactBytes is how large state.log may grow (or 64 saves of the
// current size, if that is larger) before it is rewritten with only the
// last state.
const stateCompactBytes = 4 << 20

// openState rewrites state.log with only its last whole line (preferring
// an earlier version's state.json when that is newer) and opens it for the
// saves that follow.
func (d *Dir) openState() error {
	last, err := d.lastLine()
	if err != nil {
		return err
	}
	// state.json is what versions before state.log wrote; after a
	// downgrade and an upgrade, both exist and the newer one counts.
	old, err := d.oldState()
	if err != nil {
		return err
	}
	fromOld := old != nil && (last == nil || savedAt(old).After(savedAt(last)))
	if fromOld {
		last = old
	}
	if err := d.compactState(last); err != nil {
		if fromOld {
			return err // state.log lacks the state to resume from
		}
		return d.keepState(err)
	}
	if err := os.Remove(filepath.Join(d.path, oldStateFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// keepState opens state.log as it is when the start cannot rewrite it (a
// full disk, say): its last whole line is the state to resume from, and
// the next save rewrites the file rather than appending to it.
func (d *Dir) keepState(cause error) error {
	path := filepath.Join(d.path, stateFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("%w; kept as it is: %w", cause, err)
	}
	d.note(fmt.Sprintf("%s cannot be rewritten (%v): kept as it is until the next save", path, cause))
	d.stateLog, d.stateSize = f, math.MaxInt64/2
	return nil
}

// loadState decodes the last whole line of state.log.
func (d *Dir) loadState() (State, error) {
	var s State
	line, err := d.lastLine()
	if err != nil || line == nil {
		return s, err
	}
	if err := json.Unmarshal(line, &s); err != nil {
		return s, fmt.Errorf("state %s: %w", filepath.Join(d.path, stateFile), err)
	}
	return s, nil
}

// lastLine returns the JSON of the last good line of state.log, or nil. A
// last line torn by a crash in the middle of a save is skipped (and noted);
// a damaged line before it is an error.
func (d *Dir) lastLine() ([]byte, error) {
	path := filepath.Join(d.path, stateFile)
	data, err := readOptional(path)
	if err != nil {
		return nil, err
	}
	lines, torn, err := readLines(path, data)
	if err != nil {
		return nil, err
	}
	d.note(torn)
	if len(lines) == 0 {
		return nil, nil
	}
	return lines[len(lines)-1], nil
}

// oldState returns the state.json of an earlier version as one line, or
// nil. It was replaced atomically, so one that does not parse is damage to
// report, not a torn write to skip.
func (d *Dir) oldState() ([]byte, error) {
	path := filepath.Join(d.path, oldStateFile)
	data, err := readOptional(path)
	if err != nil || data == nil {
		return nil, err
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
	var data []byte
	if len(line) > 0 {
		data = append(appendFrame(nil, line), '\n')
	}
	f, err := rewrite(d.replace, filepath.Join(d.path, stateFile), data)
	if err != nil {
		return err
	}
	if d.stateLog != nil {
		d.stateLog.Close()
	}
	d.stateLog, d.stateSize = f, int64(len(data))
	return nil
}

// Save appends the state to state.log with one write(2): a crash, kill -9
// included, leaves the previous line or this one whole (a torn line is
// skipped on reading). Past the size limit, the file is rewritten instead.
func (d *Dir) Save(s State) error {
	s.Version = 1
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	if d.stateLog == nil {
		return errors.New("state: saved after Close")
	}
	line := append(appendFrame(nil, data), '\n')
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
