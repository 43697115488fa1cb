package rules

import (
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// A resolve knows how long the loss lasted, a leader that comes back
// after a loss too, and a firing held back by a cooldown says so.
func TestOutcomeContext(t *testing.T) {
	e, err := New(Options{Rules: []Rule{
		{Name: "lost", When: `leaderless`, Actions: acts("chat"), OnResolve: acts("chat")},
		{Name: "changed", When: `type == "state.has_leader" && previous_leader_id != ""`, Actions: acts("chat"), Cooldown: time.Minute},
	}, Clusters: []Cluster{{Name: "c1"}}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(at time.Duration, typ, id, prev string, since time.Duration) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id, PreviousLeaderID: prev, Since: t0.Add(since)}
	}
	out := e.Observe(mk(0, event.HasLeader, "a", "", 0), nil)
	out = e.Observe(mk(12*time.Second, event.Leaderless, "", "a", 10*time.Second), out)
	out = e.Observe(mk(13*time.Second, event.HasLeader, "a", "a", 13*time.Second), out)
	out = e.Observe(mk(20*time.Second, event.Leaderless, "", "a", 20*time.Second), out)
	out = e.Observe(mk(25*time.Second, event.HasLeader, "b", "a", 25*time.Second), out)
	out = e.Advance(t0.Add(2*time.Minute), out)
	var got []Outcome
	for _, o := range out {
		if o.Kind != Suppressed && len(o.Actions) > 0 {
			got = append(got, o)
		}
	}
	want := []struct {
		rule, kind, held string
		outage           time.Duration
	}{
		{"lost", Fired, "", 0},
		{"lost", Resolved, "", 3 * time.Second},
		{"changed", Fired, "", 3 * time.Second},
		{"lost", Fired, "", 0},
		{"lost", Resolved, "", 5 * time.Second},
		{"changed", Fired, ReasonCooldown, 5 * time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d outcomes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		o := got[i]
		if o.Rule != w.rule || o.Kind != w.kind || o.HeldBy != w.held || o.LastOutage != w.outage {
			t.Errorf("outcome %d: %s %s held by %q after an outage of %s, want %+v", i, o.Rule, o.Kind, o.HeldBy, o.LastOutage, w)
		}
	}
	if held := got[5]; !held.Time.Equal(t0.Add(73*time.Second)) || !held.State.Since.Equal(t0.Add(25*time.Second)) {
		t.Errorf("the held firing went out at %s for a change at %s", held.Time.Sub(t0), held.State.Since.Sub(t0))
	}
}
