package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// A restart in the middle of a cooldown, and after the cluster recovered
// while leaderhook was down: no duplicate firing, and the resolve goes out.
func TestSnapshotRestore(t *testing.T) {
	rs := []Rule{
		{Name: "nl", When: `leaderless`, Cooldown: 10 * time.Minute, Actions: acts("page"), OnResolve: acts("page")},
		{Name: "changed", When: `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`, Actions: acts("chat")},
	}
	mk := func(at time.Duration, typ, id, prev string, base bool) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id,
			PreviousLeaderID: prev, Since: t0.Add(at), Baseline: base}
	}
	e1, err := New(Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	var out []Outcome
	out = e1.Observe(mk(0, event.HasLeader, "a", "", true), out)
	out = e1.Observe(mk(10*time.Second, event.Leaderless, "", "a", false), out)
	if len(out) != 1 || out[0].Rule != "nl" || out[0].Kind != Fired {
		t.Fatalf("before restart: %+v", out)
	}
	data, err := json.Marshal(e1.Snapshot())
	if err != nil {
		t.Fatal(err)
	}

	// Restart with the same rules plus a changed one: "changed" keeps its
	// state only if its definition is the same.
	rs2 := slices.Clone(rs)
	rs2[1].Cooldown = time.Minute
	e2, err := New(Options{Rules: rs2})
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	e2.Restore(snap)
	// The cluster recovered while we were down: the first state after the
	// restart is a change, so "nl" resolves, once.
	out = e2.Observe(mk(2*time.Minute, event.HasLeader, "b", "a", true), nil)
	// Lost again inside the cooldown: suppressed, not fired twice.
	out = e2.Observe(mk(3*time.Minute, event.Leaderless, "", "b", false), out)
	var got []string
	for _, o := range out {
		got = append(got, o.Time.Sub(t0).String()+" "+o.Rule+" "+o.Kind+" "+o.Reason)
	}
	want := []string{"2m0s nl resolved ", "2m0s changed fired ", "3m0s nl suppressed cooldown", "3m0s changed resolved "}
	if !slices.Equal(got, want) {
		t.Errorf("after restart\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

// Every change of a cluster's state gets the next number; a state that
// repeats the current one keeps it; a restart continues the count.
func TestStateNumbers(t *testing.T) {
	type obs struct {
		typ, id string
		want    uint64
	}
	cases := []struct {
		name    string
		before  []obs  // then a snapshot and a restore into a new engine
		floor   uint64 // SeqFloor of c1 given to the restore
		after   []obs
		wantOut uint64 // Seq of the last outcome
	}{
		{"changes", []obs{{event.HasLeader, "a", 1}, {event.Leaderless, "", 2}, {event.HasLeader, "a", 3}, {event.HasLeader, "b", 4}}, 0, nil, 4},
		{"a repeat keeps its number", []obs{{event.HasLeader, "a", 1}, {event.HasLeader, "a", 1}}, 0, nil, 1},
		{"a restart continues", []obs{{event.HasLeader, "a", 1}, {event.Leaderless, "", 2}}, 0,
			[]obs{{event.Leaderless, "", 2}, {event.HasLeader, "b", 3}}, 3},
		{"a restart that finds another leader", []obs{{event.HasLeader, "a", 1}}, 0, []obs{{event.HasLeader, "b", 2}}, 2},
		{"a first state past a journaled delivery's", nil, 2, []obs{{event.HasLeader, "a", 3}, {event.Leaderless, "", 4}}, 4},
	}
	rs := []Rule{{Name: "any", When: `type != ""`, FireOnStart: true, Actions: acts("page")}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Rules: rs})
			if err != nil {
				t.Fatal(err)
			}
			var out []Outcome
			at := t0
			feed := func(steps []obs) {
				for _, s := range steps {
					at = at.Add(time.Second)
					out = e.Observe(event.Event{Source: event.DetectorSource, Cluster: "c1", Time: at, Type: s.typ, LeaderID: s.id}, out)
					if got := e.Seq("c1"); got != s.want {
						t.Errorf("%s %s: seq %d, want %d", s.typ, s.id, got, s.want)
					}
				}
			}
			restart := func(floor uint64) {
				data, _ := json.Marshal(e.Snapshot())
				var snap Snapshot
				if err := json.Unmarshal(data, &snap); err != nil {
					t.Fatal(err)
				}
				if floor != 0 {
					snap.SeqFloor = map[string]uint64{"c1": floor}
				}
				if e, err = New(Options{Rules: rs}); err != nil {
					t.Fatal(err)
				}
				e.Restore(snap)
			}
			feed(tc.before)
			if tc.after != nil {
				restart(tc.floor)
				restart(0) // a reload, or a restart, before the cluster's first state keeps the floor
				feed(tc.after)
			}
			if len(out) == 0 || out[len(out)-1].State.Seq != tc.wantOut {
				t.Errorf("outcomes %+v, want the last for state %d", out, tc.wantOut)
			}
		})
	}
	if got := (&Engine{}).Seq("none"); got != 0 {
		t.Errorf("unknown cluster: seq %d", got)
	}
}

