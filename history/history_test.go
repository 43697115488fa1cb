package history

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)

func open(t *testing.T, dir string, clk *fakeClock, maxAge time.Duration, maxBytes int64) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, MaxAge: maxAge, MaxBytes: maxBytes, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func state(at time.Time, cluster, leader string) Entry {
	ev := event.Event{Time: at, Cluster: cluster, Type: event.Leaderless, Since: at}
	if leader != "" {
		ev.Type, ev.LeaderID = event.HasLeader, leader
	}
	return StateOf(ev)
}

func TestWindowHoldsTheStateInForceAndWhatFollows(t *testing.T) {
	clk := &fakeClock{now: t0}
	s := open(t, t.TempDir(), clk, time.Hour, 1<<20)
	defer s.Close()
	s.Add(state(t0, "a", "m1"))
	s.Add(state(t0.Add(time.Minute), "a", ""))
	o := rules.Outcome{Time: t0.Add(2 * time.Minute), Cluster: "a", Rule: "lost", Kind: rules.Fired, Actions: []string{"hook"}}
	s.Add(OutcomeOf(o))
	tr := NewTracker()
	tr.Apply(DeliveryOf(dispatch.Record{Time: t0.Add(2 * time.Minute), Kind: "queued", DeliveryID: "d1", Cluster: "a", Action: "hook"}))
	tr.Apply(DeliveryOf(dispatch.Record{Time: t0.Add(3 * time.Minute), Kind: "attempt", DeliveryID: "d1", Attempt: 1, Outcome: "retry", Error: "500"}))
	s.Add(Entry{Delivery: tr.Apply(DeliveryOf(dispatch.Record{Time: t0.Add(4 * time.Minute), Kind: "delivered", DeliveryID: "d1", Attempt: 2, Outcome: "ok"}))})
	s.Add(state(t0.Add(5*time.Minute), "a", "m2"))
	w, err := s.Query(t0.Add(90*time.Second), t0.Add(10*time.Minute), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.States) != 2 || w.States[0].Type != event.Leaderless || w.States[1].LeaderID != "m2" {
		t.Errorf("states: %+v", w.States)
	}
	if len(w.Outcomes) != 1 || len(w.Outcomes[0].DeliveryIDs) != 1 {
		t.Errorf("outcomes: %+v", w.Outcomes)
	}
	if len(w.Deliveries) != 1 || w.Deliveries[0].State != Delivered || w.Deliveries[0].Attempts != 2 || w.Deliveries[0].LastError != "500" {
		t.Errorf("deliveries: %+v", w.Deliveries)
	}
	if w.LastSeq != 5 {
		t.Errorf("last_seq %d, want 5", w.LastSeq)
	}
	inc, ok := s.Since(3)
	if !ok || len(inc.States) != 1 || len(inc.Deliveries) != 1 {
		t.Errorf("since 3: ok %v, %+v", ok, inc)
	}
	if _, ok := s.Since(6); ok {
		t.Error("a sequence number ahead of the store was taken")
	}
}

// A damaged line (torn by a crash, or zeros a power loss left, over the
// length limit) is skipped: the store opens, and the lines around it read.
func TestHistorySurvivesDamagedLines(t *testing.T) {
	zeros := strings.Repeat("\x00", 2*maxLine)
	for _, tc := range []struct {
		name, damage string
	}{
		{"a crash mid-line", `{"seq":2,"state":{"ti`},
		{"zeros at the end", zeros},
		{"a long line between good ones", zeros + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{now: t0}
			s := open(t, dir, clk, time.Hour, 1<<30)
			s.Add(state(t0, "a", "m1"))
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
			f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tc.damage)
			f.Close()
			s, err = Open(Options{Dir: dir, MaxAge: time.Hour, MaxBytes: 1 << 30, Now: clk.Now})
			if err != nil {
				t.Fatalf("Open after %s: %v", tc.name, err)
			}
			defer s.Close()
			s.Add(state(t0.Add(time.Second), "a", ""))
			s.Close()
			w, err := s.Query(t0.Add(-time.Minute), t0.Add(time.Minute), Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(w.States) != 2 || w.LastSeq != 2 {
				t.Errorf("after reopening: last_seq %d, states %+v", w.LastSeq, w.States)
			}
		})
	}
}

