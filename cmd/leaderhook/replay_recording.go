package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/daemon"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/timeline"
)

// isRecording reports whether files are a flight recording of `leaderhook
// run` (state_dir/inputs*.jsonl): its first line is one of the recorder's
// own.
func isRecording(files []string) (bool, error) {
	if len(files) == 0 || files[0] == "-" {
		return false, nil
	}
	f, err := os.Open(files[0])
	if err != nil {
		return false, fmt.Errorf("events: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("events: %w", err)
	}
	_, ok, _ := daemon.DecodeRecord(line)
	return ok, nil
}

// replayRecording replays a flight recording, its files one after the
// other in the order given, and says what it went through on stderr.
func (e *env) replayRecording(cfg *config.Config, sink pipeline.Sink, out *timeline.Writer, files []string, extend time.Duration) error {
	r := &recordingReplay{cfg: cfg, sink: sink, log: e.log, stderr: e.stderr}
	for _, name := range files {
		if err := r.file(name); err != nil {
			return err
		}
	}
	if extend > 0 && r.driver != nil {
		// From where the replay stopped, as the summary's hint counts: the
		// daemon's time lines may have taken it past the last event.
		r.driver.AdvanceTo(r.driver.Now().Add(extend))
	}
	if err := out.Flush(); err != nil {
		return err
	}
	r.warn()
	late := r.late
	if r.driver != nil {
		late += r.driver.Late
	}
	res := replayed{n: r.events, first: r.first, last: r.last, late: late, rejected: r.rejected, ignored: r.ignored}
	if r.driver != nil {
		res.end, res.next = r.driver.Now(), lookAhead(cfg, r.driver)
	}
	return e.replaySummary(res, out.Counts)
}

// recordingReplay makes the decisions of a flight recording again: each
// start of the daemon restores the state it resumed from, events are
// handled at the times they were dated at, and time passes as it did.
type recordingReplay struct {
	cfg    *config.Config
	sink   pipeline.Sink
	log    *slog.Logger
	stderr io.Writer

	check       func(event.Event) error // refuses events of clusters not in cfg
	driver      *pipeline.Driver        // nil before the first line
	late        int                     // of the drivers replaced
	events      int
	first, last time.Time
	rejected    int
	ignored     int                // lines skipped (event.ErrSkipped)
	unknown     event.UnknownTypes // told of already
	starts      int
	reloads     []time.Time
	midRun      bool // the recording does not begin with a start
	// reached is the latest time a time, reload, heartbeat or stop line
	// took the replay to: the daemon ran, and knew its clusters' states,
	// until then.
	reached time.Time
	// lastLine is the latest time of a line so far: where a restart's
	// downtime begins.
	lastLine time.Time
	// restored, when set, is told of the state each start or checkpoint
	// the replay is restored from, dated as its line; restart says it
	// follows a time the daemon was down.
	restored func(at time.Time, state *daemon.RecordedState, restart bool)
	// down, when set, is told of each time the daemon was down: from its
	// stop line, or its last line before a crash, to its next start.
	down func(from, to time.Time)
}

func (r *recordingReplay) file(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if lineErr := r.line(line); lineErr != nil {
				r.lineError(&event.LineError{Name: name, Line: n, Err: lineErr})
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// lineError counts a line not replayed: skipped as the daemon skips it
// (each unknown eventType named once), or rejected.
func (r *recordingReplay) lineError(le *event.LineError) {
	switch {
	case tellUnknownType(r.stderr, &r.unknown, le):
		r.ignored++
	case errors.Is(le.Err, event.ErrSkipped):
		r.ignored++
	default:
		r.rejected++
		fmt.Fprintf(r.stderr, "%v (line skipped)\n", le)
	}
}

// line replays one line.
func (r *recordingReplay) line(line []byte) error {
	rec, ok, err := daemon.DecodeRecord(line)
	if err != nil {
		return err
	}
	if ok {
		err := r.record(rec)
		r.lastLine = later(r.lastLine, rec.Time)
		return err
	}
	ev, err := event.Decode(line)
	if err != nil {
		return err
	}
	r.lastLine = later(r.lastLine, ev.Time)
	if r.check == nil {
		r.check = inConfig(r.cfg)
	}
	if err := r.check(ev); err != nil {
		return err
	}
	if r.driver == nil {
		r.midRun = true
		if err := r.restart(nil); err != nil {
			return err
		}
	}
	if err := r.driver.Handle(ev); err != nil {
		return err // it names no cluster: rejected as one not in the config
	}
	if r.events == 0 {
		r.first = ev.Time
	}
	r.events++
	r.last = ev.Time
	return nil
}

// record replays one of the recorder's own lines. A checkpoint matters
// only where the replay begins: after that, the replay's own state is the
// exact one.
func (r *recordingReplay) record(rec daemon.Record) error {
	switch rec.Kind {
	case daemon.RecordStart:
		r.starts++
		restart := !r.lastLine.IsZero() && r.lastLine.Before(rec.Time)
		if restart && r.down != nil {
			r.down(r.lastLine, rec.Time)
		}
		return r.restoreAt(rec, restart)
	case daemon.RecordCheckpoint:
		if r.driver == nil {
			r.midRun = true
			return r.restoreAt(rec, false)
		}
	case daemon.RecordReload:
		r.reloads = append(r.reloads, rec.Time)
		fallthrough
	case daemon.RecordTime:
		if r.driver != nil {
			r.driver.AdvanceTo(rec.Time)
		}
		if rec.Time.After(r.reached) {
			r.reached = rec.Time
		}
	case daemon.RecordDelivered:
		if r.driver != nil {
			r.driver.ActionDone(*rec.End, rec.Time)
		}
	case daemon.RecordExpect:
		if r.driver != nil {
			return r.driver.Expect(rec.Cluster, *rec.Expect, rec.Time)
		}
	case daemon.RecordHeartbeat, daemon.RecordStop:
		// They decide nothing: the daemon ran until then.
		r.reached = later(r.reached, rec.Time)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// restoreAt restarts the replay from the state of a start or checkpoint.
func (r *recordingReplay) restoreAt(rec daemon.Record, restart bool) error {
	if err := r.restart(rec.State); err != nil {
		return err
	}
	if rec.Resume {
		// As the daemon did as it started: what the rules missed while it
		// was down is made up once. An earlier version's made up nothing.
		r.driver.Resume(rec.Time)
	}
	if rec.Kind == daemon.RecordStart {
		// What its config no longer has resolves.
		r.driver.ResolveRetired(rec.Time)
	}
	if r.restored != nil && rec.State != nil {
		r.restored(rec.Time, rec.State, restart)
	}
	return nil
}

// restart replaces the driver with a new one restored from state (nil:
// none), as the daemon did at its start.
func (r *recordingReplay) restart(state *daemon.RecordedState) error {
	driver, err := pipeline.New(r.cfg, "", r.sink, r.log)
	if err != nil {
		return err
	}
	if state != nil {
		driver.Restore(state.Engine, state.Views)
	}
	if r.driver != nil {
		r.late += r.driver.Late
	}
	r.driver = driver
	return nil
}

// warn says on stderr where the replay may differ from what the daemon
// decided.
func (r *recordingReplay) warn() {
	fmt.Fprintf(r.stderr, "flight recording: %d starts of the daemon\n", r.starts)
	if r.midRun {
		fmt.Fprintln(r.stderr, "leaderhook: the recording begins while the daemon ran (its start was in a file rotated away): "+
			"until the members have reported again, decisions may differ from the daemon's")
	}
	if len(r.reloads) > 0 {
		fmt.Fprintf(r.stderr, "leaderhook: the daemon reloaded its config %d times (first at %s): replay uses the one config given, "+
			"so decisions after a reload may differ from the daemon's\n", len(r.reloads), r.reloads[0].Format(time.RFC3339))
	}
}