// A snapshot restores only the clusters the engine is configured with (any,
// when it is given none): a cluster removed from the config does not go on
// firing.
func TestRestoreLeavesOutUnknownClusters(t *testing.T) {
	rs := []Rule{{Name: "nl", When: `leaderless`, Repeat: time.Minute, FireOnStart: true, Actions: acts("page")}}
	old, err := New(Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"kept", "gone"} {
		old.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0, Type: event.Leaderless}, nil)
	}
	for _, tc := range []struct {
		name     string
		clusters []Cluster
		want     []string // clusters that fire on
	}{
		{"configured clusters", []Cluster{{Name: "kept"}}, []string{"kept"}},
		{"no clusters given", nil, []string{"gone", "kept"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Rules: rs, Clusters: tc.clusters})
			if err != nil {
				t.Fatal(err)
			}
			e.Restore(old.Snapshot())
			var fired []string
			for _, o := range e.Advance(t0.Add(time.Minute), nil) {
				fired = append(fired, o.Cluster)
			}
			slices.Sort(fired)
			if !slices.Equal(fired, tc.want) {
				t.Errorf("fired for %q, want %q", fired, tc.want)
			}
		})
	}
}

// A restart that finds the cluster as it was announces the same state
// again: a rule that fired does not fire again, and resolves once.
func TestRestartThatFindsTheSameState(t *testing.T) {
	rs := []Rule{{Name: "l30", When: `type == "state.is_leaderless" && leaderless_for >= duration("30s")`, Actions: acts("page"), OnResolve: acts("page")}}
	mk := func(at, since time.Duration, typ, id string, base bool) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id,
			PreviousLeaderID: "a", Since: t0.Add(since), Baseline: base}
	}
	e1, err := New(Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	out := e1.Observe(mk(0, 0, event.HasLeader, "a", true), nil)
	out = e1.Observe(mk(12*time.Second, 10*time.Second, event.Leaderless, "", false), out)
	out = e1.Advance(t0.Add(time.Minute), out)
	e2, err := New(Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	e2.Restore(e1.Snapshot())
	out = e2.Observe(mk(2*time.Minute, 2*time.Minute, event.Leaderless, "", true), out)
	out = e2.Observe(mk(3*time.Minute, 3*time.Minute, event.HasLeader, "b", false), out)
	var got []string
	for _, o := range out {
		got = append(got, o.Time.Sub(t0).String()+" "+o.Kind+" episode "+o.Episode.Sub(t0).String())
	}
	want := []string{"40s fired episode 40s", "3m0s resolved episode 40s"}
	if !slices.Equal(got, want) {
		t.Errorf("\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

// A rule whose definition a reload changed starts afresh, as at startup,
// but the firing of its old definition still gets its resolve.
func TestChangedRuleResolvesItsOldFiring(t *testing.T) {
	old := Rule{Name: "nl", When: `leaderless`, Actions: acts("page"), OnResolve: acts("page")}
	changed := old
	changed.Repeat = time.Hour
	mk := func(at time.Duration, typ, id string) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id,
			PreviousLeaderID: "a", Since: t0.Add(at), Baseline: at == 0}
	}
	e1, err := New(Options{Rules: []Rule{old}})
	if err != nil {
		t.Fatal(err)
	}
	e1.Observe(mk(0, event.HasLeader, "a"), nil)
	if out := e1.Observe(mk(10*time.Second, event.Leaderless, ""), nil); len(out) != 1 || out[0].Kind != Fired {
		t.Fatalf("before the reload: %+v", out)
	}
	e2, err := New(Options{Rules: []Rule{changed}})
	if err != nil {
		t.Fatal(err)
	}
	e2.Restore(e1.Snapshot())
	out := e2.Advance(t0.Add(2*time.Hour), nil)
	out = e2.Observe(mk(2*time.Hour, event.HasLeader, "b"), out)
	var got []string
	for _, o := range out {
		got = append(got, o.Time.Sub(t0).String()+" "+o.Kind+" episode "+o.Episode.Sub(t0).String())
	}
	want := []string{"2h0m0s resolved episode 10s"}
	if !slices.Equal(got, want) {
		t.Errorf("\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(want, " | "))
	}
}

// A rule a reload or restart adds, or whose decision a reload changed,
// starts as at startup: a condition that already holds on the restored
// cluster does not fire unless fire_on_start, and its next episode fires.
// It decides as a fresh start with the same config does.
func TestRuleStartedAfreshTakesTheRestoredStateAsBaseline(t *testing.T) {
	few := Rule{Name: "few", When: `leaderless && members_up < 2`, Actions: acts("page")}
	withFireOnStart, none, pending := few, few, few
	withFireOnStart.FireOnStart = true
	none.When = `leaderless && members_up < 1`
	pending.For = time.Hour
	episodes := []string{"3m0s few resolved", "4m0s few fired"} // ceases, then holds again
	for _, tc := range []struct {
		name      string
		old, next []Rule
		want      []string
	}{
		{"new rule", nil, []Rule{few}, episodes[1:]},
		{"new rule with fire_on_start", nil, []Rule{withFireOnStart}, append([]string{"1m0s few fired"}, episodes...)},
		{"decision changed, its old condition false", []Rule{none}, []Rule{few}, episodes[1:]},
		{"decision changed, its old for: running", []Rule{pending}, []Rule{few}, episodes[1:]},
		{"decision changed to fire_on_start", []Rule{pending}, []Rule{withFireOnStart}, append([]string{"1m0s few fired"}, episodes...)},
	} {
		for _, restart := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, restart %v", tc.name, restart), func(t *testing.T) {
				e := restoredAtMinute(t, tc.old, tc.next, restart)
				if got := fewOutcomes(afterMinute(e)); !slices.Equal(got, tc.want) {
					t.Errorf("restored\n got: %q\nwant: %q", got, tc.want)
				}
				fresh := engineWith(t, tc.next)
				fresh.SetHealth("c1", fewUp)
				out := fresh.Observe(lostSince10s(time.Minute, true), nil)
				if got := fewOutcomes(afterMinute(fresh, out...)); !slices.Equal(got, tc.want) {
					t.Errorf("fresh start\n got: %q\nwant: %q", got, tc.want)
				}
			})
		}
	}
}