// outcome is the entry of a rule outcome named by its number: outcomes
// have no checkpoint copies, so each is on disk once, or not at all.
func outcome(at time.Time, n int) Entry {
	return OutcomeOf(rules.Outcome{Time: at, Cluster: "a", Rule: fmt.Sprintf("r%05d", n), Kind: rules.Suppressed})
}

// kept lists the numbers of the outcomes the history holds, read back
// from every segment on disk.
func kept(t *testing.T, s *Store, from, to time.Time) []int {
	t.Helper()
	w, err := s.Query(from, to, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, o := range w.Outcomes {
		var n int
		fmt.Sscanf(o.Rule, "r%d", &n)
		out = append(out, n)
	}
	return out
}

// TestHistoryDropsWhatIsOlderThanMaxAge writes history on a fake clock,
// steadily, or after a quiet spell longer than the bound (across a
// restart or not): what is older than max_age (7 days by default, or as
// configured) goes, what is newer stays, whatever the size allows.
func TestHistoryDropsWhatIsOlderThanMaxAge(t *testing.T) {
	const week = 7 * 24 * time.Hour // config.DefaultHistoryMaxAge
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		quiet  bool // a quiet spell of max_age between two stretches
		reopen bool // and a restart in it
	}{
		{"7 days by default, steadily", week, false, false},
		{"2h configured, steadily", 2 * time.Hour, false, false},
		{"7 days, after a quiet spell", week, true, false},
		{"7 days, after a quiet spell and a restart", week, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{now: t0}
			s := open(t, dir, clk, tc.maxAge, 1<<30) // the size bound is far
			step := tc.maxAge / 64
			var times []time.Time
			write := func(from, to time.Time) {
				for at := from; at.Before(to); at = at.Add(step) {
					clk.set(at)
					s.AddWait(state(at, "a", fmt.Sprintf("m%d", len(times)%3)))
					s.AddWait(outcome(at, len(times)))
					times = append(times, at)
				}
			}
			if !tc.quiet {
				write(t0, t0.Add(2*tc.maxAge))
			} else {
				write(t0, t0.Add(tc.maxAge/2))
				resumed := times[len(times)-1].Add(tc.maxAge + step)
				if tc.reopen {
					s.Close()
					clk.set(resumed)
					s = open(t, dir, clk, tc.maxAge, 1<<30)
				}
				write(resumed, resumed.Add(tc.maxAge*3/4))
			}
			s.Close()
			end := times[len(times)-1]
			got := kept(t, s, t0.Add(-tc.maxAge), end)
			var want []int // all that is newer than the bound
			for i, at := range times {
				if !at.Before(end.Add(-tc.maxAge)) {
					want = append(want, i)
				}
			}
			if len(got) == 0 || !isSuffix(got, want) {
				t.Errorf("records newer than the max age went: kept %v, want at least %v", got, want)
			}
			// Pruning drops whole segments, each a 16th of the bound,
			// when the next one starts: what is older than the bound and
			// two segments has gone.
			oldest := end.Add(-tc.maxAge - 2*tc.maxAge/segmentsPerBound)
			for _, n := range got {
				if times[n].Before(oldest) {
					t.Fatalf("record %d, %v old, is kept (max age %v): kept %v", n, end.Sub(times[n]), tc.maxAge, got)
				}
			}
			if len(got) == len(times) || got[0] == 0 {
				t.Fatal("nothing was dropped")
			}
			// The oldest segment kept starts with a copy of the state in
			// force, written in a segment dropped.
			w, _ := s.Query(times[got[0]].Add(-step/2), end, Filter{})
			before := times[got[0]-1]
			if len(w.States) == 0 || !w.States[0].Time.Equal(before) || w.States[0].LeaderID != fmt.Sprintf("m%d", (got[0]-1)%3) {
				t.Errorf("the state in force before the history kept is lost: %+v", w.States[:min(len(w.States), 2)])
			}
		})
	}
}

