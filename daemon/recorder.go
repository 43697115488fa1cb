package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/backward"
	"github.com/leaderhook/leaderhook/rules"
)

// The flight recorder keeps in state_dir what the decisions were made on,
// so that `leaderhook replay` of its files makes them again, at the same
// instants: each member event as the decision goroutine dated it, and the
// passing of time (decisions that time alone makes: thresholds,
// stabilize periods). Each is written, with one write(2), before the
// driver decides on it: a kill -9 cannot leave a decision whose input is
// not in the file. Each start writes the state the daemon resumed from,
// since a restarted daemon decides from its saved state, not from its
// whole past.
//
// Lines are OpenZiti cluster events (with their cluster), or the
// recorder's own, in the namespace "leaderhook": a start or a checkpoint
// (the state decisions continue from), a time (time passed to then), a
// reload (the config changed: replay uses one config), a delivered (a
// delivery that a rule's verification waits for ended), a heartbeat (the
// daemon still ran) and a stop (a clean stop: nothing was watched after).
// The last two decide nothing: they tell a report how long the daemon
// watched its clusters.

// Flight recorder files, in state_dir: the current one, and the one it
// replaced when it reached half the bound.
const (
	InputsFile    = "inputs.jsonl"
	OldInputsFile = "inputs.1.jsonl"
)

// Kinds of the recorder's own lines (their eventType).
const (
	RecordStart      = "start"
	RecordCheckpoint = "checkpoint"
	RecordTime       = "time"
	RecordReload     = "reload"
	RecordDelivered  = "delivered"
	RecordExpect     = "expect"
	RecordHeartbeat  = "heartbeat"
	RecordStop       = "stop"
)

// HeartbeatEvery is how often the recorder writes a heartbeat while it
// writes nothing else: after a kill -9, the last line of the recording is
// at most this long before the daemon died, so a report counts at most
// this much of the time it was down as watched. A busy daemon writes no
// heartbeat.
const HeartbeatEvery = time.Minute

// recordNamespace starts every line of the recorder's own, as it writes
// them.
const recordNamespace = "leaderhook"

var recordPrefix = []byte(`{"namespace":"` + recordNamespace + `"`)

// RecordedState is what decisions continue from at a start or a
// checkpoint: the state the driver is restored with.
type RecordedState struct {
	Engine rules.Snapshot            `json:"engine"`
	Views  map[string]detector.State `json:"views"`
}

// Record is one of the recorder's own lines.
type Record struct {
	Kind  string
	Time  time.Time
	State *RecordedState   // of a start or a checkpoint
	End   *rules.ActionEnd // of a delivered
	// Cluster and Expect, of an expect: the window of expected changes
	// opened for the cluster, or ended (a zero Expect).
	Cluster string
	Expect  *rules.Expectation
	// Resume: at this start the daemon made up, once, what its rules
	// missed while it was down (rules.Engine.Resume), and a replay does
	// too. A start written by an earlier version, whose daemon sent every
	// missed repeat instead, has none, nor has the recorder's own start
	// again after a failed write (the daemon was not down).
	Resume bool
}

type recordJSON struct {
	Namespace string             `json:"namespace"`
	Kind      string             `json:"eventType"`
	Timestamp string             `json:"timestamp"`
	State     *RecordedState     `json:"state,omitempty"`
	End       *rules.ActionEnd   `json:"end,omitempty"`
	Cluster   string             `json:"cluster,omitempty"`
	Expect    *rules.Expectation `json:"expect,omitempty"`
	Resume    bool               `json:"resume,omitempty"`
}

