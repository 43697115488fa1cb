package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/event"
)

const recorderConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
flight_recorder_bytes: {{.Bound}}
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  note: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - {name: lost, when: leaderless, actions: [note]}
`

// recordingLines returns the lines of a flight recorder file, each
// checked to be a record or an event.
func recordingLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for _, line := range lines {
		if _, ok, err := DecodeRecord([]byte(line)); err != nil || ok {
			if err != nil {
				t.Errorf("%s: %v", line, err)
			}
			continue
		}
		if _, err := event.Decode([]byte(line)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	return lines
}

func kindOf(line string) string {
	r, ok, _ := DecodeRecord([]byte(line))
	if !ok {
		return "event"
	}
	return r.Kind
}

// The recorder starts each run with the state it resumed from, writes
// every event, and past half its bound starts a new file with a
// checkpoint, the older one replacing the one before; a clean stop ends
// it with a stop line.
func TestRecorderWritesAndRotates(t *testing.T) {
	h := newHarness(t, recorderConfig, map[string]any{"Bound": 6000})
	h.start(Options{DryRun: true})
	for i := range 40 {
		if code, body := h.post("/v1/events?cluster=ziti", "", ev("m1", event.HasLeader, []string{"a", "b"}[i%2])); code != 202 {
			t.Fatalf("%d %s", code, body)
		}
	}
	h.stop()
	dir := filepath.Join(h.dir, "state")
	old, current := recordingLines(t, filepath.Join(dir, OldInputsFile)), recordingLines(t, filepath.Join(dir, InputsFile))
	if kindOf(current[0]) != RecordCheckpoint || kindOf(old[0]) != RecordCheckpoint {
		t.Errorf("the files begin with %s and %s, want checkpoints", kindOf(old[0]), kindOf(current[0]))
	}
	for _, name := range []string{OldInputsFile, InputsFile} {
		if info, _ := os.Stat(filepath.Join(dir, name)); info.Size() > 3000 {
			t.Errorf("%s has %d bytes, over half the bound", name, info.Size())
		}
	}
	if stop := current[len(current)-1]; kindOf(stop) != RecordStop {
		t.Errorf("the clean stop wrote no stop line last: %s", stop)
	}
	last := current[len(current)-2]
	if kindOf(last) != "event" || !strings.Contains(last, `"cluster":"ziti"`) || !strings.Contains(last, `"leaderId":"b"`) {
		t.Errorf("the last line is not the last event with its cluster: %s", last)
	}
}

// A torn last line (an interrupted write) is cut off at the next start,
// and the start line follows the whole lines; 0 turns the recorder off.
func TestRecorderCutsATornLineAndCanBeOff(t *testing.T) {
	h := newHarness(t, recorderConfig, map[string]any{"Bound": 1 << 20})
	dir := filepath.Join(h.dir, "state")
	os.MkdirAll(dir, 0o750)
	whole := `{"namespace":"leaderhook","eventType":"time","timestamp":"2026-01-01T00:00:00Z"}` + "\n"
	os.WriteFile(filepath.Join(dir, InputsFile), []byte(whole+`{"namespace":"clu`), 0o640)
	h.start(Options{DryRun: true})
	h.stop()
	lines := recordingLines(t, filepath.Join(dir, InputsFile))
	if len(lines) != 3 || lines[0]+"\n" != whole || kindOf(lines[1]) != RecordStart || kindOf(lines[2]) != RecordStop {
		t.Errorf("after a torn line: %q", lines)
	}

	off := newHarness(t, recorderConfig, map[string]any{"Bound": 0})
	off.start(Options{DryRun: true})
	off.post("/v1/events?cluster=ziti", "", ev("m1", event.HasLeader, "a"))
	off.stop()
	if _, err := os.Stat(filepath.Join(off.dir, "state", InputsFile)); !os.IsNotExist(err) {
		t.Errorf("flight_recorder_bytes: 0 wrote %s (%v)", InputsFile, err)
	}
}