// isSuffix reports whether want is the end of got.
func isSuffix(got, want []int) bool {
	return len(got) >= len(want) && reflect.DeepEqual(got[len(got)-len(want):], want)
}

// TestHistoryDropsTheOldestFirstBeyondMaxBytes writes far more than the
// size bound allows within the age bound: the directory stays under the
// bound, and what it keeps is the newest part, without gaps.
func TestHistoryDropsTheOldestFirstBeyondMaxBytes(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	const maxBytes = 64 << 10
	s := open(t, dir, clk, 7*24*time.Hour, maxBytes)
	const n = 5000 // about 1 MB: 16 times the bound
	at := t0
	for i := range n {
		at = t0.Add(time.Duration(i) * time.Second)
		clk.set(at)
		s.AddWait(outcome(at, i))
	}
	s.Close()
	if size := dirSize(t, dir); size > maxBytes {
		t.Errorf("history holds %d bytes, bound %d", size, maxBytes)
	}
	got := kept(t, s, t0.Add(-time.Hour), at)
	if len(got) == 0 || got[len(got)-1] != n-1 {
		t.Fatalf("the newest record is not kept: kept %d records, last %v", len(got), got[max(len(got)-1, 0):])
	}
	for i, v := range got {
		if v != got[0]+i {
			t.Fatalf("history kept records %d then %d: not the newest without gaps", got[i-1], v)
		}
	}
	if got[0] == 0 {
		t.Fatal("the oldest record is kept: nothing was dropped")
	}
	// At least all but one segment's share of the bound is kept.
	if kept := dirSize(t, dir); kept < maxBytes*(segmentsPerBound-2)/segmentsPerBound {
		t.Errorf("history keeps %d bytes of %d allowed", kept, maxBytes)
	}
	w, _ := s.Query(t0, at, Filter{})
	if !w.KeptFrom.After(t0) {
		t.Errorf("kept_from %v: the oldest segment was not dropped", w.KeptFrom)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		info, _ := e.Info()
		n += info.Size()
	}
	return n
}

func TestTrackerKeepsDeliveriesUnderWay(t *testing.T) {
	tr := NewTracker()
	tr.Apply(&Delivery{ID: "d1", Kind: "queued", Time: t0})
	tr.Apply(&Delivery{ID: "d1", Kind: "attempt", Attempt: 1, Outcome: "retry", Error: "boom", Time: t0})
	tr.Retry("d1", t0.Add(time.Second))
	tr.Apply(&Delivery{ID: "d2", Kind: "queued", Time: t0})
	tr.Apply(&Delivery{ID: "d2", Kind: "delivered", Attempt: 1, Time: t0})
	got := tr.Unfinished()
	if len(got) != 1 || got[0].State != Retrying || got[0].LastError != "boom" || !got[0].NextAttempt.Equal(t0.Add(time.Second)) {
		t.Errorf("unfinished: %+v", got)
	}
}

// Each way a delivery ends takes it out of the deliveries under way and
// hands its summary to the history: a fenced one too (dropped while it
// waited, cancelled during an attempt).
func TestTrackerEndsDeliveries(t *testing.T) {
	for _, tc := range []struct {
		kind, state string
	}{
		{"delivered", Delivered},
		{"failed", Failed},
		{"dropped", Dropped},
		{"cancelled", Cancelled},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			tr := NewTracker()
			tr.Apply(&Delivery{ID: "d1", Kind: "queued", Time: t0})
			tr.Apply(&Delivery{ID: "d1", Kind: "attempt", Attempt: 1, Outcome: "retry", Time: t0})
			tr.Retry("d1", t0.Add(time.Second))
			ended := tr.Apply(&Delivery{ID: "d1", Kind: tc.kind, Attempt: 1, Time: t0.Add(time.Second)})
			if ended == nil || ended.State != tc.state || !ended.NextAttempt.IsZero() {
				t.Errorf("%s: ended %+v, want a summary in state %s", tc.kind, ended, tc.state)
			}
			if got := tr.Unfinished(); len(got) != 0 {
				t.Errorf("%s: still under way: %+v", tc.kind, got)
			}
		})
	}
}

