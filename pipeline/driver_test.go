package pipeline

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// engineFor builds an engine for the rule and the clusters, as a config
// reload does.
func engineFor(t *testing.T, rule rules.Rule, clusters []ClusterView) *rules.Engine {
	t.Helper()
	known := make([]rules.Cluster, 0, len(clusters))
	for _, c := range clusters {
		known = append(known, rules.Cluster{Name: c.Name})
	}
	engine, err := rules.New(rules.Options{Rules: []rules.Rule{rule}, Clusters: known})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

// A reload carries over what the rules see of each kept cluster, and
// nothing of a removed one.
func TestReplaceKeepsOnlyConfiguredClusters(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	three := []string{"a", "b", "c"}
	report := func(cluster, member, typ, leader string) event.Event {
		return event.Event{Cluster: cluster, Source: member, Type: typ, LeaderID: leader, Time: start}
	}
	for _, tc := range []struct {
		name          string
		rule          rules.Rule
		before, after []ClusterView
		reports       []event.Event
		wantFired     []string // clusters the rule fires for after the reload
	}{
		{
			name:   "an unchanged config keeps members' health",
			rule:   rules.Rule{Name: "r", When: "leader_for >= duration(\"5m\") && members_up < 2", Actions: []string{"hook"}},
			before: []ClusterView{{Name: "ziti", Members: three}},
			after:  []ClusterView{{Name: "ziti", Members: three}},
			reports: []event.Event{
				report("ziti", "a", event.HasLeader, "a"), report("ziti", "b", event.HasLeader, "a"),
				report("ziti", "c", event.HasLeader, "a"),
			},
		},
		{
			name:      "a removed cluster stops repeating",
			rule:      rules.Rule{Name: "r", When: "leaderless", FireOnStart: true, Repeat: time.Minute, Actions: []string{"hook"}},
			before:    []ClusterView{{Name: "kept", Members: []string{"a"}}, {Name: "gone", Members: []string{"a"}}},
			after:     []ClusterView{{Name: "kept", Members: []string{"a"}}},
			reports:   []event.Event{report("kept", "a", event.Leaderless, ""), report("gone", "a", event.Leaderless, "")},
			wantFired: []string{"kept"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			d := NewDriver(engineFor(t, tc.rule, tc.before), tc.before, "", rec)
			for _, ev := range tc.reports {
				if err := d.Handle(ev); err != nil {
					t.Fatal(err)
				}
			}
			reload := start.Add(2 * time.Minute)
			d.Replace(reload, engineFor(t, tc.rule, tc.after), tc.after)
			rec.outcomes = nil
			d.AdvanceTo(reload.Add(10 * time.Minute))
			var fired []string
			for _, o := range rec.fired("r") {
				if !slices.Contains(fired, o.Cluster) {
					fired = append(fired, o.Cluster)
				}
			}
			if !slices.Equal(fired, tc.wantFired) {
				t.Errorf("after the reload the rule fired for %q, want %q", fired, tc.wantFired)
			}
			if h := d.Health("gone"); h.MembersTotal != 0 {
				t.Errorf("the removed cluster's health is still kept: %+v", h)
			}
		})
	}
}

// A rule a reload adds takes the cluster's health at the reload, with its
// state, as its baseline: a condition on members that already held does
// not fire when a later report changes the health but keeps it true.
func TestReplaceStartsANewRuleOnTheKeptHealth(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clusters := []ClusterView{{Name: "c", Members: []string{"a", "b", "c", "d"}}}
	report := func(member, typ string, at time.Duration) event.Event {
		return event.Event{Cluster: "c", Source: member, Type: typ, Time: start.Add(at)}
	}
	rec := &recorder{}
	d := NewDriver(engineFor(t, rules.Rule{Name: "other", When: "false", Actions: []string{"hook"}}, clusters), clusters, "", rec)
	added := rules.Rule{Name: "r", When: "leaderless && members_up >= 2", Actions: []string{"hook"}}
	steps := []func() error{
		func() error { return d.Handle(report("a", event.Leaderless, 0)) },
		func() error { return d.Handle(report("b", event.Leaderless, 0)) },
		func() error { return d.Handle(report("d", event.MemberDown, 0)) }, // 3 up
		func() error { d.Replace(start.Add(time.Minute), engineFor(t, added, clusters), clusters); return nil },
		func() error { return d.Handle(report("c", event.MemberDown, 2*time.Minute)) }, // 2 up: still true
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	d.AdvanceTo(start.Add(10 * time.Minute))
	if h := d.Health("c"); h.MembersUp != 2 {
		t.Fatalf("members up %d, want 2: the scenario did not run as meant", h.MembersUp)
	}
	if fired := rec.fired("r"); len(fired) > 0 {
		t.Errorf("the added rule fired for a condition that held at the reload: %+v", fired)
	}
}

// A rule a reload adds takes the cluster as it is at the reload for its
// baseline, however long ago the cluster last changed: a threshold passed
// before the reload does not fire, and fire_on_start fires at the reload.
func TestReplaceStartsANewRuleAtTheReload(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clusters := []ClusterView{{Name: "c", Members: []string{"a", "b", "c"}}}
	for _, tc := range []struct {
		name      string
		onStart   bool
		wantFired []time.Duration
	}{
		{name: "a threshold passed before the reload"},
		{name: "fire_on_start", onStart: true, wantFired: []time.Duration{5 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			d := NewDriver(engineFor(t, rules.Rule{Name: "other", When: "false", Actions: []string{"hook"}}, clusters), clusters, "c", rec)
			for _, m := range []string{"a", "b", "c"} {
				if err := d.Handle(event.Event{Source: m, Type: event.Leaderless, Time: start.Add(10 * time.Second)}); err != nil {
					t.Fatal(err)
				}
			}
			added := rules.Rule{Name: "r", When: `leaderless_for >= duration("30s")`, FireOnStart: tc.onStart, Actions: []string{"hook"}}
			d.Replace(start.Add(5*time.Minute), engineFor(t, added, clusters), clusters)
			d.AdvanceTo(start.Add(10 * time.Minute))
			var got []time.Duration
			for _, o := range rec.fired("r") {
				got = append(got, o.Time.Sub(start))
			}
			if !slices.Equal(got, tc.wantFired) {
				t.Errorf("fired at %v, want %v", got, tc.wantFired)
			}
		})
	}
}

// A restart while a loss waits out its stabilize period: the loss is
// announced when it would have been without the restart, dated from its
// start, and a rule on leaderless_for fires on time, though no member
// reports after the restart (OpenZiti's events report only changes).
func TestLossPendingAcrossARestart(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	clusters := []ClusterView{{Name: "c", Stabilize: 30 * time.Second}}
	rule := rules.Rule{Name: "lost", When: `leaderless_for >= duration("60s")`, Actions: []string{"page"}}
	before := &recorder{}
	d := NewDriver(engineFor(t, rule, clusters), clusters, "c", before)
	for _, ev := range []event.Event{
		{Source: "a", Type: event.HasLeader, LeaderID: "a", Time: at(0)},
		{Source: "b", Type: event.HasLeader, LeaderID: "a", Time: at(0)},
		{Source: "c", Type: event.HasLeader, LeaderID: "a", Time: at(0)},
		{Source: "b", Type: event.PeerDisconnected, Peers: []string{"a"}, Time: at(10 * time.Second)},
		{Source: "c", Type: event.PeerDisconnected, Peers: []string{"a"}, Time: at(10 * time.Second)},
		{Source: "b", Type: event.Leaderless, Time: at(15 * time.Second)},
		{Source: "c", Type: event.Leaderless, Time: at(15 * time.Second)},
	} {
		if err := d.Handle(ev); err != nil {
			t.Fatal(err)
		}
	}
	d.AdvanceTo(at(20 * time.Second))
	engine, views := d.Snapshot()

	after := &recorder{}
	d = NewDriver(engineFor(t, rule, clusters), clusters, "c", after)
	d.Restore(engine, views)
	d.Resume(at(25 * time.Second))
	d.AdvanceTo(at(10 * time.Minute))
	var got []string
	for _, ev := range after.states {
		got = append(got, fmt.Sprintf("%s %s at %s since %s", ev.Type, ev.PreviousLeaderID, ev.Time.Sub(start), ev.Since.Sub(start)))
	}
	for _, o := range after.fired("lost") {
		got = append(got, fmt.Sprintf("lost fired at %s", o.Time.Sub(start)))
	}
	want := []string{"state.is_leaderless a at 40s since 10s", "lost fired at 1m10s"}
	if len(before.states) != 1 || !slices.Equal(got, want) {
		t.Errorf("before the restart %d states, want the baseline; after it\n got: %q\nwant: %q", len(before.states), got, want)
	}
}

// Replay hands Handle a recording: members' reports and leaderhook's own
// state events (event_src_id "leaderhook") derived from them. A recording
// without the reports (a cluster whose reports were not recorded) is
// replayed from its states; once a report of the cluster is seen, the
// states are derived again, not taken twice. Live inputs never hand Handle
// such an event (event.DecodeLive skips them).
func TestHandleTakesRecordedStatesUntilAReport(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	recorded := func(typ, leader string, at time.Time) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "ziti", Type: typ, LeaderID: leader, Time: at, Since: at}
	}
	member := event.Event{Source: "a", Cluster: "ziti", Type: event.HasLeader, LeaderID: "a", Time: start}
	for _, tc := range []struct {
		name      string
		evs       []event.Event
		wantFired int
	}{
		{"recorded states alone", []event.Event{recorded(event.HasLeader, "a", start), recorded(event.Leaderless, "", start.Add(time.Second))}, 1},
		{"recorded states after a report", []event.Event{member, recorded(event.Leaderless, "", start.Add(time.Second))}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clusters := []ClusterView{{Name: "ziti", Members: []string{"a", "b", "c"}, Stabilize: 2 * time.Second}}
			rule := rules.Rule{Name: "page", When: "leaderless", Actions: []string{"hook"}}
			rec := &recorder{}
			d := NewDriver(engineFor(t, rule, clusters), clusters, "", rec)
			for _, ev := range tc.evs {
				if err := d.Handle(ev); err != nil {
					t.Fatal(err)
				}
			}
			d.AdvanceTo(start.Add(time.Minute))
			if got := len(rec.fired("page")); got != tc.wantFired {
				t.Errorf("fired %d times, want %d", got, tc.wantFired)
			}
		})
	}
}
