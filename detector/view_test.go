package detector

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

var t0 = time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)

// report is a member's event at a millisecond offset from t0.
type report struct {
	ms    int
	src   string
	typ   string
	arg   string // leaderId, or comma-separated peers
	index uint64
}

func (r report) event() event.Event {
	ev := event.Event{Source: r.src, Time: t0.Add(time.Duration(r.ms) * time.Millisecond), Type: r.typ, Index: r.index}
	switch r.typ {
	case event.HasLeader:
		ev.LeaderID = r.arg
	case event.PeerConnected, event.PeerDisconnected, event.MembersChanged:
		ev.Peers = strings.Split(r.arg, ",")
	}
	return ev
}

// run feeds the reports, lets time run to untilMS, and returns the
// announcements as "ms type leader prev since-ms [base]".
func run(v *View, reports []report, untilMS int) []string {
	var out []event.Event
	step := func(t time.Time) {
		for {
			d, ok := v.Deadline()
			if !ok || d.After(t) {
				return
			}
			out = v.Advance(d, out)
		}
	}
	for _, r := range reports {
		ev := r.event()
		step(ev.Time)
		out = v.Observe(ev, out)
	}
	step(t0.Add(time.Duration(untilMS) * time.Millisecond))
	var got []string
	for _, ev := range out {
		s := fmt.Sprintf("%d %s %s %s %d", ev.Time.Sub(t0).Milliseconds(), ev.Type, ev.LeaderID, ev.PreviousLeaderID, ev.Since.Sub(t0).Milliseconds())
		if ev.Baseline {
			s += " base"
		}
		got = append(got, strings.Join(strings.Fields(s), " "))
	}
	return got
}

const (
	has     = event.HasLeader
	none    = event.Leaderless
	gain    = event.LeadershipGained
	conn    = event.PeerConnected
	disc    = event.PeerDisconnected
	mem     = event.MembersChanged
	down    = event.MemberDown
	unknown = event.MemberUnknown
)

