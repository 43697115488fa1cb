package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/rules"
)

// A quiet cluster's state and open split brain, whose own entries were
// in a segment since dropped (by the size bound while a busy cluster
// filled the store, or by a max_age shorter than the window viewed),
// survive as the checkpoints of the later segments: a window that began
// before them still holds them, in its states and splits, with
// ?cluster= and in an overview, each once.
func TestHistoryKeepsAQuietClusterWhoseEntriesWerePruned(t *testing.T) {
	tests := []struct {
		name     string
		maxAge   time.Duration
		maxBytes int64
		every    time.Duration
		busy     int
	}{
		{"size", 7 * 24 * time.Hour, 64 << 10, time.Second, 5000},
		{"age", time.Hour, 1 << 30, time.Minute, 3 * 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{now: t0}
			s := open(t, dir, clk, tt.maxAge, tt.maxBytes)
			s.AddWait(state(t0, "b", "m1"))
			s.AddWait(split(t0, "b", "m1", "m2"))
			at := t0
			for i := range tt.busy {
				at = t0.Add(time.Duration(i+1) * tt.every)
				clk.set(at)
				s.AddWait(outcome(at, i))
			}
			s.Close()
			if w, _ := s.Query(t0, at, Filter{}); !w.KeptFrom.After(t0) {
				t.Fatalf("nothing was pruned: kept from %v", w.KeptFrom)
			}
			from := at.Add(-6 * time.Hour)
			for _, f := range []Filter{{}, {Cluster: "b"}, {Step: time.Minute}} {
				w, err := s.Query(from, at, f)
				if err != nil {
					t.Fatal(err)
				}
				states := clusterStates(w.States, "b")
				if f.Step > 0 {
					states = nil
					for _, sp := range w.Spans {
						if sp.Cluster == "b" {
							states = append(states, State{LeaderID: sp.LeaderID})
						}
					}
				}
				if len(states) != 1 || states[0].LeaderID != "m1" {
					t.Errorf("filter %+v: cluster b's states (or spans) %+v, want its leader m1 once", f, states)
				}
				if splits := clusterSplits(w.Splits, "b"); len(splits) != 1 || !splits[0].open() {
					t.Errorf("filter %+v: cluster b's splits %+v, want its open split brain once", f, splits)
				}
			}
		})
	}
}

func clusterStates(states []State, cluster string) []State {
	var out []State
	for _, st := range states {
		if st.Cluster == cluster {
			out = append(out, st)
		}
	}
	return out
}

func clusterSplits(splits []Split, cluster string) []Split {
	var out []Split
	for _, sp := range splits {
		if sp.Cluster == cluster {
			out = append(out, sp)
		}
	}
	return out
}

// TestHistoryDropsOldSegmentsAfterARestart: outcomes at t0..t0+2m, a
// quiet spell, one at t0+50m (a new segment), and one at t0+1h30m: with
// max_age 1h the first ones, 88 to 90 minutes old, go, with a restart in
// the quiet spell or not. After a restart, a segment of an earlier run
// ended when the next began (t0+50m), which kept it up to twice max_age.
func TestHistoryDropsOldSegmentsAfterARestart(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopened %v", reopen), func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{now: t0}
			s := open(t, dir, clk, time.Hour, 1<<30)
			for i := range 3 {
				at := t0.Add(time.Duration(i) * time.Minute)
				clk.set(at)
				s.AddWait(outcome(at, i))
			}
			clk.set(t0.Add(50 * time.Minute))
			s.AddWait(outcome(t0.Add(50*time.Minute), 3))
			if reopen {
				s.Close()
				s = open(t, dir, clk, time.Hour, 1<<30)
			}
			now := t0.Add(90 * time.Minute)
			clk.set(now)
			s.AddWait(outcome(now, 4))
			s.Close()
			if got := kept(t, s, now.Add(-3*time.Hour), now); !slices.Equal(got, []int{3, 4}) {
				t.Errorf("kept outcomes %v with max_age 1h at t0+90m, want [3 4]: 0 to 2 are older than max_age", got)
			}
		})
	}
}

// TestHistoryOpensPastAnOlderSegmentItCannotRead: a segment of an
// earlier run whose last lines cannot be read (here a directory named as
// one) does not stop the store from opening, and so the daemon from
// starting: it ends when the next began, as before its end was read, and
// the error is logged.
func TestHistoryOpensPastAnOlderSegmentItCannotRead(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	s := open(t, dir, clk, time.Hour, 1<<30)
	s.AddWait(outcome(t0, 0))
	s.Close()
	older := filepath.Join(dir, fmt.Sprintf("seg-%020d-%020d.jsonl", t0.Add(-time.Minute).UnixNano(), 0))
	if err := os.Mkdir(older, 0o750); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	s, err := Open(Options{Dir: dir, MaxAge: time.Hour, MaxBytes: 1 << 30, Now: clk.Now, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatalf("Open with an unreadable older segment: %v", err)
	}
	s.Close()
	if !strings.Contains(logged.String(), filepath.Base(older)) {
		t.Errorf("log %q does not name the unreadable segment", logged.String())
	}
}

// TestLatestInTail: a segment's end, read at a start from its last lines,
// is the latest time among them (entries carry their events' times, not
// always in order), past a torn last line, and found behind a last line
// longer than what is read first.
func TestLatestInTail(t *testing.T) {
	line := func(e Entry) string {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return string(data) + "\n"
	}
	long := OutcomeOf(rules.Outcome{Time: t0.Add(time.Minute), Cluster: "a", Rule: strings.Repeat("r", 3*tailSize), Kind: rules.Suppressed})
	for _, tc := range []struct {
		name string
		text string
		want time.Time
	}{
		{"in order", line(outcome(t0, 0)) + line(outcome(t0.Add(2*time.Minute), 1)), t0.Add(2 * time.Minute)},
		{"out of order", line(outcome(t0.Add(2*time.Minute), 0)) + line(outcome(t0, 1)), t0.Add(2 * time.Minute)},
		{"torn last line", line(outcome(t0, 0)) + `{"outcome":{"time":"2026-11-24T1`, t0},
		{"a long last line", strings.Repeat(line(outcome(t0, 0)), 2*tailSize/100) + line(long), t0.Add(time.Minute)},
		{"nothing parses", "}\n", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seg.jsonl")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := latestInTail(path, int64(len(tc.text))); err != nil || !got.Equal(tc.want) {
				t.Errorf("latestInTail = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
