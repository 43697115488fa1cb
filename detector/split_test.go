package detector

import (
	"fmt"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// TestViewChangeKind: how the lead moved, from what the old leader says,
// whichever order the members' reports of one change arrive in.
func TestViewChangeKind(t *testing.T) {
	// says is a member's report at ms: it follows leader ("" for none) in term.
	type says struct {
		ms     int
		src    string
		leader string
		term   uint64
	}
	start := []says{{0, "a", "a", 1}, {1, "b", "a", 1}, {2, "c", "a", 1}}
	cases := []struct {
		name    string
		reports []says
		down    string // a member.down of this member at 100 ms
		want    string // "ms leader kind since-ms" of the change
	}{
		{"the old leader steps down first", []says{{100, "a", "", 2}, {101, "b", "b", 2}, {102, "c", "b", 2}}, "", "102 b transfer 102"},
		{"the old leader's word comes last", []says{{100, "b", "b", 2}, {101, "c", "b", 2}, {150, "a", "b", 2}}, "", "150 b transfer 101"},
		{"the old leader steps down in the new term, last", []says{{100, "b", "b", 2}, {101, "c", "b", 2}, {150, "a", "", 2}}, "", "150 b transfer 101"},
		{"the old leader never says: deposed without knowing", []says{{100, "b", "b", 2}, {101, "c", "b", 2}}, "", "2101 b failover 101"},
		{"the old leader steps down, then takes the new term", []says{{100, "a", "", 1}, {101, "b", "b", 2}, {102, "c", "b", 2}, {150, "a", "", 2}}, "", "150 b transfer 102"},
		{"a loss, then a new leader, the old one in its old term", []says{{100, "a", "", 1}, {101, "b", "b", 2}, {102, "c", "b", 2}}, "", "2102 b failover 102"},
		{"the old leader steps down in its old term and stays there", []says{{100, "b", "b", 2}, {101, "c", "b", 2}, {150, "a", "", 1}}, "", "2101 b failover 101"},
		{"the old leader is down", []says{{101, "b", "b", 2}, {102, "c", "b", 2}}, "a", "102 b failover 102"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewView("c1", []string{"a", "b", "c"}, 2*time.Second)
			var out []event.Event
			feed := func(r says) {
				at := t0.Add(time.Duration(r.ms) * time.Millisecond)
				out = v.Advance(at, out)
				ev := event.Event{Source: r.src, Time: at, Type: event.Leaderless, Term: r.term}
				if r.leader != "" {
					ev.Type, ev.LeaderID = event.HasLeader, r.leader
				}
				out = v.Observe(ev, out)
			}
			for _, r := range start {
				feed(r)
			}
			if tc.down != "" {
				at := t0.Add(100 * time.Millisecond)
				out = v.Observe(event.Event{Source: tc.down, Time: at, Type: event.MemberDown}, out)
			}
			for _, r := range tc.reports {
				feed(r)
			}
			for d, ok := v.Deadline(); ok && d.Before(t0.Add(5*time.Second)); d, ok = v.Deadline() {
				out = v.Advance(d, out)
			}
			var got []string
			for _, ev := range out {
				if ev.Type == event.HasLeader && !ev.Baseline {
					got = append(got, fmt.Sprintf("%d %s %s %d", ev.Time.Sub(t0).Milliseconds(), ev.LeaderID, ev.ChangeKind, ev.Since.Sub(t0).Milliseconds()))
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("changes announced %q, want [%s]", got, tc.want)
			}
		})
	}
}

// A new leader held for its old one's word is part of the view's image: a
// view loaded from it announces the change as the original does.
func TestViewImageKeepsAHeldChange(t *testing.T) {
	feed := func(v *View, ms int, src, leader string, term uint64) {
		at := t0.Add(time.Duration(ms) * time.Millisecond)
		ev := event.Event{Source: src, Time: at, Type: event.HasLeader, LeaderID: leader, Term: term}
		v.Observe(ev, nil)
	}
	a := NewView("c", []string{"a", "b", "c"}, 2*time.Second)
	for i, m := range []string{"a", "b", "c"} {
		feed(a, i, m, "a", 1)
	}
	feed(a, 100, "b", "b", 2)
	feed(a, 101, "c", "b", 2) // held: a still claims the lead
	b := NewView("c", []string{"a", "b", "c"}, 2*time.Second)
	b.LoadImage(a.Image())
	announced := func(v *View) []string {
		var out []event.Event
		for d, ok := v.Deadline(); ok && d.Before(t0.Add(10*time.Second)); d, ok = v.Deadline() {
			out = v.Advance(d, out)
		}
		var got []string
		for _, ev := range out {
			got = append(got, fmt.Sprintf("%d %s %s", ev.Time.Sub(t0).Milliseconds(), ev.Type, ev.LeaderID))
		}
		return got
	}
	if ga, gb := announced(a), announced(b); fmt.Sprint(ga) != fmt.Sprint(gb) || len(ga) == 0 {
		t.Errorf("the original announces %q, the one loaded from its image %q", ga, gb)
	}
}

// A split brain due before the held change's wait ends announces the new
// leader first, so that the split names it.
func TestViewSplitBrainAfterTheHeldLeader(t *testing.T) {
	v := NewView("c", []string{"a", "b", "c"}, 2*time.Second)
	v.SetSplitBrainAfter(time.Second)
	var out []event.Event
	for _, r := range []struct {
		ms     int
		src    string
		leader string
		term   uint64
	}{{0, "a", "a", 1}, {1, "b", "a", 1}, {2, "c", "a", 1}, {100, "b", "b", 2}, {150, "c", "b", 2}} {
		at := t0.Add(time.Duration(r.ms) * time.Millisecond)
		out = v.Advance(at, out)
		out = v.Observe(event.Event{Source: r.src, Time: at, Type: event.HasLeader, LeaderID: r.leader, Term: r.term}, out)
	}
	for d, ok := v.Deadline(); ok && d.Before(t0.Add(5*time.Second)); d, ok = v.Deadline() {
		out = v.Advance(d, out)
	}
	var got []string
	for _, ev := range out[1:] { // after the baseline
		got = append(got, fmt.Sprintf("%d %s %s %s", ev.Time.Sub(t0).Milliseconds(), ev.Type, ev.LeaderID, ev.ChangeKind))
	}
	want := []string{"1100 state.has_leader b failover", "1100 state.split_brain b "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("announced %q, want %q", got, want)
	}
}