// WriteJSON writes what json.Marshal writes, every list included.
func TestWriteJSONIsMarshal(t *testing.T) {
	w := Window{Time: t0, Boot: "b", LastSeq: 3, States: []State{{Time: t0, Cluster: "a", Type: event.HasLeader}},
		Splits:   []Split{{Time: t0, Cluster: "a", Type: event.SplitBrain, Leaders: []string{"m1", "m2"}, Since: t0}},
		Outcomes: []Outcome{{Time: t0, Rule: "r", Actions: []string{}, DeliveryIDs: []string{}}}}
	var b strings.Builder
	if err := w.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	data, _ := json.Marshal(w)
	json.Unmarshal(data, &want)
	want["deliveries"], want["unfinished"], want["spans"], want["marks"] = []any{}, []any{}, []any{}, []any{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WriteJSON wrote\n%s\njson.Marshal\n%s", b.String(), data)
	}
}

// A window over many segments, decoded a few at a time, holds their
// entries in order.
func TestQueryKeepsTheOrderOfSegments(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	s := open(t, dir, clk, time.Hour, 16<<10)
	for i := range 2000 {
		at := t0.Add(time.Duration(i) * time.Second)
		clk.set(at)
		s.AddWait(state(at, "a", fmt.Sprintf("m%d", i)))
	}
	s.Close()
	if segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl")); len(segs) < 8 {
		t.Fatalf("only %d segments", len(segs))
	}
	w, err := s.Query(t0.Add(-time.Minute), t0.Add(time.Hour), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(w.States); i++ {
		if !w.States[i].Time.After(w.States[i-1].Time) {
			t.Fatalf("state %d at %v follows one at %v", i, w.States[i].Time, w.States[i-1].Time)
		}
	}
	if last := w.States[len(w.States)-1]; last.LeaderID != "m1999" {
		t.Errorf("the last state is %+v", last)
	}
}

// TestWindowAndWhatFollowsHoldEachEntryOnce: an entry written while a
// window is read (after the window took its last_seq, before it read the
// disk) is what follows the window, as the page asks for it with
// ?after=last_seq; it is not in the window too, or the page would hold
// it twice.
func TestWindowAndWhatFollowsHoldEachEntryOnce(t *testing.T) {
	var s *Store
	var during func()
	now := func() time.Time {
		if f := during; f != nil {
			during = nil
			f()
		}
		return t0
	}
	s, err := Open(Options{Dir: t.TempDir(), MaxAge: time.Hour, MaxBytes: 1 << 20, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Add(outcome(t0, 1))
	s.Add(outcome(t0.Add(time.Second), 2))
	during = func() {
		s.Add(outcome(t0.Add(2*time.Second), 3))
		s.Close() // writes it to the disk the window then reads
	}
	w, err := s.Query(t0.Add(-time.Minute), t0.Add(time.Minute), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	next, ok := s.Since(w.LastSeq)
	if !ok {
		t.Fatalf("since %d: reset", w.LastSeq)
	}
	if n := len(w.Outcomes) + len(next.Outcomes); n != 3 {
		t.Errorf("the window (last_seq %d) and what follows hold %d outcomes, want 3: %+v then %+v", w.LastSeq, n, w.Outcomes, next.Outcomes)
	}
}

// TestHistoryDropsWhatIsOlderThanMaxAgeWhileQuiet: a daemon that writes
// nothing more, running or restarted, still lets go of what grows older
// than max_age; the state in force stays known.
func TestHistoryDropsWhatIsOlderThanMaxAgeWhileQuiet(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopened %v", reopen), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const maxAge = time.Hour
				dir := t.TempDir()
				s, err := Open(Options{Dir: dir, MaxAge: maxAge, MaxBytes: 1 << 30}) // on the bubble's clock
				if err != nil {
					t.Fatal(err)
				}
				for i := range 48 { // three quarters of the bound, over several segments
					s.Add(state(time.Now(), "a", fmt.Sprintf("m%d", i%3)))
					s.Add(outcome(time.Now(), i))
					time.Sleep(maxAge / 64)
				}
				if reopen {
					s.Close()
					time.Sleep(2 * maxAge)
					if s, err = Open(Options{Dir: dir, MaxAge: maxAge, MaxBytes: 1 << 30}); err != nil {
						t.Fatal(err)
					}
				} else {
					time.Sleep(2 * maxAge)
					synctest.Wait()
				}
				defer s.Close()
				now := time.Now()
				if got := kept(t, s, now.Add(-4*maxAge), now); len(got) != 0 {
					t.Errorf("after a quiet spell of twice max_age, outcomes %v are still kept", got)
				}
				w, err := s.Query(now.Add(-time.Minute), now, Filter{})
				if err != nil || len(w.States) != 1 || w.States[0].LeaderID != "m2" {
					t.Errorf("the state in force: %+v, %v; want a's leader m2", w.States, err)
				}
			})
		})
	}
}

