package pipeline

import (
	"fmt"
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
