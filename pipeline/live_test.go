package pipeline

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

type chanSink struct {
	outcomes chan rules.Outcome
}

func (c *chanSink) State(event.Event)       {}
func (c *chanSink) Outcome(o rules.Outcome) { c.outcomes <- o }

func liveDriver(t *testing.T, stabilize time.Duration, when string) (*Driver, *chanSink) {
	t.Helper()
	engine, err := rules.New(rules.Options{Rules: []rules.Rule{{Name: "r", When: when, Actions: []string{"a"}}}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &chanSink{outcomes: make(chan rules.Outcome, 16)}
	return NewDriver(engine, []ClusterView{{Name: "c", Stabilize: stabilize}}, "c", sink), sink
}

func report(typ, leader string) event.Event {
	return event.Event{Source: "m1", Time: time.Now(), Type: typ, LeaderID: leader}
}

// On a virtual clock (synctest), a threshold fires at exactly its instant,
// with no event after the loss, and an idle pipeline sleeps.
func TestRunFiresOnTimeAndSleepsWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, sink := liveDriver(t, 2*time.Second, `leaderless_for >= duration("30s")`)
		in := make(chan event.Event)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- d.Run(ctx, in, clock.Real{}) }()

		in <- report(event.HasLeader, "m1")
		time.Sleep(10 * time.Second)
		lostAt := time.Now()
		in <- report(event.Leaderless, "")
		time.Sleep(time.Hour)
		synctest.Wait()

		select {
		case o := <-sink.outcomes:
			if o.Kind != rules.Fired || !o.Time.Equal(lostAt.Add(30*time.Second)) {
				t.Errorf("outcome %s at %v, want fired at loss+30s = %v", o.Kind, o.Time, lostAt.Add(30*time.Second))
			}
		default:
			t.Fatal("the rule did not fire")
		}
		// Two events, the baseline/stabilize deadlines and the threshold:
		// a handful of turns in an hour, not a polling loop.
		if d.wakeups > 10 {
			t.Errorf("Run turned %d times in an idle hour", d.wakeups)
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v", err)
		}
	})
}

// On the real clock too, a threshold fires on its own, at its instant.
func TestRunRealClock(t *testing.T) {
	d, sink := liveDriver(t, 0, `leaderless_for >= duration("300ms")`)
	in := make(chan event.Event)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx, in, clock.Real{})
	in <- report(event.HasLeader, "m1")
	in <- report(event.Leaderless, "")
	select {
	case o := <-sink.outcomes:
		if want := o.State.Since.Add(300 * time.Millisecond); o.Kind != rules.Fired || o.Trigger != rules.TriggerTime || !o.Time.Equal(want) {
			t.Errorf("outcome %s (%s) at %v, want fired by time at %v", o.Kind, o.Trigger, o.Time, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the rule did not fire")
	}
}