func TestView(t *testing.T) {
	three := []report{
		{0, "a", has, "a", 0}, {1, "b", has, "a", 0}, {2, "c", has, "a", 0},
	}
	cases := []struct {
		name    string
		members []string
		reports []report
		until   int
		want    []string
	}{
		{
			// Membership is learned: the first report is a majority of one.
			name:    "a majority following a leader is the baseline at once",
			reports: three,
			until:   5000,
			want:    []string{"0 state.has_leader a 0 base"},
		},
		{
			name:    "with no majority the baseline waits for the stabilize period",
			reports: []report{{0, "a", none, "", 0}, {500, "b", none, "", 0}},
			until:   5000,
			want:    []string{"2000 state.is_leaderless 0 base"},
		},
		{
			name: "a killed leader: dated from the first disconnect, announced after stabilize",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10001, "c", disc, "a", 0},
				report{14000, "b", none, "", 0}, report{16000, "c", has, "c", 0}, report{16001, "b", has, "c", 0}),
			until: 20000,
			want: []string{"0 state.has_leader a 0 base",
				"12000 state.is_leaderless a 10000", "16001 state.has_leader c a 16001"},
		},
		{
			name: "a failover within the stabilize period is one change from A to B",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10500, "b", has, "b", 0}, report{10600, "c", has, "b", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "10600 state.has_leader b a 10600"},
		},
		{
			name: "a restarting follower's leaderless report is not a loss",
			reports: append(slices.Clone(three),
				report{10000, "c", none, "", 0}, report{10100, "c", has, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			name: "a short blip with the same leader is invisible",
			reports: append(slices.Clone(three),
				report{10000, "b", none, "", 0}, report{10001, "c", none, "", 0}, report{11000, "b", has, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			name: "quorum lost: the leader still calls itself leader, but nobody follows",
			reports: append(slices.Clone(three),
				report{10000, "a", disc, "b", 0}, report{10001, "a", disc, "c", 0},
				report{13000, "a", none, "", 0}, report{90000, "b", none, "", 0},
				report{95000, "a", gain, "", 0}, report{95001, "a", has, "a", 0}, report{95002, "b", has, "a", 0}),
			until: 100000,
			// Two of three presumed down: no majority can be up, so no
			// election can be in progress: the loss is announced at once.
			want: []string{"0 state.has_leader a 0 base",
				"10001 state.is_leaderless a 10001", "95002 state.has_leader a a 95002"},
		},
		{
			name: "the leader's process gone: an election may be in progress, so stabilize applies",
			reports: append(slices.Clone(three),
				report{10000, "a", down, "", 0}, report{11000, "b", has, "b", 0}, report{11001, "c", has, "b", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "11001 state.has_leader b a 11001"},
		},
		{
			name: "two processes gone: the loss at once, dated from the second",
			reports: append(slices.Clone(three),
				report{10000, "c", down, "", 0}, report{10003, "a", down, "", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "10003 state.is_leaderless a 10003"},
		},
		{
			name: "no member answers: leaderhook is cut off, and announces nothing",
			reports: append(slices.Clone(three),
				report{10000, "a", unknown, "", 0}, report{10001, "b", unknown, "", 0}, report{10002, "c", unknown, "", 0},
				report{30000, "a", has, "a", 0}, report{30001, "b", has, "a", 0}),
			until: 40000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			name: "one member answers, and says the others' leader is gone: leaderhook is cut off from them",
			reports: append(slices.Clone(three),
				report{10000, "a", unknown, "", 0}, report{10001, "b", unknown, "", 0}, report{10002, "c", none, "", 0}),
			until: 40000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			name: "members not answering whose last word named no leader: the loss stands",
			reports: append(slices.Clone(three),
				report{10000, "b", none, "", 0}, report{10001, "c", none, "", 0},
				report{10002, "b", unknown, "", 0}, report{10003, "c", unknown, "", 0}),
			until: 40000,
			want:  []string{"0 state.has_leader a 0 base", "10003 state.is_leaderless a 10001"},
		},
		{
			name:    "a fixed membership ignores strangers and sets the quorum",
			members: []string{"a", "b", "c", "d", "e"},
			reports: append(slices.Clone(three), report{3, "x", has, "x", 0}, report{4, "y", has, "x", 0}, report{5, "d", has, "a", 0}),
			until:   5000,
			want:    []string{"2 state.has_leader a 2 base"},
		},
		{
			// An older list (index 2) arriving late does not undo a newer one.
			name:    "members.changed sets the membership to the newest list",
			reports: []report{{0, "a", mem, "a", 1}, {1, "a", has, "a", 0}, {2, "a", mem, "a,b,c", 5}, {3, "a", mem, "a", 2}},
			until:   5000,
			want:    []string{"1 state.has_leader a 1 base", "2002 state.is_leaderless a 2"},
		},
		{
			name: "a reconnected peer is alive but its stale view is gone until it reports",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10001, "c", disc, "a", 0}, report{11000, "b", conn, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "12000 state.is_leaderless a 10000"},
		},
		{
			// OpenZiti sends no state event for a blip shorter than raft's
			// heartbeat timeout: the reconnect is all there is.
			name: "a follower's link to the leader blips: its peer.connected gives its vote back",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10500, "b", conn, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			// Until then it looks like a leader killed with one follower
			// (testdata/openziti-1, QL1).
			name: "a follower's link to the leader cut past stabilize: announced, and over when it comes back",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{15000, "b", conn, "a", 0}),
			until: 20000,
			want: []string{"0 state.has_leader a 0 base",
				"12000 state.is_leaderless a 10000", "15000 state.has_leader a a 15000"},
		},
		{
			// What a raft leader's source says when its heartbeats fail
			// and resume; the followers never changed their minds.
			name: "the leader reaches a follower again: its vote is back",
			reports: append(slices.Clone(three),
				report{10000, "a", disc, "b", 0}, report{10500, "a", conn, "b", 0},
				report{11000, "a", disc, "c", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			name: "both ends report a cut link and its reconnect: nothing to announce",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10001, "a", disc, "b", 0},
				report{10500, "a", conn, "b", 0}, report{10501, "b", conn, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base"},
		},
		{
			name: "the leader speaks after stabilize: the loss announced meanwhile is over",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{15000, "a", conn, "b", 0}),
			until: 20000,
			want: []string{"0 state.has_leader a 0 base",
				"12000 state.is_leaderless a 10000", "15000 state.has_leader a a 15000"},
		},
		{
			name: "followers reconnecting to a restarted leader do not follow it again",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10001, "c", disc, "a", 0},
				report{10500, "a", none, "", 0}, report{10600, "b", conn, "a", 0}, report{10601, "c", conn, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "12000 state.is_leaderless a 10000"},
		},
		{
			// What OpenZiti controllers stopped together send
			// (testdata/openziti-1, at the end): the leader's side does
			// not bring back what the first one to go set aside.
			name: "a member shutting down says it lost everyone: the loss stands",
			reports: append(slices.Clone(three),
				report{10000, "b", none, "", 0}, report{10000, "b", disc, "a", 0}, report{10000, "b", disc, "c", 0},
				report{10001, "c", disc, "b", 0}, report{10002, "a", disc, "b", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "10000 state.is_leaderless a 10000"},
		},
		{
			// A poll source found the leader's process gone: a word set
			// aside is gone with it.
			name: "a leader down after a peer lost it does not lead again when it speaks",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10001, "a", down, "", 0}, report{15000, "a", conn, "b", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "12000 state.is_leaderless a 10000"},
		},
		{
			name: "a follower that said it has no leader does not follow its old one again on reconnect",
			reports: append(slices.Clone(three),
				report{10000, "b", disc, "a", 0}, report{10001, "c", disc, "a", 0},
				report{11000, "b", none, "", 0}, report{11001, "c", none, "", 0},
				report{11500, "b", conn, "a", 0}, report{11501, "c", conn, "a", 0}),
			until: 20000,
			want:  []string{"0 state.has_leader a 0 base", "12000 state.is_leaderless a 10000"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(NewView("c", tc.members, 2*time.Second), tc.reports, tc.until)
			if !slices.Equal(got, tc.want) {
				t.Errorf("announcements\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// Health counts members up (or not heard from yet), names those down or
// not answering, and says when leaderhook is cut off.
func TestViewHealth(t *testing.T) {
	v := NewView("c", []string{"a", "b", "c"}, time.Second)
	for _, r := range []report{{0, "a", has, "a", 0}, {1, "b", has, "a", 0}} {
		v.Observe(r.event(), nil)
	}
	if h := v.Health(); h.MembersUp != 3 || h.MembersTotal != 3 || h.QuorumMargin() != 1 || len(h.Unreachable) != 0 {
		t.Errorf("c not heard from yet: %+v, want all 3 presumed up", h)
	}
	v.Observe(report{2, "c", down, "", 0}.event(), nil)
	if h := v.Health(); h.MembersUp != 2 || h.QuorumMargin() != 0 || !slices.Equal(h.Unreachable, []string{"c"}) || h.WatcherIsolated {
		t.Errorf("c down: %+v, want 2 up and no margin", h)
	}
	v.Observe(report{3, "a", unknown, "", 0}.event(), nil)
	v.Observe(report{4, "b", unknown, "", 0}.event(), nil)
	if h := v.Health(); h.MembersUp != 0 || h.QuorumMargin() != -2 || !h.WatcherIsolated {
		t.Errorf("a and b not answering: %+v, want leaderhook cut off", h)
	}
}

func TestViewStateEventShape(t *testing.T) {
	v := NewView("ziti", nil, time.Second)
	out := v.Observe(report{0, "a", has, "a", 0}.event(), nil)
	if len(out) != 1 {
		t.Fatalf("got %d events, want the baseline", len(out))
	}
	ev := out[0]
	if ev.Source != event.DetectorSource || ev.Cluster != "ziti" || !ev.IsState() || !slices.Equal(ev.Members, []string{"a"}) {
		t.Errorf("baseline = %+v", ev)
	}
	if st := v.State(); !st.Known || st.LeaderID != "a" {
		t.Errorf("State() = %+v", st)
	}
}

func TestViewRestoreContinuesAnOutage(t *testing.T) {
	v := NewView("c", nil, 2*time.Second)
	v.Restore(State{Known: true, PreviousLeaderID: "a", Since: t0, Members: []string{"a", "b", "c"}})
	// Still leaderless after the restart: nothing to announce, and the
	// outage keeps its true start.
	got := run(v, []report{{60000, "b", none, "", 0}, {60001, "c", none, "", 0}, {90000, "b", has, "b", 0}, {90001, "c", has, "b", 0}}, 100000)
	want := []string{"90001 state.has_leader b a 90001"}
	if !slices.Equal(got, want) {
		t.Errorf("after restore\n got: %q\nwant: %q", got, want)
	}
}

// Restored reports stand for what members said before the restart: sources
// that resume where they stopped do not say it again.
func TestViewRestoreKeepsReports(t *testing.T) {
	follows := func(l string) MemberReport { return MemberReport{Follows: l, Last: t0} }
	cases := []struct {
		name    string
		reports map[string]MemberReport
		after   []report
		want    []string
	}{
		{
			name:    "a follower's blip after a restart is one vote out of three",
			reports: map[string]MemberReport{"a": follows("a"), "b": follows("a"), "c": follows("a")},
			after:   []report{{60000, "c", none, "", 0}, {70000, "c", has, "a", 0}},
		},
		{
			name:    "a member restored as not answering does not vote",
			reports: map[string]MemberReport{"a": follows("a"), "b": follows("a"), "c": {Follows: "a", Unknown: true, Last: t0}},
			after:   []report{{60000, "b", none, "", 0}},
			want:    []string{"62000 state.is_leaderless a 60000"},
		},
		{
			// Before the loss it began, pending at the restart, comes due.
			name: "a follower's cut link before the restart: its reconnect gives its vote back",
			reports: map[string]MemberReport{"a": {Down: true, Held: "a", Last: t0}, "b": {Lost: "a", Last: t0},
				"c": follows("a")},
			after: []report{{1000, "b", conn, "a", 0}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := NewView("c", nil, 2*time.Second)
			v.Restore(State{Known: true, LeaderID: "a", Since: t0, Members: []string{"a", "b", "c"}, Reports: tc.reports})
			if got := run(v, tc.after, 100000); !slices.Equal(got, tc.want) {
				t.Errorf("after restore\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// A view loaded from another's image decides as the other does.
func TestViewImage(t *testing.T) {
	three := []report{{0, "a", has, "a", 0}, {1, "b", has, "a", 0}, {2, "c", has, "a", 0}}
	cases := []struct {
		name          string
		before, after []report
		want          []string
	}{
		{
			name:   "a failover under way",
			before: append(slices.Clone(three), report{10000, "a", down, "", 0}),
			after:  []report{{10500, "b", has, "b", 0}, {10501, "c", has, "b", 0}},
			want:   []string{"10501 state.has_leader b a 10501"},
		},
		{
			name:   "a follower's cut link: what it set aside comes back",
			before: append(slices.Clone(three), report{10000, "b", disc, "a", 0}),
			after:  []report{{10500, "b", conn, "a", 0}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewView("c", nil, 2*time.Second)
			run(a, tc.before, 10000)
			b := NewView("c", nil, 2*time.Second)
			b.LoadImage(a.Image())
			if ga, gb := run(a, tc.after, 20000), run(b, tc.after, 20000); !slices.Equal(ga, tc.want) || !slices.Equal(gb, tc.want) {
				t.Errorf("the original announces %q, the one loaded from its image %q, want %q", ga, gb, tc.want)
			}
		})
	}
}

// A change pending when leaderhook stops (a loss within its stabilize
// period, a new leader held for its old leader's word) comes due after the
// restart when it would have without one, dated from its start: sources
// that report only changes (OpenZiti events) may say nothing more. And the
// members of a learned membership that follow no leader are not taken
// for strays of the leader announced before the loss.
func TestViewRestoreResumesAPendingChange(t *testing.T) {
	three := []report{{0, "a", has, "a", 0}, {1, "b", has, "a", 0}, {2, "c", has, "a", 0}}
	killed := append(slices.Clone(three), // the leader killed at 10s
		report{10000, "b", disc, "a", 0}, report{10001, "c", disc, "a", 0},
		report{15000, "b", none, "", 0}, report{15001, "c", none, "", 0})
	cases := []struct {
		name    string
		before  []report // until leaderhook stops at stop ms
		stop    int
		fixture string // or else the state saved, in testdata
		after   []report
		want    []string
	}{
		{
			name:   "a loss, and not a word after the restart: announced when due, dated from its start",
			before: killed,
			stop:   20000, // 10s into the stabilize period
			want:   []string{"40000 state.is_leaderless a 10000"},
		},
		{
			name:   "a loss, and a member speaks after it came due: dated from its start, not from that report",
			before: killed,
			stop:   20000, // 10s into the stabilize period
			after:  []report{{300000, "b", none, "", 0}},
			want:   []string{"40000 state.is_leaderless a 10000"},
		},
		{
			name:   "a loss, and the leader back before it came due: a blip, nothing to announce",
			before: killed,
			stop:   20000, // 10s into the stabilize period
			after:  []report{{25000, "a", has, "a", 0}, {25001, "b", has, "a", 0}, {25002, "c", has, "a", 0}},
		},
		{
			// a still claims the lead: a split brain, once it held for
			// split_brain_after, ends the hold.
			name: "a new leader held for the old leader's word: announced with the split brain when due",
			before: append(slices.Clone(three),
				report{10000, "b", has, "b", 0}, report{10001, "c", has, "b", 0}, report{10500, "a", has, "a", 0}),
			stop: 11000,
			want: []string{"13000 state.has_leader b a 10001", "13000 state.split_brain b 10000"},
		},
		{
			// The previous release kept no pending change: the reports
			// say only that the loss began by their last one.
			name:    "a loss saved by the previous release: dated from the last report before the restart",
			fixture: "state-mid-loss-previous-release.json",
			want:    []string{"45001 state.is_leaderless a 15001"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saved := savedState(t, tc.before, tc.stop, tc.fixture)
			v := NewView("c", nil, 30*time.Second)
			v.Restore(saved)
			if got := run(v, tc.after, 1200000); !slices.Equal(got, tc.want) {
				t.Errorf("after the restart\n got: %q\nwant: %q", got, tc.want)
			}
			if got := v.Members(); len(got) != 3 {
				t.Errorf("members %q after 20 minutes, want a, b and c: none is a stray", got)
			}
		})
	}
}

// savedState returns the state a view saves at stopMS after the reports,
// through JSON as the store keeps it; or, given a fixture, the one in
// testdata.
func savedState(t *testing.T, reports []report, stopMS int, fixture string) State {
	t.Helper()
	var data []byte
	var err error
	if fixture != "" {
		data, err = os.ReadFile(filepath.Join("testdata", fixture))
	} else {
		v := NewView("c", nil, 30*time.Second)
		run(v, reports, stopMS)
		data, err = json.Marshal(v.State())
	}
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st
}
