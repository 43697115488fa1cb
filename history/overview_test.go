package history

import (
	"reflect"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// at is t0 plus seconds.
func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

func leader(seconds float64, id, previous string) State {
	return State{Time: at(seconds), Cluster: "a", Type: event.HasLeader, LeaderID: id, PreviousLeaderID: previous, Since: at(seconds)}
}

// loss is an outage that began at since and was announced at seconds.
func loss(seconds, since float64) State {
	return State{Time: at(seconds), Cluster: "a", Type: event.Leaderless, Since: at(since)}
}

func TestLaneSpans(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []State
		step   time.Duration
		want   []Span
	}{
		{"one state, still in force", []State{leader(0, "m1", "")}, time.Minute,
			[]Span{{Cluster: "a", Kind: SpanLeader, Start: at(0), LeaderID: "m1"}}},
		{"an outage runs from its true start; the tenure before ends there",
			[]State{leader(0, "m1", ""), loss(600, 598), leader(700, "m2", "m1")}, time.Second,
			[]Span{{Cluster: "a", Kind: SpanLeader, Start: at(0), Stop: at(598), LeaderID: "m1"},
				{Cluster: "a", Kind: SpanOutage, Start: at(598), Stop: at(700), Announced: at(600)},
				{Cluster: "a", Kind: SpanLeader, Start: at(700), LeaderID: "m2", PreviousLeaderID: "m1"}}},
		{"an outage shorter than a step, alone between tenures, stays",
			[]State{leader(0, "m1", ""), loss(3600, 3600), leader(3610, "m2", "m1")}, time.Minute,
			[]Span{{Cluster: "a", Kind: SpanLeader, Start: at(0), Stop: at(3600), LeaderID: "m1"},
				{Cluster: "a", Kind: SpanOutage, Start: at(3600), Stop: at(3610)},
				{Cluster: "a", Kind: SpanLeader, Start: at(3610), LeaderID: "m2", PreviousLeaderID: "m1"}}},
		{"a run of short spans is one busy span; the open one stays",
			[]State{leader(0, "m1", ""), loss(3600, 3600), leader(3610, "m2", "m1"), loss(3620, 3620), leader(3630, "m3", "m2")}, time.Minute,
			[]Span{{Cluster: "a", Kind: SpanLeader, Start: at(0), Stop: at(3600), LeaderID: "m1"},
				{Cluster: "a", Kind: SpanBusy, Start: at(3600), Stop: at(3630), Changes: 3},
				{Cluster: "a", Kind: SpanLeader, Start: at(3630), LeaderID: "m3", PreviousLeaderID: "m2"}}},
		{"a busy span as long as a step takes no more: the next run is another",
			[]State{loss(0, 0), leader(40, "m1", ""), loss(80, 80), leader(90, "m2", ""), loss(95, 95)}, time.Minute,
			[]Span{{Cluster: "a", Kind: SpanBusy, Start: at(0), Stop: at(80), Changes: 2},
				{Cluster: "a", Kind: SpanBusy, Start: at(80), Stop: at(95), Changes: 2},
				{Cluster: "a", Kind: SpanOutage, Start: at(95)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := laneSpans(tc.states, tc.step); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestSpansOfKeepsEachClusterApart(t *testing.T) {
	b := leader(5, "b1", "")
	b.Cluster = "b"
	got := spansOf([]State{leader(0, "m1", ""), b, loss(10, 10)}, time.Second)
	want := []Span{{Cluster: "a", Kind: SpanLeader, Start: at(0), Stop: at(10), LeaderID: "m1"}, {Cluster: "a", Kind: SpanOutage, Start: at(10)},
		{Cluster: "b", Kind: SpanLeader, Start: at(5), LeaderID: "b1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestMarkSet(t *testing.T) {
	outcome := func(seconds float64, cluster, rule, kind string) Outcome {
		return Outcome{Time: at(seconds), Cluster: cluster, Rule: rule, Outcome: kind}
	}
	// t0 is on a minute: steps of a minute begin at t0, t0+60s…
	for _, tc := range []struct {
		name     string
		outcomes []Outcome
		want     []Mark
	}{
		{"one outcome", []Outcome{outcome(1, "a", "lost", rules.Fired)},
			[]Mark{{Cluster: "a", First: at(1), Last: at(1), Outcomes: map[string]int{rules.Fired: 1}, Rules: []string{"lost"}}}},
		{"outcomes within a step are one mark, counted by kind, of each rule",
			[]Outcome{outcome(1, "a", "lost", rules.Fired), outcome(30, "a", "changed", rules.Fired), outcome(45, "a", "lost", rules.Resolved),
				outcome(59, "a", "lost", rules.Fired)},
			[]Mark{{Cluster: "a", First: at(1), Last: at(59), Outcomes: map[string]int{rules.Fired: 3, rules.Resolved: 1}, Rules: []string{"lost", "changed"}}}},
		{"another step or cluster is another mark",
			[]Outcome{outcome(1, "a", "lost", rules.Fired), outcome(61, "a", "lost", rules.Resolved), outcome(3, "b", "lost", rules.Fired)},
			[]Mark{{Cluster: "a", First: at(1), Last: at(1), Outcomes: map[string]int{rules.Fired: 1}, Rules: []string{"lost"}},
				{Cluster: "a", First: at(61), Last: at(61), Outcomes: map[string]int{rules.Resolved: 1}, Rules: []string{"lost"}},
				{Cluster: "b", First: at(3), Last: at(3), Outcomes: map[string]int{rules.Fired: 1}, Rules: []string{"lost"}}}},
		{"out of order, first and last are the earliest and latest",
			[]Outcome{outcome(20, "a", "lost", rules.Suppressed), outcome(10, "a", "lost", rules.Suppressed)},
			[]Mark{{Cluster: "a", First: at(10), Last: at(20), Outcomes: map[string]int{rules.Suppressed: 2}, Rules: []string{"lost"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMarkSet(time.Minute)
			for _, o := range tc.outcomes {
				m.add(o)
			}
			if !reflect.DeepEqual(m.marks, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", m.marks, tc.want)
			}
		})
	}
}

func TestWantedLines(t *testing.T) {
	lines := map[string]string{
		"state":     `{"seq":1,"state":{"time":"2026-11-24T13:00:00Z","cluster":"a","type":"state.has_leader","leader_id":"m1"}}`,
		"other":     `{"seq":2,"state":{"time":"2026-11-24T13:00:00Z","cluster":"ab","type":"state.has_leader","leader_id":"\"cluster\":\"a\""}}`,
		"delivered": `{"seq":3,"delivery":{"id":"d1","cluster":"a","state":"delivered","last_error":"\"state\":\"failed\""}}`,
		"failed":    `{"seq":4,"delivery":{"id":"d2","cluster":"a","state":"failed"}}`,
		"outcome":   `{"seq":5,"outcome":{"time":"2026-11-24T13:00:00Z","cluster":"a","rule":"r","outcome":"fired","delivery_ids":["d1"]}}`,
	}
	for _, tc := range []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"all", Filter{}, []string{"state", "other", "delivered", "failed", "outcome"}},
		{"one cluster, whatever its lines hold", Filter{Cluster: "a"}, []string{"state", "delivered", "failed", "outcome"}},
		{"an overview: not the deliveries that ended well", Filter{Step: time.Minute}, []string{"state", "other", "failed", "outcome"}},
		{"a cluster no line is of", Filter{Cluster: `a"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wanted := wantedLines(tc.filter)
			var got []string
			for _, name := range []string{"state", "other", "delivered", "failed", "outcome"} {
				if wanted([]byte(lines[name])) {
					got = append(got, name)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("wanted %v, want %v", got, tc.want)
			}
		})
	}
}

// A query of one cluster, or an overview, reads the store as the lines
// filtered above.
func TestQueryFilters(t *testing.T) {
	clk := &fakeClock{now: t0}
	s := open(t, t.TempDir(), clk, time.Hour, 1<<20)
	defer s.Close()
	s.AddWait(state(t0, "a", "m1"))
	s.AddWait(state(t0, "ab", "n1"))
	s.AddWait(state(t0.Add(time.Minute), "a", ""))
	s.AddWait(OutcomeOf(rules.Outcome{Time: t0.Add(time.Minute), Cluster: "a", Rule: "lost", Kind: rules.Fired, Actions: []string{"hook"}}))
	for id, kind := range map[string]string{"ok": "delivered", "ko": "failed"} {
		tr := NewTracker()
		s.AddWait(Entry{Delivery: tr.Apply(DeliveryOf(dispatch.Record{Time: t0.Add(time.Minute), Kind: kind, DeliveryID: id, Cluster: "a", Action: "hook"}))})
	}
	s.Close() // on disk
	one, err := s.Query(t0, t0.Add(time.Hour), Filter{Cluster: "ab"})
	if err != nil || len(one.States) != 1 || one.States[0].Cluster != "ab" || len(one.Outcomes)+len(one.Deliveries) != 0 || one.Cluster != "ab" {
		t.Errorf("cluster ab: %v %+v", err, one)
	}
	over, err := s.Query(t0, t0.Add(time.Hour), Filter{Cluster: "a", Step: time.Minute})
	if err != nil || len(over.States)+len(over.Outcomes) != 0 || len(over.Spans) != 2 || len(over.Marks) != 1 || over.StepMS != 60000 {
		t.Errorf("overview of a: %v %+v", err, over)
	}
	if len(over.Deliveries) != 1 || over.Deliveries[0].ID != "ko" {
		t.Errorf("an overview holds the failed deliveries only: %+v", over.Deliveries)
	}
}
