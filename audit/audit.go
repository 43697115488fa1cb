// Package audit writes the audit log: one JSON object per line for every
// firing and every action attempt (time, rule, action, delivery id,
// attempt, outcome, duration, HTTP status or exit code, redacted error).
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
)

// buffered is how many records may wait for the disk before Record drops
// them (and counts each drop as a write error).
const buffered = 4096

// logEvery bounds how often write errors are logged: a failed disk fails
// every line.
const logEvery = time.Minute

// File appends records to a file from a goroutine of its own, so that
// neither the decisions nor the deliveries wait for the disk. Each record
// is one write(2) on a file opened with O_APPEND: lines never interleave,
// and a crash loses at most the line being written.
type File struct {
	f       *os.File
	records chan dispatch.Record
	done    chan struct{}
	log     *slog.Logger
	onError func(error)

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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if onError == nil {
		onError = func(error) {}
	}
	a := &File{f: f, records: make(chan dispatch.Record, buffered), done: make(chan struct{}), log: log, onError: onError}
	go a.write()
	return a, nil
}

var errBehind = errors.New("audit log: the disk is behind; record dropped")

// Record queues r for writing. It never blocks: when the writer is that
// far behind, the record is dropped and counted as a write error.
func (a *File) Record(r dispatch.Record) {
	select {
	case a.records <- r:
	default:
		a.failed(errBehind)
	}
}

func (a *File) write() {
	defer close(a.done)
	for r := range a.records {
		data, err := json.Marshal(r)
		if err == nil {
			_, err = a.f.Write(append(data, '\n'))
		}
		if err != nil {
			a.failed(fmt.Errorf("audit log %s: %w", a.f.Name(), err))
		}
	}
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

// Close writes what is queued and closes the file. Record must not be
// called after Close.
func (a *File) Close() error {
	close(a.records)
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
