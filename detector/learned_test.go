package detector

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// A sender names its sources freely: a learned membership stops growing
// at MaxLearnedMembers, and says so once.
func TestViewLearnedMembershipIsBounded(t *testing.T) {
	cases := []struct {
		name     string
		members  []string // configured
		sources  int
		want     int
		warnings int
	}{
		{name: "a few sources are all members", sources: 5, want: 5},
		{name: "up to the bound, every source is a member", sources: MaxLearnedMembers, want: MaxLearnedMembers},
		{name: "past the bound, new sources are not members", sources: MaxLearnedMembers + 50, want: MaxLearnedMembers, warnings: 1},
		{name: "a configured membership warns of nothing", members: []string{"s0", "s1", "s2"}, sources: MaxLearnedMembers + 50, want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			v := NewView("c", tc.members, 2*time.Second)
			v.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			for i := range tc.sources {
				v.Observe(report{i, fmt.Sprintf("s%d", i), has, "s0", 0}.event(), nil)
			}
			if got := len(v.Members()); got != tc.want {
				t.Errorf("%d members, want %d", got, tc.want)
			}
			if got := len(v.State().Reports); got != tc.want {
				t.Errorf("%d reports kept, want %d", got, tc.want)
			}
			if got := strings.Count(logs.String(), "level=WARN"); got != tc.warnings {
				t.Errorf("%d warnings, want %d:\n%s", got, tc.warnings, logs.String())
			}
			if first := fmt.Sprintf("source=s%d", MaxLearnedMembers); tc.warnings > 0 && !strings.Contains(logs.String(), first) {
				t.Errorf("the warning does not name the first source ignored (%s):\n%s", first, logs.String())
			}
		})
	}
}

// A learned member that no other member names and that fell silent while
// the others follow a leader is forgotten: a stray sender does not count
// in the quorum for ever.
func TestViewForgetsASilentStray(t *testing.T) {
	three := []report{{0, "a", has, "a", 0}, {1, "b", has, "a", 0}, {2, "c", has, "a", 0}}
	after := int(strayAfter / time.Millisecond)
	failover := []report{
		{after + 10000, "b", disc, "a", 0}, {after + 10001, "c", disc, "a", 0},
		{after + 10500, "c", has, "c", 0}, {after + 10501, "b", has, "c", 0},
	}
	cases := []struct {
		name    string
		reports []report
		until   int
		members []string
		want    []string
	}{
		{
			name:    "a test sender's one event, silent since",
			reports: append(slices.Clone(three), report{100, "test", none, "", 0}),
			until:   after + 200, members: []string{"a", "b", "c"},
			want: []string{"0 state.has_leader a 0 base"},
		},
		{
			name:    "forgotten, it does not turn the next failover into a loss",
			reports: slices.Concat(three, []report{{100, "typo", none, "", 0}}, failover),
			until:   after + 20000, members: []string{"a", "b", "c"},
			want: []string{"0 state.has_leader a 0 base", fmt.Sprintf("%d state.has_leader c a %d", after+10501, after+10501)},
		},
		{
			name:    "a stray claiming the lead is forgotten, and its split brain ends",
			reports: append(slices.Clone(three), report{100, "test", gain, "", 0}),
			until:   after + 200, members: []string{"a", "b", "c"},
			want: []string{"0 state.has_leader a 0 base", "3100 state.split_brain a 100",
				fmt.Sprintf("%d state.split_brain_resolved a %d", after+100, time.Time{}.Sub(t0).Milliseconds())},
		},
		{
			name:    "before it has been silent that long, it counts",
			reports: append(slices.Clone(three), report{100, "test", none, "", 0}),
			until:   after + 99, members: []string{"a", "b", "c", "test"},
			want: []string{"0 state.has_leader a 0 base"},
		},
		{
			name:    "a silent follower of the leader is kept",
			reports: three,
			until:   3 * after, members: []string{"a", "b", "c"},
			want: []string{"0 state.has_leader a 0 base"},
		},
		{
			name:    "a member another names is kept, silent or not",
			reports: append(slices.Clone(three), report{100, "d", none, "", 0}, report{200, "a", conn, "d", 0}),
			until:   3 * after, members: []string{"a", "b", "c", "d"},
			want: []string{"0 state.has_leader a 0 base"},
		},
		{
			name:    "nothing is forgotten while no leader has a majority",
			reports: []report{{0, "a", none, "", 0}, {1, "b", none, "", 0}, {2, "c", none, "", 0}},
			until:   3 * after, members: []string{"a", "b", "c"},
			want: []string{"2000 state.is_leaderless 0 base"},
		},
		{
			name:    "a stray that reports again is learned again",
			reports: append(slices.Clone(three), report{100, "test", none, "", 0}, report{after + 500, "test", none, "", 0}),
			until:   after + 600, members: []string{"a", "b", "c", "test"},
			want: []string{"0 state.has_leader a 0 base"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewView("c", nil, 2*time.Second)
			got := run(v, tc.reports, tc.until)
			if !slices.Equal(got, tc.want) {
				t.Errorf("announced\n got: %q\nwant: %q", got, tc.want)
			}
			if !slices.Equal(v.Members(), tc.members) {
				t.Errorf("members %q, want %q", v.Members(), tc.members)
			}
			if h := v.Health(); h.MembersTotal != len(tc.members) {
				t.Errorf("members_total %d, want %d", h.MembersTotal, len(tc.members))
			}
		})
	}
}

// Whether another member named a member survives a restart and a handover.
func TestViewKeepsNamedAcrossRestoreAndImage(t *testing.T) {
	// a, b and c follow a; named and stray follow nobody, silent.
	reports := map[string]MemberReport{"a": {Follows: "a", Last: t0}, "b": {Follows: "a", Last: t0}, "c": {Follows: "a", Last: t0},
		"named": {Last: t0, Named: true}, "stray": {Last: t0}}
	cases := []struct {
		name string
		load func(v *View)
	}{
		{"restored", func(v *View) {
			v.Restore(State{Known: true, LeaderID: "a", Since: t0, Members: []string{"a", "b", "c", "named", "stray"}, Reports: reports})
		}},
		{"loaded from an image", func(v *View) {
			w := NewView("c", nil, 2*time.Second)
			w.Restore(State{Known: true, LeaderID: "a", Since: t0, Members: []string{"a", "b", "c", "named", "stray"}, Reports: reports})
			v.LoadImage(w.Image())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewView("c", nil, 2*time.Second)
			tc.load(v)
			run(v, []report{{1, "a", has, "a", 0}}, int(2*strayAfter/time.Millisecond))
			if want := []string{"a", "b", "c", "named"}; !slices.Equal(v.Members(), want) {
				t.Errorf("members %q, want %q", v.Members(), want)
			}
		})
	}
}