// fewUp is the health of a cluster with one member of three up.
var fewUp = event.Health{MembersUp: 1, MembersTotal: 3, Unreachable: []string{"m2", "m3"}}

// restoredAtMinute runs an engine of old plus a leaderless rule on a cluster
// that has one member up and loses its leader at 10s, and restores its
// snapshot at 1m into one of next plus that rule, as the pipeline does: the
// health first. A restart takes the snapshot through JSON and resumes.
func restoredAtMinute(t *testing.T, old, next []Rule, restart bool) *Engine {
	t.Helper()
	e1 := engineWith(t, old)
	e1.SetHealth("c1", fewUp)
	e1.Observe(event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0, Type: event.HasLeader, LeaderID: "a", Since: t0, Baseline: true}, nil)
	e1.Observe(lostSince10s(10*time.Second, false), nil)
	e1.Health("c1", fewUp, t0.Add(time.Minute), nil)
	snap := e1.Snapshot()
	if restart {
		data, err := json.Marshal(snap)
		if err != nil {
			t.Fatal(err)
		}
		snap = Snapshot{}
		if err := json.Unmarshal(data, &snap); err != nil {
			t.Fatal(err)
		}
	}
	e2 := engineWith(t, next)
	e2.SetHealth("c1", fewUp)
	e2.Restore(snap)
	if restart {
		e2.Resume(t0.Add(time.Minute))
	}
	return e2
}