// DecodeRecord tells the recorder's lines from events, and refuses a
// damaged one.
func TestDecodeRecord(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	line, err := encodeRecord(RecordStart, at, &RecordedState{})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok, err := DecodeRecord(line); !ok || err != nil || r.Kind != RecordStart || !r.Time.Equal(at) || r.State == nil {
		t.Errorf("start: %+v %v %v", r, ok, err)
	}
	for _, c := range []struct{ line, err string }{
		{`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.rw"}`, ""},
		{`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-01-01T00:00:00Z"}`, "start without its state"},
		{`{"namespace":"leaderhook","eventType":"delivered","timestamp":"2026-01-01T00:00:00Z"}`, "delivered without its end"},
		{`{"namespace":"leaderhook","eventType":"expect","timestamp":"2026-01-01T00:00:00Z","cluster":"a"}`, "expect without its cluster and window"},
		{`{"namespace":"leaderhook","eventType":"nap","timestamp":"2026-01-01T00:00:00Z"}`, `unknown eventType "nap"`},
		{`{"namespace":"leaderhook","eventType":"time","timestamp":"soon"}`, `timestamp "soon" is not RFC 3339`},
		{`{"namespace":"leaderhook","eventType":"time"`, "unexpected end of JSON input"},
	} {
		_, ok, err := DecodeRecord([]byte(c.line))
		if c.err == "" && (ok || err != nil) || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: ok %v, err %v, want %q", c.line, ok, err, c.err)
		}
	}
	if !bytes.HasPrefix(line, recordPrefix) {
		t.Errorf("a record does not begin with its namespace: %s", line)
	}
}

// A write that fails stops the recorder, counted; a minute later it starts
// again with a start line, the state decisions continue from.
func TestRecorderStartsAgainAfterAFailure(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failures := 0
	r := &flightRecorder{dir: dir, perFile: 1 << 20, log: slog.New(slog.DiscardHandler), now: func() time.Time { return now },
		failed: func() { failures++ }, snapshot: func() (RecordedState, time.Time) { return RecordedState{}, now }}
	if err := r.open(); err != nil {
		t.Fatal(err)
	}
	r.start(now, RecordedState{})
	member := func(id string) event.Event {
		return event.Event{Source: id, Time: now, Type: event.HasLeader, LeaderID: "a", Cluster: "ziti"}
	}
	r.input(member("m1"))
	r.file.Close() // the next write fails, as on a full disk
	r.input(member("m2"))
	now = now.Add(retryEvery - time.Second)
	r.input(member("m3")) // too early: not written
	now = now.Add(time.Second)
	r.input(member("m4"))
	r.close()
	lines := recordingLines(t, filepath.Join(dir, InputsFile))
	var got []string
	for _, l := range lines {
		got = append(got, kindOf(l))
	}
	want := []string{RecordStart, "event", RecordStart, "event", RecordStop}
	if !slices.Equal(got, want) || !strings.Contains(lines[1], `"m1"`) || !strings.Contains(lines[3], `"m4"`) {
		t.Errorf("recording %q, want %v with m1, then m4, then the stop", lines, want)
	}
	// The daemon resumed at its start, not when the recorder started again.
	if !strings.Contains(lines[0], `"resume":true`) || strings.Contains(lines[2], `"resume"`) {
		t.Errorf("the daemon's start %s, and the recorder's own start again %s: want resume on the first only", lines[0], lines[2])
	}
	if failures != 1 {
		t.Errorf("%d failures counted, want 1", failures)
	}
}

// While the daemon runs, the recorder writes a heartbeat once nothing else
// was written for HeartbeatEvery, and nothing more while it writes other
// lines; a clean stop writes a stop line. A report tells from them how
// long the daemon ran before a kill -9, within HeartbeatEvery.
func TestRecorderHeartbeatsWhileIdleAndMarksTheStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		begun := time.Now() // the bubble's fake clock
		r := &flightRecorder{dir: dir, perFile: 1 << 20, log: slog.New(slog.DiscardHandler), now: time.Now,
			failed: func() {}, snapshot: func() (RecordedState, time.Time) { return RecordedState{}, time.Now() }}
		if err := r.open(); err != nil {
			t.Fatal(err)
		}
		r.start(begun, RecordedState{})
		var held sync.Mutex // as the driver: one at a time
		call := func(f func()) error { held.Lock(); defer held.Unlock(); f(); return nil }
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); heartbeats(ctx, clock.Real{}, call, r.heartbeat) }()
		time.Sleep(HeartbeatEvery + 30*time.Second) // on the bubble's fake clock; idle: one heartbeat
		call(func() {
			r.input(event.Event{Source: "m1", Time: time.Now(), Type: event.HasLeader, LeaderID: "a", Cluster: "ziti"})
		})
		time.Sleep(HeartbeatEvery + 10*time.Second) // busy until 1m30s: the next at 2m30s
		stop()
		<-done
		r.close()
		var got []string
		for _, l := range recordingLines(t, filepath.Join(dir, InputsFile)) {
			rec, ok, _ := DecodeRecord([]byte(l))
			if !ok {
				got = append(got, "event")
				continue
			}
			got = append(got, fmt.Sprintf("%s %s", rec.Kind, rec.Time.Sub(begun)))
		}
		want := []string{"start 0s", "heartbeat 1m0s", "event", "heartbeat 2m30s", "stop 2m40s"}
		if !slices.Equal(got, want) {
			t.Errorf("recording %q, want %q", got, want)
		}
	})
}
