package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/leaderhook/leaderhook/dispatch"
)

// compactAfter is how many journal lines may pile up beyond the pending
// deliveries before the journal is rewritten: a few MB.
const compactAfter = 10000

// compactRetryAfter is how many lines are appended after a failed
// compaction before the next try: not one at every finished delivery
// while the disk stays full.
const compactRetryAfter = 1000

// journal is pending.log: a "pending" line for each delivery (again after
// each failed attempt, with its attempt count) and a "done" line when it is
// finished. The last line about a delivery says where it stands.
type journal struct {
	path    string
	file    appendFile
	replace func(path string, data []byte) error // writes the file whole
	pending dispatch.PendingSet
	encoded bytes.Buffer  // the line being written, reused
	encoder *json.Encoder // into encoded
	line    []byte        // the framed line written, reused
	lines   int           // lines in the file
	size    int64         // bytes in the file
	// torn stops appending: a write failed half done and could not be
	// undone, or the file open was replaced by a compaction whose new
	// file could not be opened.
	torn bool
	// failed holds the error of a write that failed since the last
	// compaction: the file may then lack a pending delivery, which only
	// memory holds until a compaction writes it.
	failed error
	// retryAt is the line count that compaction waits for after a try
	// failed.
	retryAt int
	// compactFailed is told of a compaction that failed in remove, which
	// does not fail: its done line is written.
	compactFailed func(error)
}

// appendFile is the journal's file, open for appending: an *os.File, or
// in tests one whose writes fail as on a full disk.
type appendFile interface {
	io.Writer
	Truncate(size int64) error
	Close() error
}

type journalLine struct {
	Op       string             `json:"op"` // "pending" or "done"
	ID       string             `json:"id"`
	Delivery *dispatch.Delivery `json:"delivery,omitempty"`
}

// open reads the journal at path and rewrites it with only the deliveries
// still pending; if it cannot (a full disk, say), it appends to the file
// as it is. What it recovered from goes to note.
func (j *journal) open(path string, replace func(path string, data []byte) error, note func(string)) error {
	j.path, j.pending, j.replace = path, dispatch.PendingSet{}, replace
	j.encoder = json.NewEncoder(&j.encoded)
	data, err := j.read(note)
	if err != nil {
		return err
	}
	if err := j.compact(); err != nil {
		if keepErr := j.keep(data); keepErr != nil {
			return fmt.Errorf("%w; kept as it is: %w", err, keepErr)
		}
		note(fmt.Sprintf("%v: kept as it is, and appended to", err))
	}
	return nil
}

// keep opens the journal as it is, whose content is data, for appending.
// A torn last line is cut first, which needs no room on the disk.
func (j *journal) keep(data []byte) error {
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	whole := bytes.LastIndexByte(data, '\n') + 1
	j.file, j.size, j.lines = f, int64(whole), bytes.Count(data, []byte{'\n'})
	if whole == len(data) {
		return nil
	}
	_, lineErr := unframe(data[whole:])
	switch err := f.Truncate(int64(whole)); {
	case err != nil:
		j.torn, j.failed = true, fmt.Errorf("journal %s: a torn last line cannot be cut: %w", j.path, err)
	case lineErr == nil:
		// A whole line but its newline: only memory holds it now.
		j.failed = fmt.Errorf("journal %s: a last line without its newline was cut, to be written again", j.path)
	}
	return nil
}

// read reads the journal's pending deliveries, and returns its content.
func (j *journal) read(note func(string)) ([]byte, error) {
	data, err := readOptional(j.path)
	if err != nil {
		return nil, err
	}
	lines, torn, err := readLines(j.path, data)
	if err != nil {
		return nil, err
	}
	note(torn)
	for _, line := range lines {
		var l journalLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, &DamagedError{Path: j.path, Err: err}
		}
		switch {
		case l.Op == "pending" && l.Delivery != nil:
			j.pending.Put(*l.Delivery)
		case l.Op == "done":
			j.pending.Remove(l.ID)
		}
	}
	return data, nil
}

// deliveries returns the pending deliveries in the order they were
// decided, so that a resumed resolve does not overtake its firing.
func (j *journal) deliveries() []dispatch.Delivery { return j.pending.List() }

func (j *journal) add(del dispatch.Delivery) error {
	j.encoded.Reset()
	if err := j.encoder.Encode(journalLine{Op: "pending", ID: del.ID, Delivery: &del}); err != nil {
		return fmt.Errorf("journal: delivery %s cannot be encoded: %w", del.ID, err)
	}
	j.pending.Put(del)
	return j.write(bytes.TrimSuffix(j.encoded.Bytes(), []byte{'\n'}))
}

func (j *journal) remove(id string) error {
	if !j.pending.Remove(id) {
		return nil // not journaled, or done already
	}
	line, _ := json.Marshal(journalLine{Op: "done", ID: id}) // strings only: cannot fail
	if err := j.write(line); err != nil {
		return err
	}
	j.compactIfLong()
	return nil
}

// compactIfLong rewrites the journal once finished deliveries pile up in
// it. A failure loses nothing, so it fails no write: it is reported, and
// compaction tried again further on.
func (j *journal) compactIfLong() {
	if j.lines <= j.pending.Len()+compactAfter || j.lines < j.retryAt {
		return
	}
	if err := j.compact(); err != nil {
		j.retryAt = j.lines + compactRetryAfter
		if j.compactFailed != nil {
			j.compactFailed(err)
		}
	}
}

// repair rewrites the journal from memory after a write failed, and
// returns the error that remains, if any. A closed journal stays closed.
func (j *journal) repair() error {
	if j.failed == nil || j.file == nil {
		return j.failed
	}
	if err := j.compact(); err != nil {
		j.failed = err
	}
	return j.failed
}

// write appends the line of data with one write(2). A write that fails
// half done is undone, so that no fragment stays between good lines; if it
// cannot be, nothing more is appended: the fragment stays the torn last
// line, skipped on reading, until repair rewrites the file.
func (j *journal) write(data []byte) error {
	if j.file == nil {
		return errors.New("journal: written after Close")
	}
	if j.torn {
		return j.failed
	}
	line := append(appendFrame(j.line[:0], data), '\n')
	j.line = line
	n, err := j.file.Write(line)
	if err != nil {
		if n > 0 && j.file.Truncate(j.size) != nil {
			j.torn = true
		}
		j.failed = fmt.Errorf("journal %s: %w", j.path, err)
		return j.failed
	}
	j.size += int64(n)
	j.lines++
	return nil
}

// compact rewrites the journal with only the pending deliveries.
func (j *journal) compact() error {
	var b strings.Builder
	for _, del := range j.deliveries() {
		line, err := json.Marshal(journalLine{Op: "pending", ID: del.ID, Delivery: &del})
		if err != nil {
			return fmt.Errorf("journal: delivery %s cannot be encoded: %w", del.ID, err)
		}
		b.Write(appendFrame(nil, line))
		b.WriteByte('\n')
	}
	if err := j.replace(j.path, []byte(b.String())); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err) // the file is as it was
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		err = fmt.Errorf("journal %s: %w", j.path, err)
		if j.file != nil {
			// The file open is no longer the journal: what it took would
			// be lost, so it takes nothing more until repair.
			j.torn, j.failed = true, err
		}
		return err
	}
	if j.file != nil {
		j.file.Close()
	}
	j.file, j.lines, j.size, j.torn, j.failed = f, j.pending.Len(), int64(b.Len()), false, nil
	j.retryAt = 0
	return nil
}

func (j *journal) close() error {
	if j.file == nil {
		return nil
	}
	err := j.file.Close()
	j.file = nil
	return err
}