// engineWith returns an engine of rules plus "lost", which fires on any
// loss of leader and keeps its state across a reload.
func engineWith(t *testing.T, rules []Rule) *Engine {
	t.Helper()
	e, err := New(Options{Rules: append([]Rule{{Name: "lost", When: `leaderless`, Actions: acts("page")}}, rules...)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func lostSince10s(at time.Duration, baseline bool) event.Event {
	return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: event.Leaderless,
		PreviousLeaderID: "a", Since: t0.Add(10 * time.Second), Baseline: baseline}
}

// afterMinute reports the same health at 2m, then all members up at 3m,
// then one again at 4m.
func afterMinute(e *Engine, out ...Outcome) []Outcome {
	out = e.Health("c1", fewUp, t0.Add(2*time.Minute), out)
	out = e.Health("c1", event.Health{MembersUp: 3, MembersTotal: 3}, t0.Add(3*time.Minute), out)
	return e.Health("c1", fewUp, t0.Add(4*time.Minute), out)
}

// fewOutcomes returns the outcomes of the rule "few" as "time rule kind".
func fewOutcomes(out []Outcome) []string {
	var got []string
	for _, o := range out {
		if o.Rule == "few" {
			got = append(got, fmt.Sprintf("%s %s %s", o.Time.Sub(t0), o.Rule, o.Kind))
		}
	}
	return got
}

// A reload that removes a firing rule, or the cluster it fires on (from the
// config or from the rule's clusters), resolves that firing (with the old
// rule's on_resolve), and nothing else.
func TestRetireResolvesWhatAReloadRemoves(t *testing.T) {
	lost := Rule{Name: "lost", When: `leaderless`, Actions: acts("page"), OnResolve: acts("page")}
	quiet := Rule{Name: "quiet", When: `!leaderless`, Actions: acts("chat")} // not firing
	old, err := New(Options{Rules: []Rule{lost, quiet}, Clusters: []Cluster{{Name: "a"}, {Name: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"a", "b"} {
		old.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0, Type: event.HasLeader, LeaderID: "x", Since: t0, Baseline: true}, nil)
		old.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0.Add(time.Second), Type: event.Leaderless, Since: t0.Add(time.Second)}, nil)
	}
	reload := t0.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		rules    []Rule
		clusters []Cluster
		want     []string
	}{
		{"nothing removed", []Rule{lost, quiet}, []Cluster{{Name: "a"}, {Name: "b"}}, nil},
		{"rule removed", []Rule{quiet}, []Cluster{{Name: "a"}, {Name: "b"}}, []string{"a lost resolved [page] at 1h0m0s, episode 1s", "b lost resolved [page] at 1h0m0s, episode 1s"}},
		{"cluster removed", []Rule{lost, quiet}, []Cluster{{Name: "a"}}, []string{"b lost resolved [page] at 1h0m0s, episode 1s"}},
		{"definition changed", []Rule{{Name: "lost", When: `leaderless`, Actions: acts("page"), Repeat: time.Hour}, quiet}, []Cluster{{Name: "a"}, {Name: "b"}}, nil},
		{"rule's clusters narrowed", []Rule{{Name: "lost", When: `leaderless`, Actions: acts("page"), OnResolve: acts("chat"), Clusters: []string{"a"}}, quiet}, []Cluster{{Name: "a"}, {Name: "b"}}, []string{"b lost resolved [page] at 1h0m0s, episode 1s"}},
		{"made a scheduled rule", []Rule{{Name: "lost", When: "true", Schedule: "0 * * * *", Actions: acts("page")}, quiet}, []Cluster{{Name: "a"}, {Name: "b"}},
			[]string{"a lost resolved [page] at 1h0m0s, episode 1s", "b lost resolved [page] at 1h0m0s, episode 1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, err := New(Options{Rules: tc.rules, Clusters: tc.clusters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range old.Retire(reload, next, nil) {
				got = append(got, fmt.Sprintf("%s %s %s %v at %s, episode %s", o.Cluster, o.Rule, o.Kind, o.Actions, o.Time.Sub(t0), o.Episode.Sub(t0)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// Clusters due at the same instant are evaluated in the order of their
// names, whatever the order they were seen in: the nodes of a group, and
// an engine restored from a snapshot, decide in one order.
func TestSimultaneousWakeupsInClusterOrder(t *testing.T) {
	rs := []Rule{{Name: "l30", When: `leaderless && leaderless_for >= duration("30s")`, Actions: acts("page")}}
	e, err := New(Options{Rules: rs})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"b", "c", "a"} {
		e.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0, Type: event.HasLeader, LeaderID: "x", Since: t0, Baseline: true}, nil)
		e.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0, Type: event.Leaderless, Since: t0}, nil)
	}
	var got []string
	for _, o := range e.Advance(t0.Add(time.Minute), nil) {
		got = append(got, o.Cluster)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("fired on %q, want %q", got, want)
	}
}

// A reload that changes only what a rule says or runs (description,
// labels, actions, on_resolve, verify.on_failure) keeps its state: the
// verification in progress still ends in verify_failed (with the new
// on_failure), the repeat goes on, a running cooldown still holds, and the
// firing resolves once. A change of what it decides starts it afresh: its
// old firing still resolves once, and nothing else carries over.
func TestReloadKeepsStateUnlessWhatTheRuleDecidesChanged(t *testing.T) {
	base := Rule{Name: "lost", Description: "no leader", When: `leaderless`, Repeat: time.Hour, Cooldown: 10 * time.Minute,
		Actions: acts("page"), OnResolve: acts("page"), Labels: map[string]string{"team": "db"},
		Verify: &Verify{When: `!leaderless`, Within: 5 * time.Minute, OnFailure: acts("page")}}
	for _, tc := range []struct {
		name string
		edit func(r *Rule)
		keep bool
	}{
		{"description", func(r *Rule) { r.Description = "no leader: writes fail" }, true},
		{"labels", func(r *Rule) { r.Labels = map[string]string{"team": "sre"} }, true},
		{"an action added", func(r *Rule) { r.Actions = acts("page", "chat") }, true},
		{"on_resolve", func(r *Rule) { r.OnResolve = acts("chat") }, true},
		{"verify.on_failure", func(r *Rule) {
			r.Verify = &Verify{When: `!leaderless`, Within: 5 * time.Minute, OnFailure: acts("chat")}
		}, true},
		{"when", func(r *Rule) { r.When = `leaderless && leader_id == ""` }, false},
		{"for", func(r *Rule) { r.For = time.Second }, false},
		{"cooldown", func(r *Rule) { r.Cooldown = 5 * time.Minute }, false},
		{"repeat", func(r *Rule) { r.Repeat = 30 * time.Minute }, false},
		{"verify.when", func(r *Rule) {
			r.Verify = &Verify{When: `leader_id == "b"`, Within: 5 * time.Minute, OnFailure: acts("page")}
		}, false},
		{"verify.within", func(r *Rule) {
			r.Verify = &Verify{When: `!leaderless`, Within: 6 * time.Minute, OnFailure: acts("page")}
		}, false},
		{"clusters", func(r *Rule) { r.Clusters = []string{"c1", "c2"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := base
			tc.edit(&edited)
			// A verification in progress, then a repeat; the resolve.
			got := strings.Join(reloadMidway(t, base, edited, func(e *Engine, reload func() *Engine) []Outcome {
				e.Observe(reloadEvent(0, event.HasLeader, "a"), nil)
				out := e.Observe(reloadEvent(10*time.Second, event.Leaderless, ""), nil)
				out = e.ActionDone(ActionEnd{Cluster: "c1", Rule: "lost", Episode: t0.Add(10 * time.Second), FiredAt: t0.Add(10 * time.Second), Action: "page", OK: true}, t0.Add(20*time.Second), out)
				e = reload()
				out = e.Advance(t0.Add(2*time.Hour), out)
				return e.Observe(reloadEvent(2*time.Hour, event.HasLeader, "b"), out)
			}), " | ")
			kept := []string{"10s fired [page]", "5m20s verify_failed " + fmt.Sprint(edited.Verify.OnFailure),
				"1h0m10s fired " + fmt.Sprint(edited.Actions), "2h0m0s resolved " + fmt.Sprint(edited.OnResolve)}
			afresh := []string{"10s fired [page]", "2h0m0s resolved " + fmt.Sprint(edited.OnResolve)}
			if want := strings.Join(map[bool][]string{true: kept, false: afresh}[tc.keep], " | "); got != want {
				t.Errorf("verification and repeat\n got: %s\nwant: %s", got, want)
			}
			// Lost again inside the cooldown of a firing that resolved.
			got = strings.Join(reloadMidway(t, base, edited, func(e *Engine, reload func() *Engine) []Outcome {
				e.Observe(reloadEvent(0, event.HasLeader, "a"), nil)
				out := e.Observe(reloadEvent(10*time.Second, event.Leaderless, ""), nil)
				out = e.Observe(reloadEvent(20*time.Second, event.HasLeader, "b"), out)
				e = reload()
				return e.Observe(reloadEvent(2*time.Minute, event.Leaderless, ""), out)
			}), " | ")
			if held := strings.Contains(got, "2m0s suppressed"); held != tc.keep {
				t.Errorf("cooldown: held back %v, want %v: %s", held, tc.keep, got)
			}
		})
	}
}

// reloadMidway runs a scenario whose reload (at 1m) swaps the engine of
// old for one of next as the pipeline does (Retire, then Restore), and
// returns its outcomes as "time kind actions".
func reloadMidway(t *testing.T, old, next Rule, scenario func(e *Engine, reload func() *Engine) []Outcome) []string {
	t.Helper()
	e1, err := New(Options{Rules: []Rule{old}})
	if err != nil {
		t.Fatal(err)
	}
	var retired []Outcome
	reload := func() *Engine {
		e2, err := New(Options{Rules: []Rule{next}})
		if err != nil {
			t.Fatal(err)
		}
		retired = e1.Retire(t0.Add(time.Minute), e2, nil)
		e2.Restore(e1.Snapshot())
		return e2
	}
	out := append(scenario(e1, reload), retired...)
	var got []string
	for _, o := range out {
		got = append(got, fmt.Sprintf("%s %s %v", o.Time.Sub(t0), o.Kind, o.Actions))
	}
	return got
}

func reloadEvent(at time.Duration, typ, leader string) event.Event {
	return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: leader,
		PreviousLeaderID: "a", Since: t0.Add(at), Baseline: at == 0}
}

// A snapshot written before rule snapshots had a decision (a state_dir of
// an older version, a node of a group not upgraded yet) is matched by its
// definition: a rule that did not change keeps its state.
func TestSnapshotWithoutDecisionMatchesByDefinition(t *testing.T) {
	r := Rule{Name: "lost", When: `leaderless`, Cooldown: 10 * time.Minute, Actions: acts("page")}
	got := strings.Join(reloadMidway(t, r, r, func(e *Engine, _ func() *Engine) []Outcome {
		e.Observe(reloadEvent(0, event.HasLeader, "a"), nil)
		out := e.Observe(reloadEvent(10*time.Second, event.Leaderless, ""), nil)
		out = e.Observe(reloadEvent(20*time.Second, event.HasLeader, "b"), out)
		snap := e.Snapshot()
		for i := range snap.Clusters[0].Rules {
			snap.Clusters[0].Rules[i].Decision = ""
		}
		e2, err := New(Options{Rules: []Rule{r}})
		if err != nil {
			t.Fatal(err)
		}
		e2.Restore(snap)
		return e2.Observe(reloadEvent(2*time.Minute, event.Leaderless, ""), out)
	}), " | ")
	if want := "10s fired [page] | 20s resolved [] | 2m0s suppressed [page]"; got != want {
		t.Errorf("\n got: %s\nwant: %s", got, want)
	}
}

// A firing that a reload resolves because the rule no longer applies to its
// cluster is over: a later reload that gives the cluster back to the rule
// does not find it firing, and the cluster's recovery resolves nothing again.
func TestNarrowedRuleForgetsTheRetiredFiring(t *testing.T) {
	both := Rule{Name: "lost", When: `leaderless`, Actions: acts("page"), OnResolve: acts("page")}
	onlyA := both
	onlyA.Clusters = []string{"a"}
	clusters := []Cluster{{Name: "a"}, {Name: "b"}}
	reload := func(old *Engine, r Rule) *Engine {
		next, err := New(Options{Rules: []Rule{r}, Clusters: clusters})
		if err != nil {
			t.Fatal(err)
		}
		next.Restore(old.Snapshot())
		return next
	}
	e, err := New(Options{Rules: []Rule{both}, Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	e.Observe(event.Event{Source: event.DetectorSource, Cluster: "b", Time: t0, Type: event.HasLeader, LeaderID: "x", Since: t0, Baseline: true}, nil)
	e.Observe(event.Event{Source: event.DetectorSource, Cluster: "b", Time: t0.Add(time.Second), Type: event.Leaderless, Since: t0.Add(time.Second)}, nil)
	e = reload(reload(e, onlyA), both)
	out := e.Observe(event.Event{Source: event.DetectorSource, Cluster: "b", Time: t0.Add(time.Hour), Type: event.HasLeader, LeaderID: "y", PreviousLeaderID: "x", Since: t0.Add(time.Hour)}, nil)
	if len(out) != 0 {
		t.Errorf("after the firing was retired: %+v", out)
	}
}

// A restart whose config no longer has a firing rule, or its cluster (in
// the config or in the rule's clusters), resolves that firing as a reload
// does: with the on_resolve and labels the rule had, which the snapshot
// keeps. A snapshot of an earlier version, which does not, resolves it
// with the rule's on_resolve if the config still has the rule, and with
// no action otherwise.
func TestRetiredResolvesWhatARestartRemoves(t *testing.T) {
	lost := Rule{Name: "lost", When: `leaderless`, Actions: acts("page"), OnResolve: acts("page"), Labels: map[string]string{"team": "db"}}
	quiet := Rule{Name: "quiet", When: `!leaderless`, Actions: acts("chat")} // not firing
	clusters := []Cluster{{Name: "a", Labels: map[string]string{"env": "prod"}}, {Name: "b", Labels: map[string]string{"env": "test"}}}
	old, err := New(Options{Rules: []Rule{lost, quiet}, Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"a", "b"} {
		old.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0, Type: event.HasLeader, LeaderID: "x", Since: t0, Baseline: true}, nil)
		old.Observe(event.Event{Source: event.DetectorSource, Cluster: c, Time: t0.Add(time.Second), Type: event.Leaderless, Since: t0.Add(time.Second)}, nil)
	}
	saved, err := json.Marshal(old.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	earlier := strings.ReplaceAll(string(saved), `"resolve":`, `"unknown_field":`) // as an earlier version wrote it
	narrowed := lost
	narrowed.Clusters, narrowed.OnResolve = []string{"a"}, acts("chat")
	restart := t0.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		snapshot string
		rules    []Rule
		clusters []Cluster
		want     []string
	}{
		{"nothing removed", string(saved), []Rule{lost, quiet}, clusters, nil},
		{"rule removed", string(saved), []Rule{quiet}, clusters, []string{
			"a lost resolved [page] map[env:prod team:db] at 1h0m0s, episode 1s", "b lost resolved [page] map[env:test team:db] at 1h0m0s, episode 1s"}},
		{"cluster removed", string(saved), []Rule{lost, quiet}, clusters[:1], []string{"b lost resolved [page] map[env:test team:db] at 1h0m0s, episode 1s"}},
		{"cluster taken out of the rule's", string(saved), []Rule{narrowed, quiet}, clusters, []string{"b lost resolved [page] map[env:test team:db] at 1h0m0s, episode 1s"}},
		{"made a scheduled rule", string(saved), []Rule{{Name: "lost", When: "true", Schedule: "0 * * * *", Actions: acts("page")}, quiet}, clusters, []string{
			"a lost resolved [page] map[env:prod team:db] at 1h0m0s, episode 1s", "b lost resolved [page] map[env:test team:db] at 1h0m0s, episode 1s"}},
		{"definition changed", string(saved), []Rule{{Name: "lost", When: `leaderless`, Actions: acts("page"), Repeat: time.Hour}, quiet}, clusters, nil},
		{"earlier version, rule removed", earlier, []Rule{quiet}, clusters, []string{
			"a lost resolved [] map[env:prod] at 1h0m0s, episode 1s", "b lost resolved [] map[env:test] at 1h0m0s, episode 1s"}},
		{"earlier version, cluster taken out of the rule's", earlier, []Rule{narrowed, quiet}, clusters, []string{"b lost resolved [chat] map[env:test team:db] at 1h0m0s, episode 1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Snapshot
			if err := json.Unmarshal([]byte(tc.snapshot), &s); err != nil {
				t.Fatal(err)
			}
			next, err := New(Options{Rules: tc.rules, Clusters: tc.clusters})
			if err != nil {
				t.Fatal(err)
			}
			next.Restore(s)
			var got []string
			for _, o := range next.Retired(restart, s, nil) {
				got = append(got, fmt.Sprintf("%s %s %s %v %v at %s, episode %s", o.Cluster, o.Rule, o.Kind, o.Actions, o.Labels, o.Time.Sub(t0), o.Episode.Sub(t0)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// A restart after days down does what time alone would have done meanwhile
// once, at the start: one repeat of a firing rule and one run of a
// scheduled rule, not every repeat and schedule time it missed; the
// repeats then go on from the start. A short restart misses nothing.
func TestResumeMakesUpMissedTimesOnce(t *testing.T) {
	rs := []Rule{
		{Name: "rep", When: `leaderless`, Repeat: time.Minute, Actions: acts("page"), OnResolve: acts("page")},
		{Name: "daily", Schedule: "0 9 * * *", When: `true`, Actions: acts("chat")},
	}
	mk := func(at time.Duration, typ, id string) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id,
			PreviousLeaderID: "a", Since: t0.Add(at), Baseline: at == 0}
	}
	for _, tc := range []struct {
		name        string
		down, until time.Duration // the restart, and how far time then goes
		want        []string
	}{
		{name: "three days down", down: 72 * time.Hour, until: 72*time.Hour + 2*time.Minute,
			want: []string{"72h0m0s daily fired", "72h0m0s rep fired", "72h1m0s rep fired", "72h2m0s rep fired"}},
		{name: "a restart after one repeat time", down: 2*time.Minute + 30*time.Second, until: 4 * time.Minute,
			want: []string{"2m30s rep fired", "3m30s rep fired"}},
		{name: "a restart before the next repeat", down: 2*time.Minute + 5*time.Second, until: 4 * time.Minute,
			want: []string{"2m10s rep fired", "3m10s rep fired"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e1, err := New(Options{Rules: rs})
			if err != nil {
				t.Fatal(err)
			}
			e1.Observe(mk(0, event.HasLeader, "a"), nil)
			e1.Observe(mk(10*time.Second, event.Leaderless, ""), nil)
			e1.Advance(t0.Add(2*time.Minute), nil)
			e2, err := New(Options{Rules: rs})
			if err != nil {
				t.Fatal(err)
			}
			e2.Restore(e1.Snapshot())
			e2.Resume(t0.Add(tc.down))
			var got []string
			for _, o := range e2.Advance(t0.Add(tc.until), nil) {
				got = append(got, o.Time.Sub(t0).String()+" "+o.Rule+" "+o.Kind)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("\n got: %d outcomes, %s\nwant: %s", len(got), strings.Join(got[:min(len(got), 6)], " | "), strings.Join(tc.want, " | "))
			}
		})
	}
}

// A scheduled rule added while leaderhook was down missed nothing: its
// times start from the restart, with no run made up at it.
func TestResumeStartsANewScheduleAfresh(t *testing.T) {
	daily := Rule{Name: "daily", Schedule: "0 9 * * *", When: `true`, Actions: acts("chat")}
	e1, err := New(Options{Rules: []Rule{}})
	if err != nil {
		t.Fatal(err)
	}
	e1.Observe(event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0, Type: event.HasLeader, LeaderID: "a", Since: t0, Baseline: true}, nil)
	e2, err := New(Options{Rules: []Rule{daily}})
	if err != nil {
		t.Fatal(err)
	}
	e2.Restore(e1.Snapshot())
	e2.Resume(t0.Add(72 * time.Hour))
	var got []string
	for _, o := range e2.Advance(t0.Add(96*time.Hour), nil) {
		got = append(got, o.Time.Sub(t0).String()+" "+o.Rule+" "+o.Kind)
	}
	if want := []string{"80h0m0s daily fired"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A reload that changes timezone moves a scheduled rule's next run to the
// new zone's time, rather than making one more run at the old zone's.
func TestReloadedTimezoneMovesTheNextRun(t *testing.T) {
	daily := Rule{Name: "daily", Schedule: "0 9 * * *", When: `true`, Actions: acts("chat")}
	start := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	utc, err := New(Options{Rules: []Rule{daily}})
	if err != nil {
		t.Fatal(err)
	}
	utc.Observe(event.Event{Source: event.DetectorSource, Cluster: "c1", Time: start, Type: event.HasLeader, LeaderID: "a", Since: start, Baseline: true}, nil)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	reloaded, err := New(Options{Rules: []Rule{daily}, Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	reloaded.Restore(utc.Snapshot())
	var got []string
	for _, o := range reloaded.Advance(start.Add(30*time.Hour), nil) {
		got = append(got, o.Time.Format(time.RFC3339)+" "+o.Rule+" "+o.Kind)
	}
	// 09:00 in Berlin is 08:00 UTC in January.
	if want := []string{"2026-01-05T08:00:00Z daily fired", "2026-01-06T08:00:00Z daily fired"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A state saved before the zone was recorded keeps its scheduled rules'
// next runs: a run missed while leaderhook was down is made up once.
func TestStateWithoutTimezoneKeepsTheNextRun(t *testing.T) {
	daily := Rule{Name: "daily", Schedule: "0 9 * * *", When: `true`, Actions: acts("chat")}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 1, 5, 6, 0, 0, 0, time.UTC)
	before, err := New(Options{Rules: []Rule{daily}, Location: berlin})
	if err != nil {
		t.Fatal(err)
	}
	before.Observe(event.Event{Source: event.DetectorSource, Cluster: "c1", Time: start, Type: event.HasLeader, LeaderID: "a", Since: start, Baseline: true}, nil)
	saved := before.Snapshot()
	saved.Timezone = "" // as the previous release saved it
	after, _ := New(Options{Rules: []Rule{daily}, Location: berlin})
	after.Restore(saved)
	restart := start.Add(4 * time.Hour) // past 08:00 UTC, 09:00 in Berlin
	var got []string
	after.Resume(restart)
	for _, o := range after.Advance(restart, nil) {
		got = append(got, o.Time.Format(time.RFC3339)+" "+o.Rule+" "+o.Kind)
	}
	if want := []string{"2026-01-05T10:00:00Z daily fired"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want the missed run made up at the restart", got)
	}
}

// What came due while leaderhook was down, a threshold, the end of a for:
// period, of a mute window or of a cooldown, fires once, at the restart,
// and its repeats count from there: not at its own instant followed by a
// burst of every repeat missed since.
func TestResumeFiresWhatCameDueWhileDownOnce(t *testing.T) {
	sunday := map[string]Window{"sun": {Schedule: "0 1 * * SUN", Duration: 20 * time.Minute}} // t0 is a Sunday, 01:00
	for _, tc := range []struct {
		name    string
		rule    Rule
		windows map[string]Window
		steps   []step
		want    []string // from 1h, the restart, to 1h1m30s
	}{
		{name: "a threshold", rule: Rule{When: `leaderless_for >= duration("30s")`},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a")},
			want:  []string{"1h0m0s r fired", "1h1m0s r fired"}},
		{name: "a for: period", rule: Rule{When: `leaderless`, For: 30 * time.Second},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a")},
			want:  []string{"1h0m0s r fired", "1h1m0s r fired"}},
		{name: "a mute window", rule: Rule{When: `leaderless`, Mute: []string{"sun"}}, windows: sunday,
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a")},
			want:  []string{"1h0m0s r fired", "1h1m0s r fired"}},
		{name: "a cooldown", rule: Rule{When: `leaderless`, Cooldown: 10 * time.Minute},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("20s", "b", "a"), lost("30s", "30s", "b")},
			want:  []string{"1h0m0s r fired", "1h1m0s r suppressed cooldown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rule
			r.Name, r.Repeat, r.Actions = "r", time.Minute, acts("page")
			opts := Options{Rules: []Rule{r}, Windows: tc.windows}
			e1, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			observeSteps(e1, tc.steps, nil)
			e2, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			e2.Restore(e1.Snapshot())
			e2.Resume(t0.Add(time.Hour))
			got := outcomeLines(e2.Advance(t0.Add(time.Hour+90*time.Second), nil))
			if !slices.Equal(got, tc.want) {
				t.Errorf("\n got: %d outcomes, %s\nwant: %s", len(got), strings.Join(got[:min(len(got), 4)], " | "), strings.Join(tc.want, " | "))
			}
		})
	}
}

// reloadAt swaps e1 for an engine of opts at offset at, as pipeline's
// Replace does, and returns it with the outcomes up to the swap.
func reloadAt(t *testing.T, e1 *Engine, opts Options, at time.Duration) (*Engine, []Outcome) {
	t.Helper()
	out := e1.Advance(t0.Add(at), nil)
	e2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	out = e1.Retire(t0.Add(at), e2, out)
	snap := e1.Snapshot()
	for i := range snap.Clusters {
		if snap.Clusters[i].Now.Before(t0.Add(at)) {
			snap.Clusters[i].Now = t0.Add(at)
		}
	}
	e2.Restore(snap)
	return e2, out
}

// A firing a mute window holds back waits for the window as the config
// now has it: a reload that shortens it, moves it or changes the time
// zone releases the firing at the new window's end (or at once), rather
// than at the end of the window it was held by.
func TestReloadHoldsAMutedFiringByTheNewWindow(t *testing.T) {
	// t0 is Sunday 01:00 UTC: the window opens at 1h, and holds the
	// firing of the loss at 1h30m until 9h.
	long := map[string]Window{"sun": {Schedule: "0 2 * * SUN", Duration: 8 * time.Hour}}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		windows map[string]Window
		loc     *time.Location
		want    []string
	}{
		{name: "unchanged", windows: long, want: []string{"1h30m0s nl suppressed muted", "9h0m0s nl fired"}},
		{name: "shortened, closed before the reload", windows: map[string]Window{"sun": {Schedule: "0 2 * * SUN", Duration: time.Hour}},
			want: []string{"1h30m0s nl suppressed muted", "3h0m0s nl fired"}},
		{name: "moved, still open at the reload", windows: map[string]Window{"sun": {Schedule: "0 3 * * SUN", Duration: 2 * time.Hour}},
			want: []string{"1h30m0s nl suppressed muted", "4h0m0s nl fired"}},
		{name: "another time zone", windows: long, loc: newYork, // 02:00 in New York is 07:00 UTC
			want: []string{"1h30m0s nl suppressed muted", "3h0m0s nl fired"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := []Rule{{Name: "nl", When: `leaderless`, Mute: []string{"sun"}, Actions: acts("page")}}
			e1, err := New(Options{Rules: rs, Windows: long})
			if err != nil {
				t.Fatal(err)
			}
			out := observeSteps(e1, []step{baseline(leader("0s", "a", "")), lost("1h30m", "1h30m", "a")}, nil)
			e2, reloaded := reloadAt(t, e1, Options{Rules: rs, Windows: tc.windows, Location: tc.loc}, 3*time.Hour)
			out = e2.Advance(t0.Add(12*time.Hour), append(out, reloaded...))
			if got := outcomeLines(out); !slices.Equal(got, tc.want) {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(tc.want, " | "))
			}
		})
	}
}
