package pipeline

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// logSink keeps Run's inputs and outcomes in the order they happen.
type logSink struct {
	inputs   []any // event.Event or the time.Time of an advance
	outcomes []rules.Outcome
	decided  []int // for each outcome, how many inputs were seen before it
}

func (l *logSink) State(event.Event) {}
func (l *logSink) Outcome(o rules.Outcome) {
	l.outcomes = append(l.outcomes, o)
	l.decided = append(l.decided, len(l.inputs))
}

func newLogDriver(t *testing.T) (*Driver, *logSink) {
	t.Helper()
	engine, err := rules.New(rules.Options{Rules: []rules.Rule{{Name: "r", When: `leaderless_for >= duration("30s")`, Actions: []string{"a"}, OnResolve: []string{"a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &logSink{}
	return NewDriver(engine, []ClusterView{{Name: "c", Stabilize: 2 * time.Second}}, "c", sink), sink
}

// What Run shows OnEvent and OnAdvance, each before it decides on it, is
// all its decisions depend on: a second driver handed the same events and
// the same advances of time decides the same, at the same instants.
func TestRunInputsReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, live := newLogDriver(t)
		d.OnEvent = func(ev event.Event) { live.inputs = append(live.inputs, ev) }
		d.OnAdvance = func(now time.Time) { live.inputs = append(live.inputs, now) }
		in := make(chan event.Event)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- d.Run(ctx, in, clock.Real{}) }()
		in <- report(event.HasLeader, "m1")
		time.Sleep(10 * time.Second)
		in <- report(event.Leaderless, "")
		time.Sleep(time.Hour)
		in <- report(event.HasLeader, "m1")
		time.Sleep(time.Hour)
		cancel()
		<-done

		if len(live.outcomes) != 2 {
			t.Fatalf("outcomes %+v, want a firing and its resolve", live.outcomes)
		}
		for i, o := range live.outcomes {
			if !inputReaches(live.inputs[:live.decided[i]], o.Time) {
				t.Errorf("%s at %v was decided before an input reached its time", o.Kind, o.Time)
			}
		}
		again, replayed := newLogDriver(t)
		for _, input := range live.inputs {
			switch v := input.(type) {
			case event.Event:
				again.Handle(v)
			case time.Time:
				again.AdvanceTo(v)
			}
		}
		same := func(a, b rules.Outcome) bool { return a.Kind == b.Kind && a.Time.Equal(b.Time) }
		if !slices.EqualFunc(live.outcomes, replayed.outcomes, same) {
			t.Errorf("replayed %+v\nlive %+v", replayed.outcomes, live.outcomes)
		}
	})
}

func inputReaches(inputs []any, at time.Time) bool {
	for _, input := range inputs {
		var t time.Time
		switch v := input.(type) {
		case event.Event:
			t = v.Time
		case time.Time:
			t = v
		}
		if !t.Before(at) {
			return true
		}
	}
	return false
}