// DecodeRecord decodes a line of a flight recording. ok is false for a
// line that is not one of the recorder's own: an event.
func DecodeRecord(line []byte) (r Record, ok bool, err error) {
	line = bytes.TrimSpace(line)
	if !bytes.HasPrefix(line, recordPrefix) {
		return Record{}, false, nil
	}
	var in recordJSON
	if err := json.Unmarshal(line, &in); err != nil {
		return Record{}, true, fmt.Errorf("flight recorder line: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, in.Timestamp)
	if err != nil {
		return Record{}, true, fmt.Errorf("flight recorder line: timestamp %q is not RFC 3339", in.Timestamp)
	}
	switch in.Kind {
	case RecordStart, RecordCheckpoint:
		if in.State == nil {
			return Record{}, true, fmt.Errorf("flight recorder line: %s without its state", in.Kind)
		}
	case RecordDelivered:
		if in.End == nil {
			return Record{}, true, fmt.Errorf("flight recorder line: %s without its end", in.Kind)
		}
	case RecordExpect:
		if in.Cluster == "" || in.Expect == nil {
			return Record{}, true, fmt.Errorf("flight recorder line: %s without its cluster and window", in.Kind)
		}
	case RecordTime, RecordReload, RecordHeartbeat, RecordStop:
	default:
		return Record{}, true, fmt.Errorf("flight recorder line: unknown eventType %q", in.Kind)
	}
	return Record{Kind: in.Kind, Time: at, State: in.State, End: in.End, Cluster: in.Cluster, Expect: in.Expect,
		Resume: in.Resume && in.Kind == RecordStart}, true, nil
}

func encodeRecord(kind string, at time.Time, state *RecordedState) ([]byte, error) {
	return encodeJSON(recordJSON{Namespace: recordNamespace, Kind: kind, Timestamp: at.Format(event.TimeLayout), State: state})
}

// encodeStart encodes the start of a daemon that resumed from state (a
// Record's Resume).
func encodeStart(at time.Time, state *RecordedState) ([]byte, error) {
	return encodeJSON(recordJSON{Namespace: recordNamespace, Kind: RecordStart, Timestamp: at.Format(event.TimeLayout), State: state, Resume: true})
}

func encodeJSON(rec recordJSON) ([]byte, error) {
	data, err := json.Marshal(rec)
	return append(data, '\n'), err
}

// flightRecorder writes the flight recording. It is called on the decision
// goroutine (with the driver held), or before Run and after it.
type flightRecorder struct {
	dir     string
	perFile int64 // past it, the file is rotated
	file    *os.File
	size    int64
	// reached is the latest instant the lines of this run take a replay
	// to: a passing of time before it decides nothing new.
	reached  time.Time
	snapshot func() (RecordedState, time.Time) // for a checkpoint: the state, as of when
	log      *slog.Logger
	now      func() time.Time
	failed   func() // counts a write that failed
	// retryAt is when a recorder that a failure stopped starts again.
	retryAt time.Time
	// wrote is when the last line was written, by the clock: a heartbeat
	// is due HeartbeatEvery after it.
	wrote time.Time
}

// retryEvery is how long a failed recorder waits before it starts again:
// a full disk is rarely freed within the second.
const retryEvery = time.Minute

// startRecorder opens the flight recorder, unless it is off, writes the
// state the daemon resumed from, and has the driver show it every input
// before deciding on it. A node of a group (ha:) records nothing: the
// group's log drives its pipeline, not Run, and holds the inputs.
func (d *Daemon) startRecorder(cfg *config.Config, resumed RecordedState, now time.Time) error {
	bound := cfg.FlightRecorder()
	if bound == 0 || d.group != nil {
		return nil
	}
	r := &flightRecorder{dir: d.stateDir, perFile: max(int64(bound)/2, 1), log: d.log, now: d.opts.Clock.Now,
		failed: d.metrics.RecorderWriteFailed, snapshot: func() (RecordedState, time.Time) {
			engine, views := d.driver.Snapshot()
			return RecordedState{Engine: engine, Views: views}, d.driver.Now()
		}}
	if err := r.open(); err != nil {
		return fmt.Errorf("flight recorder: %w", err)
	}
	d.recorder = r
	tail, err := readRecordedTail(d.stateDir, d.acceptsHTTPIn(cfg))
	if err != nil {
		d.log.Warn("events sent again may be decided again: the latest recorded ones cannot be read", "err", err)
	}
	d.ingested = tail.ingested
	r.start(now, resumed)
	d.takeRecordedEnds(tail.ends, now)
	next := d.driver.OnEvent
	d.driver.OnEvent = func(ev event.Event) {
		r.input(ev)
		if next != nil {
			next(ev)
		}
	}
	d.driver.OnAdvance = r.advance
	return nil
}

// takeRecordedEnds takes again, at now, the delivery ends the recording
// has and the restored state still awaits: a kill -9 came after the end
// was recorded, before the state was saved with it. Each is recorded
// again, at now, so that a replay takes it where the daemon did.
func (d *Daemon) takeRecordedEnds(ends []rules.ActionEnd, now time.Time) {
	d.driver.Do(func() {
		for _, end := range ends {
			if !d.driver.Awaits(end) {
				continue
			}
			d.log.Info("a delivery's end recorded before the last stop reaches its rule's verification",
				"rule", end.Rule, "cluster", end.Cluster, "action", end.Action)
			d.recorder.delivered(end, now)
			d.driver.ActionDone(end, now)
		}
	})
}

// open opens the current file for appending. A last line without its
// newline is the torn end of an interrupted write: it is cut off, so that
// the lines that follow stay whole.
func (r *flightRecorder) open() error {
	f, err := os.OpenFile(filepath.Join(r.dir, InputsFile), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err == nil {
		r.size, err = cutTornLine(f, info.Size())
	}
	if err != nil {
		f.Close()
		return err
	}
	if r.size != info.Size() {
		r.log.Warn("flight recorder: the torn end of an interrupted write was cut off", "file", f.Name(), "bytes", info.Size()-r.size)
	}
	r.file = f
	return nil
}

// cutTornLine truncates f, of size bytes, after its last newline, and
// returns its new size.
func cutTornLine(f *os.File, size int64) (int64, error) {
	end, _, err := backward.LastLineEnd(f, size, 0)
	if err != nil || end == size {
		return size, err
	}
	return end, f.Truncate(end)
}

// start writes the state the daemon resumed from, in a new file if the
// current one is full.
func (r *flightRecorder) start(now time.Time, resumed RecordedState) {
	line, err := encodeStart(now, &resumed)
	if err == nil && r.size > 0 && r.size+int64(len(line)) > r.perFile {
		err = r.rotate()
	}
	if err != nil {
		r.stop(err)
		return
	}
	r.write(line, time.Time{})
}

// input writes a member event, as dated, before the driver handles it.
func (r *flightRecorder) input(ev event.Event) {
	if !r.ready() {
		return
	}
	data, err := ev.MarshalJSON()
	if err != nil {
		r.stop(err)
		return
	}
	r.rotatedWrite(append(data, '\n'), ev.Time)
}

// advance writes that time passed to now, before the driver decides what
// is due by then.
func (r *flightRecorder) advance(now time.Time) {
	if now.Before(r.reached) || !r.ready() {
		return // an event already took a replay there, or stopped
	}
	line, err := encodeRecord(RecordTime, now, nil)
	if err != nil {
		r.stop(err)
		return
	}
	r.rotatedWrite(line, now)
}

// reloaded writes that the config changed at now, where the driver
// advances to before taking the new config.
func (r *flightRecorder) reloaded(now time.Time) {
	if !r.ready() {
		return
	}
	line, err := encodeRecord(RecordReload, now, nil)
	if err != nil {
		r.stop(err)
		return
	}
	r.rotatedWrite(line, now)
}

// delivered writes the end of a delivery that a verification waits for,
// before the driver takes it at `at`.
func (r *flightRecorder) delivered(end rules.ActionEnd, at time.Time) {
	if !r.ready() {
		return
	}
	data, err := json.Marshal(recordJSON{Namespace: recordNamespace, Kind: RecordDelivered, Timestamp: at.Format(event.TimeLayout), End: &end})
	if err != nil {
		r.stop(err)
		return
	}
	r.rotatedWrite(append(data, '\n'), at)
}

// expected writes a window of expected changes opened for cluster, or
// ended (a zero x), before the driver takes it at `at`.
func (r *flightRecorder) expected(cluster string, x rules.Expectation, at time.Time) {
	if !r.ready() {
		return
	}
	data, err := json.Marshal(recordJSON{Namespace: recordNamespace, Kind: RecordExpect, Timestamp: at.Format(event.TimeLayout), Cluster: cluster, Expect: &x})
	if err != nil {
		r.stop(err)
		return
	}
	r.rotatedWrite(append(data, '\n'), at)
}

// heartbeat writes that the daemon runs, unless a line was written
// within HeartbeatEvery, and returns how long until it is due again.
func (r *flightRecorder) heartbeat() time.Duration {
	now := r.now()
	if since := now.Sub(r.wrote); since < HeartbeatEvery {
		return HeartbeatEvery - since
	}
	if !r.ready() {
		return HeartbeatEvery
	}
	line, err := encodeRecord(RecordHeartbeat, now, nil)
	if err != nil {
		r.stop(err)
		return HeartbeatEvery
	}
	r.rotatedWrite(line, time.Time{}) // decides nothing: a replay's time stays
	return HeartbeatEvery
}

// heartbeats writes the recorder's heartbeats while Run runs, if it
// records.
func (d *Daemon) heartbeats(ctx context.Context) {
	if d.recorder != nil {
		heartbeats(ctx, d.opts.Clock, d.call, d.recorder.heartbeat)
	}
}

// heartbeats has beat called, with the driver held (call), when the
// recorder's heartbeat is due, until ctx ends.
func heartbeats(ctx context.Context, clk clock.Clock, call func(func()) error, beat func() time.Duration) {
	timer := clk.NewTimer(HeartbeatEvery)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
		}
		wait := HeartbeatEvery
		if err := call(func() { wait = beat() }); err != nil {
			wait = HeartbeatEvery // not running yet, or any more
		}
		timer.Reset(wait)
	}
}

// rotatedWrite writes line, first starting a new file with a checkpoint
// if line would take the current one past its bound. The checkpoint is
// the state before line: a replay that begins there restores it.
func (r *flightRecorder) rotatedWrite(line []byte, at time.Time) {
	if r.file == nil {
		return
	}
	if r.size > 0 && r.size+int64(len(line)) > r.perFile {
		state, asOf := r.snapshot()
		checkpoint, err := encodeRecord(RecordCheckpoint, asOf, &state)
		if err == nil {
			err = r.rotate()
		}
		if err != nil {
			r.stop(err)
			return
		}
		r.write(checkpoint, time.Time{})
	}
	r.write(line, at)
}

// rotate makes the current file the old one, replacing it, and starts an
// empty current file.
func (r *flightRecorder) rotate() error {
	r.file.Close()
	r.file = nil
	current := filepath.Join(r.dir, InputsFile)
	if err := os.Rename(current, filepath.Join(r.dir, OldInputsFile)); err != nil {
		return err
	}
	f, err := os.OpenFile(current, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	r.file, r.size = f, 0
	return nil
}

// write writes one whole line with one write(2).
func (r *flightRecorder) write(line []byte, at time.Time) {
	if r.file == nil {
		return
	}
	n, err := r.file.Write(line)
	r.size += int64(n)
	if err != nil {
		r.stop(err)
		return
	}
	if at.After(r.reached) {
		r.reached = at
	}
	r.wrote = r.now()
}

// stop stops the recording after a failure: decisions go on without it.
// It starts again after retryEvery (see ready).
func (r *flightRecorder) stop(err error) {
	r.log.Error("flight recorder stopped; it tries again in a minute", "state_dir", r.dir, "err", err)
	r.failed()
	r.retryAt = r.now().Add(retryEvery)
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
}

// ready reports whether the recorder writes. One that a failure stopped
// starts again once retryEvery has passed, with a start line: the state
// decisions continue from, as after a restart, since the inputs in
// between are lost.
func (r *flightRecorder) ready() bool {
	switch {
	case r == nil:
		return false
	case r.file != nil:
		return true
	case r.retryAt.IsZero() || r.now().Before(r.retryAt):
		return false
	}
	if err := r.open(); err != nil {
		r.stop(err)
		return false
	}
	state, asOf := r.snapshot()
	line, err := encodeRecord(RecordStart, asOf, &state)
	if err != nil {
		r.stop(err)
		return false
	}
	r.write(line, asOf)
	if r.file != nil {
		r.log.Info("flight recorder started again", "state_dir", r.dir)
	}
	return r.file != nil
}

// close writes that the daemon stopped, and closes the file; Close calls
// it once the driver has stopped.
func (r *flightRecorder) close() {
	if !r.ready() {
		return
	}
	if line, err := encodeRecord(RecordStop, r.now(), nil); err != nil {
		r.stop(err)
	} else {
		r.rotatedWrite(line, time.Time{})
	}
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
}