// A split brain and its end are announced by the detector as events, but
// they are no change of leader: kept as states, the page would draw each
// as an outage, and the end of a split as an outage still open while the
// cluster has its leader. The history keeps leadership states only, and
// reads past those an earlier version wrote.
func TestHistoryKeepsOnlyLeadershipStates(t *testing.T) {
	split := func(at time.Time, typ string) Entry {
		return StateOf(event.Event{Time: at, Cluster: "a", Type: typ, LeaderID: "m1", Since: at.Add(-3 * time.Second)})
	}
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	s := open(t, dir, clk, time.Hour, 1<<30)
	s.Add(state(t0, "a", "m1"))
	s.Add(split(t0.Add(time.Minute), event.SplitBrain))
	s.Close()
	// What an earlier version wrote: the end of the split, on disk.
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(split(t0.Add(2*time.Minute), event.SplitBrainResolved))
	f.Write(append(line, '\n'))
	f.Close()
	s = open(t, dir, clk, time.Hour, 1<<30)
	defer s.Close()
	s.Add(state(t0.Add(150*time.Second), "b", "n1"))
	before, _ := s.Since(0)
	s.Add(split(t0.Add(3*time.Minute), event.SplitBrain))
	for _, q := range []struct {
		name     string
		from     time.Time
		step     time.Duration
		wantSpan []Span
	}{
		{"the window", t0.Add(-time.Minute), 0, []Span{}},
		{"a window after the leader's election", t0.Add(30 * time.Second), 0, []Span{}},
		{"an overview", t0.Add(-time.Minute), time.Second, []Span{{Cluster: "a", Kind: SpanLeader, Start: t0, LeaderID: "m1"},
			{Cluster: "b", Kind: SpanLeader, Start: t0.Add(150 * time.Second), LeaderID: "n1"}}},
	} {
		w, err := s.Query(q.from, t0.Add(10*time.Minute), Filter{Step: q.step})
		if err != nil {
			t.Fatal(err)
		}
		if q.step == 0 && (len(w.States) != 2 || w.States[0].LeaderID != "m1" || w.States[1].LeaderID != "n1") {
			t.Errorf("%s: states %+v, want the leaders' elections only", q.name, w.States)
		}
		if !reflect.DeepEqual(w.Spans, q.wantSpan) {
			t.Errorf("%s: spans %+v, want %+v", q.name, w.Spans, q.wantSpan)
		}
	}
	if w, ok := s.Since(before.LastSeq); !ok || len(w.States) != 0 {
		t.Errorf("since %d: ok %v, states %+v, want none", before.LastSeq, ok, w.States)
	}
}

func split(at time.Time, cluster string, leaders ...string) Entry {
	ev := event.Event{Time: at, Cluster: cluster, Type: event.SplitBrainResolved, LeaderID: "m1"}
	if len(leaders) > 0 {
		ev.Type, ev.Since = event.SplitBrain, at.Add(-time.Second)
		for _, id := range leaders {
			ev.Leaders = append(ev.Leaders, event.Claim{ID: id, Term: 3})
		}
	}
	return StateOf(ev)
}

