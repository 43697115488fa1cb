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

func TestHistorySurvivesReopeningAndATornLine(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	s := open(t, dir, clk, time.Hour, 1<<20)
	s.Add(state(t0, "a", "m1"))
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.jsonl"))
	f, _ := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":2,"state":{"ti`) // a crash mid-line
	f.Close()
	s = open(t, dir, clk, time.Hour, 1<<20)
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
}

func TestHistoryIsBoundedByAgeAndSize(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	const maxBytes = 64 << 10
	s := open(t, dir, clk, time.Hour, maxBytes)
	at := t0
	for i := range 20000 {
		at = t0.Add(time.Duration(i) * time.Second)
		clk.set(at)
		s.AddWait(state(at, "a", "m1"))
	}
	s.Close()
	if size := dirSize(t, dir); size > maxBytes {
		t.Errorf("history holds %d bytes, bound %d", size, maxBytes)
	}
	w, _ := s.Query(t0, at, Filter{})
	if w.KeptFrom.Before(at.Add(-time.Hour)) {
		t.Errorf("history kept from %v, over an hour before %v", w.KeptFrom, at)
	}
	// The oldest segment kept starts with the state in force.
	if len(w.States) == 0 || w.States[0].LeaderID != "m1" {
		t.Errorf("no checkpoint at the start of the window: %+v", w.States[:min(len(w.States), 2)])
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

// WriteJSON writes what json.Marshal writes, every list included.
func TestWriteJSONIsMarshal(t *testing.T) {
	w := Window{Time: t0, Boot: "b", LastSeq: 3, States: []State{{Time: t0, Cluster: "a", Type: event.HasLeader}},
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
