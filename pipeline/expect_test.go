package pipeline

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// A window declared while Run sleeps moves its timer: an outage that
// outlasts the window fires at the window's end, with no event; a reload
// keeps the window.
func TestExpectLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, sink := liveDriver(t, 0, `leaderless_for >= duration("30s") && !expected`)
		in := make(chan event.Event)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go d.Run(ctx, in, clock.Real{})

		in <- report(event.HasLeader, "m1")
		start := time.Now()
		x := rules.Expectation{Until: start.Add(10 * time.Minute), Reason: "upgrade"}
		if err := d.Call(func() { d.Expect("c", x, time.Now()) }); err != nil {
			t.Fatal(err)
		}
		in <- report(event.Leaderless, "")
		time.Sleep(time.Minute)
		engine, err := rules.New(rules.Options{Rules: []rules.Rule{{Name: "r", When: `leaderless_for >= duration("30s") && !expected`, Actions: []string{"a"}}}})
		if err != nil {
			t.Fatal(err)
		}
		d.Call(func() { d.Replace(time.Now(), engine, []ClusterView{{Name: "c"}}) })
		var got rules.Expectation
		var open bool
		d.Call(func() { got, open = d.Expected("c", time.Now()) })
		if !open || got.Reason != "upgrade" || !got.Since.Equal(start) {
			t.Errorf("after a reload the window is %+v (open %v)", got, open)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		select {
		case o := <-sink.outcomes:
			if o.Kind != rules.Fired || !o.Time.Equal(x.Until) || o.Trigger != rules.TriggerTime {
				t.Errorf("outcome %s (%s) at %v, want fired by time at the window's end %v", o.Kind, o.Trigger, o.Time, x.Until)
			}
		default:
			t.Fatal("the rule did not fire at the window's end")
		}
	})
}

func TestExpectUnknownCluster(t *testing.T) {
	d, _ := liveDriver(t, 0, `expected`)
	err := d.Expect("nope", rules.Expectation{Until: time.Now().Add(time.Hour)}, time.Now())
	if !errors.Is(err, ErrUnknownCluster) {
		t.Errorf("Expect on an unknown cluster: %v", err)
	}
}
