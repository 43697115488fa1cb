package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/leaderhook/leaderhook/dispatch"
)

// compactAfter is how many journal lines may pile up beyond the pending
// deliveries before the journal is rewritten: a few MB.
const compactAfter = 10000

// journal is pending.log: a "pending" line for each delivery (again after
// each failed attempt, with its attempt count) and a "done" line when it is
// finished. The last line about a delivery says where it stands.
type journal struct {
	path    string
	file    *os.File
	pending map[string]dispatch.Delivery
	lines   int  // lines in the file
	torn    bool // the last write failed, perhaps half done
}

type journalLine struct {
	Op       string             `json:"op"` // "pending" or "done"
	ID       string             `json:"id"`
	Delivery *dispatch.Delivery `json:"delivery,omitempty"`
}

// open reads the journal at path and rewrites it with only the deliveries
// still pending.
func (j *journal) open(path string) error {
	j.path, j.pending = path, map[string]dispatch.Delivery{}
	if err := j.read(); err != nil {
		return err
	}
	return j.compact()
}

func (j *journal) read() error {
	f, err := os.Open(j.path)
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
			j.pending[l.ID] = *l.Delivery
		case l.Op == "done":
			delete(j.pending, l.ID)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	return nil
}

// deliveries returns the pending deliveries in the order they were
// decided, so that a resumed resolve does not overtake its firing.
func (j *journal) deliveries() []dispatch.Delivery {
	ds := make([]dispatch.Delivery, 0, len(j.pending))
	for _, del := range j.pending {
		ds = append(ds, del)
	}
	slices.SortFunc(ds, func(a, b dispatch.Delivery) int {
		if c := a.Notification.FiredAt.Compare(b.Notification.FiredAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ds
}

func (j *journal) add(del dispatch.Delivery) error {
	line, err := json.Marshal(journalLine{Op: "pending", ID: del.ID, Delivery: &del})
	if err != nil {
		return fmt.Errorf("journal: delivery %s cannot be encoded: %w", del.ID, err)
	}
	if err := j.write(line); err != nil {
		return err
	}
	j.pending[del.ID] = del
	return nil
}

func (j *journal) remove(id string) error {
	if _, ok := j.pending[id]; !ok {
		return nil
	}
	line, _ := json.Marshal(journalLine{Op: "done", ID: id}) // strings only: cannot fail
	if err := j.write(line); err != nil {
		return err
	}
	delete(j.pending, id)
	if j.lines > len(j.pending)+compactAfter {
		return j.compact()
	}
	return nil
}

// write appends one line with one write(2).
func (j *journal) write(line []byte) error {
	if j.file == nil {
		return errors.New("journal: written after Close")
	}
	var b bytes.Buffer
	if j.torn {
		b.WriteByte('\n') // after the fragment of a failed write
	}
	b.Write(line)
	b.WriteByte('\n')
	if _, err := j.file.Write(b.Bytes()); err != nil {
		j.torn = true
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.torn = false
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
		b.Write(line)
		b.WriteByte('\n')
	}
	f, err := rewrite(j.path, []byte(b.String()), j.file)
	if err != nil {
		return err
	}
	j.file, j.lines, j.torn = f, len(j.pending), false
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
