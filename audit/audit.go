// Package audit writes the audit log: one JSON object per line for every
// firing and every action attempt (time, rule, action, delivery id,
// attempt, outcome, duration, HTTP status or exit code, redacted error).
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/internal/lines"
)

// buffered is how many records may wait for the disk before Record drops
// them (and counts each drop as a write error).
const buffered = 4096

// logEvery bounds how often write errors are logged: a failed disk fails
// every line.
const logEvery = time.Minute

// checkEvery bounds how often the writer looks whether the file at the
// path is still the one it writes: not on every record, which would add
// two system calls to each write.
const checkEvery = time.Second

// File appends records to a file from a goroutine of its own, so that
// neither the decisions nor the deliveries wait for the disk. Each record
// is one write(2) on a file opened with O_APPEND: lines never interleave,
// a crash or a full disk loses at most the line being written, and a copytruncate
// rotation leaves no hole. A rotation that renames or removes the file is
// followed: before a write, at most once every checkEvery, and at once on
// Reopen.
type File struct {
	path    string
	records chan dispatch.Record
	reopens chan chan error
	done    chan struct{}
	log     *slog.Logger
	onError func(error)

	// The writer's own: the file, and when it last looked at the path or
	// logged that it could not reopen it.
	f              *os.File
	lines          *lines.Writer // to f: a line torn by a full disk or a crash stays alone
	checked        time.Time
	reopenLoggedAt time.Time

	// closing guards records: Record sends under its read lock, Close
	// closes under its write lock, so that a late Record drops its record
	// rather than send on a closed channel.
	closing sync.RWMutex
	closed  bool

	mu         sync.Mutex // over what follows: Record and the writer fail
	lastLogged time.Time
	unlogged   int         // errors since the last one logged
	lastErr    error       // the latest of them
	report     *time.Timer // logs them once logEvery has passed
}

// Open opens (or creates) the audit log at path for appending. Write
// errors are passed to onError (may be nil), and logged at most once a
// minute with the count of those not logged.
func Open(path string, log *slog.Logger, onError func(error)) (*File, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	if onError == nil {
		onError = func(error) {}
	}
	a := &File{path: path, f: f, lines: lines.Append(f), checked: time.Now(), records: make(chan dispatch.Record, buffered),
		reopens: make(chan chan error), done: make(chan struct{}), log: log, onError: onError}
	go a.write()
	return a, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return f, nil
}

// Reopen opens the file at the path again, creating it if it is gone, for
// what is written from now on: a reload does this after a rotation. It
// returns once the writer has switched, so nothing more goes to the old
// file. When the path cannot be opened, the writer keeps the file it has.
func (a *File) Reopen() error {
	reply := make(chan error, 1)
	select {
	case a.reopens <- reply:
		return <-reply
	case <-a.done: // closed
		return nil
	}
}

var errBehind = errors.New("audit log: the disk is behind; record dropped")

// Record queues r for writing. It never blocks: when the writer is that
// far behind, the record is dropped and counted as a write error.
func (a *File) Record(r dispatch.Record) {
	a.closing.RLock()
	defer a.closing.RUnlock()
	if a.closed {
		a.log.Error("audit record lost: the audit log is closed", "kind", r.Kind, "rule", r.Rule, "cluster", r.Cluster, "delivery_id", r.DeliveryID)
		return
	}
	select {
	case a.records <- r:
	default:
		a.failed(errBehind)
	}
}

func (a *File) write() {
	defer close(a.done)
	for {
		select {
		case r, ok := <-a.records:
			if !ok {
				return
			}
			a.writeRecord(r)
		case reply := <-a.reopens:
			reply <- a.reopen()
		}
	}
}

func (a *File) writeRecord(r dispatch.Record) {
	data, err := json.Marshal(r)
	if err == nil {
		a.follow()
		_, err = a.lines.Write(append(data, '\n'))
	}
	if err != nil {
		a.failed(fmt.Errorf("audit log %s: %w", a.path, err))
	}
}

// follow reopens the file when the one at the path is no longer the one
// open (a rotation renamed or removed it), looking at most once every
// checkEvery. One that cannot be reopened is logged at most once a
// minute; the records go on to the file open, as before the rotation.
func (a *File) follow() {
	now := time.Now()
	if now.Sub(a.checked) < checkEvery {
		return
	}
	a.checked = now
	if !a.rotated() {
		return
	}
	if err := a.reopen(); err != nil && now.Sub(a.reopenLoggedAt) >= logEvery {
		a.reopenLoggedAt = now
		a.log.Error("audit log rotated away and cannot reopen it: still writing to the file open", "err", err)
	}
}

// rotated reports whether the file at the path is gone or another than
// the one open. A path that cannot be looked at for another reason is
// left alone.
func (a *File) rotated() bool {
	at, err := os.Stat(a.path)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	open, err := a.f.Stat()
	return err == nil && !os.SameFile(open, at)
}

// reopen switches the writer to the file at the path, between two records:
// none is lost or written twice.
func (a *File) reopen() error {
	f, err := openAppend(a.path)
	if err != nil {
		return err
	}
	old := a.f
	a.f, a.lines, a.checked = f, lines.Append(f), time.Now()
	if err := old.Close(); err != nil {
		a.log.Warn("audit log: closing the rotated file", "err", err)
	}
	return nil
}

// failed counts a write error and logs it, rate-limited: those held back
// are logged once the minute is up, even if no more follow.
func (a *File) failed(err error) {
	a.onError(err)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unlogged++
	a.lastErr = err
	if wait := logEvery - time.Since(a.lastLogged); wait > 0 {
		if a.report == nil {
			a.report = time.AfterFunc(wait, a.logHeld)
		}
		return
	}
	a.logLost()
}

func (a *File) logHeld() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.report = nil
	a.logLost()
}

// logLost logs the errors not logged yet. Call it with mu held.
func (a *File) logLost() {
	if a.unlogged == 0 {
		return
	}
	a.log.Error("audit records lost", "err", a.lastErr, "lost_since_last_report", a.unlogged)
	a.lastLogged, a.unlogged = time.Now(), 0
}

// Close writes what is queued and closes the file. A record that comes
// after is logged as lost.
func (a *File) Close() error {
	a.closing.Lock()
	if a.closed {
		a.closing.Unlock()
		return nil
	}
	a.closed = true
	close(a.records)
	a.closing.Unlock()
	<-a.done
	a.mu.Lock()
	if a.report != nil {
		a.report.Stop()
		a.report = nil
	}
	a.logLost() // before a stop: the count would be lost with the process
	a.mu.Unlock()
	return a.f.Close()
}