// A split brain is kept apart from the states: its start (who claims
// the lead, from its true start) and its end are in the window, in an
// overview, and in what follows a sequence number; a window that begins
// while it lasts holds its start, also once the segment that held it has
// been dropped, and after a restart.
func TestHistoryKeepsSplitBrains(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	s := open(t, dir, clk, time.Hour, 1<<30)
	s.Add(state(t0, "a", "m1"))
	s.Add(state(t0, "b", "n1"))
	before, _ := s.Since(0)
	s.Add(split(t0.Add(time.Minute), "a", "m1", "m3"))
	start := Split{Time: t0.Add(time.Minute), Cluster: "a", Type: event.SplitBrain, Leaders: []string{"m1", "m3"}, Since: t0.Add(59 * time.Second)}
	if w, ok := s.Since(before.LastSeq); !ok || !reflect.DeepEqual(w.Splits, []Split{start}) || len(w.States) != 0 {
		t.Errorf("since %d: splits %+v, states %+v, want the start only", before.LastSeq, w.Splits, w.States)
	}
	s.Close()
	s = open(t, dir, clk, time.Hour, 1<<30)
	// An hour and more of changes elsewhere: the segment of the start goes.
	for i := range 80 {
		at := t0.Add(2*time.Minute + time.Duration(i)*time.Minute)
		clk.set(at)
		s.Add(state(at, "b", fmt.Sprintf("n%d", i%3)))
	}
	end := t0.Add(83 * time.Minute)
	clk.set(end)
	s.Add(split(end, "a"))
	resolved := Split{Time: end, Cluster: "a", Type: event.SplitBrainResolved}
	s.Close()
	s = open(t, dir, clk, time.Hour, 1<<30)
	defer s.Close()
	if w, _ := s.Query(t0, end, Filter{}); !w.KeptFrom.After(t0.Add(time.Minute)) {
		t.Fatalf("the segment of the start is still kept (from %v)", w.KeptFrom)
	}
	for _, q := range []struct {
		name string
		from time.Time
		f    Filter
		want []Split
	}{
		{"a window while it lasts", end.Add(-10 * time.Minute), Filter{}, []Split{start, resolved}},
		{"an overview", end.Add(-10 * time.Minute), Filter{Step: time.Second}, []Split{start, resolved}},
		{"the cluster's window", end.Add(-10 * time.Minute), Filter{Cluster: "a"}, []Split{start, resolved}},
		{"another cluster's window", end.Add(-10 * time.Minute), Filter{Cluster: "b"}, []Split{}},
		{"a window after its end", end.Add(time.Second), Filter{}, []Split{}},
	} {
		w, err := s.Query(q.from, end.Add(time.Minute), q.f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(w.Splits, q.want) {
			t.Errorf("%s: splits %+v, want %+v", q.name, w.Splits, q.want)
		}
		if q.f.Step == 0 && q.f.Cluster != "b" && (len(w.States) == 0 || w.States[0].Cluster != "a" || w.States[0].LeaderID != "m1") {
			t.Errorf("%s: states %+v, want a's leader m1 first", q.name, w.States)
		}
	}
}

// Entries are dated by their events (member clocks, within
// max_clock_skew): one may be a little older than the one before. A
// segment started for it still sorts after the one before, so that after
// a restart the state in force is taken from the newest.
func TestHistorySegmentStartedByAnOlderEntryStaysNewest(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	const maxBytes = 16 * 100 // a segment holds about one line
	s := open(t, dir, clk, 7*24*time.Hour, maxBytes)
	s.AddWait(outcome(t0, 0))
	s.AddWait(state(t0.Add(2*time.Second), "a", "m1")) // a member clock 1s ahead
	s.AddWait(state(t0.Add(1*time.Second), "a", "m2")) // the next change, dated by an on-time member
	s.Close()
	clk.set(t0.Add(time.Minute))
	s = open(t, dir, clk, 7*24*time.Hour, maxBytes)
	s.AddWait(outcome(t0.Add(time.Minute), 1))
	s.AddWait(outcome(t0.Add(time.Minute+time.Second), 2))
	s.Close()
	w, err := s.Query(t0.Add(30*time.Second), t0.Add(2*time.Minute), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.States) != 1 || w.States[0].LeaderID != "m2" {
		t.Errorf("state in force after the restart: %+v, want leader m2 (the latest change)", w.States)
	}
}
