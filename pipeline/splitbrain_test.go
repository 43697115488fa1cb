package pipeline

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// A view's split_brain_after is the default unless the cluster sets one:
// two claimants for less than that are no split brain.
func TestSplitBrainAfterDefault(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after time.Duration
		want  time.Duration // when the split brain is announced, after it began
	}{
		{0, detector.DefaultSplitBrainAfter},
		{time.Second, time.Second},
	} {
		t.Run(fmt.Sprint(tc.after), func(t *testing.T) {
			engine, err := rules.New(rules.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			d := NewDriver(engine, []ClusterView{{Name: "c", Members: []string{"a", "b", "c"}, Stabilize: time.Second, SplitBrainAfter: tc.after}}, "c", rec)
			for _, ev := range []event.Event{
				{Source: "a", Type: event.HasLeader, LeaderID: "a"}, {Source: "b", Type: event.HasLeader, LeaderID: "a"},
				{Source: "c", Type: event.HasLeader, LeaderID: "a"}, {Source: "b", Type: event.HasLeader, LeaderID: "b"},
			} {
				ev.Time = start
				if err := d.Handle(ev); err != nil {
					t.Fatal(err)
				}
			}
			d.AdvanceTo(start.Add(10 * time.Second))
			var at time.Duration
			for _, ev := range rec.states {
				if ev.Type == event.SplitBrain {
					at = ev.Time.Sub(start)
				}
			}
			if at != tc.want {
				t.Errorf("split brain announced %s after it began, want %s", at, tc.want)
			}
		})
	}
}

// A restart during a split brain keeps it: when the members' first reports
// after it say the same, the rule on split_brain neither resolves nor fires
// again (no page that it ended, then one that it began); when the old
// leader gave up the lead meanwhile, it resolves then.
func TestSplitBrainAcrossARestart(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	newDriver := func(rec *recorder) *Driver {
		engine, err := rules.New(rules.Options{Rules: []rules.Rule{{Name: "split", When: "split_brain", Actions: []string{"page"}, OnResolve: []string{"page"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return NewDriver(engine, []ClusterView{{Name: "c", Members: []string{"a", "b", "c"}, Stabilize: time.Second}}, "c", rec)
	}
	report := func(d *Driver, at time.Time, leaders ...string) { // what a, b and c follow
		for i, m := range []string{"a", "b", "c"} {
			term := uint64(1)
			if leaders[i] == "b" {
				term = 2
			}
			if err := d.Handle(event.Event{Source: m, Type: event.HasLeader, LeaderID: leaders[i], Term: term, Time: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		after []string // what a, b and c follow after the restart
		want  []string
	}{
		{"the split goes on", []string{"a", "b", "b"}, nil},
		{"the old leader gave up meanwhile", []string{"b", "b", "b"}, []string{"split resolved at 30s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := &recorder{}
			d := newDriver(before)
			report(d, start, "a", "a", "a")
			report(d, start.Add(5*time.Second), "a", "b", "b")
			d.AdvanceTo(start.Add(20 * time.Second))
			if got := before.fired("split"); len(got) != 1 {
				t.Fatalf("before the restart: %d firings of the split brain rule, want 1", len(got))
			}
			engine, views := d.Snapshot()
			after := &recorder{}
			d = newDriver(after)
			d.Restore(engine, views)
			report(d, start.Add(30*time.Second), tc.after...)
			d.AdvanceTo(start.Add(time.Minute))
			var got []string
			for _, o := range after.outcomes {
				got = append(got, fmt.Sprintf("%s %s at %s", o.Rule, o.Kind, o.Time.Sub(start)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("after the restart: %q, want %q", got, tc.want)
			}
		})
	}
}
