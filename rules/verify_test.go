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

// vstep is a state event, or the end of a delivery of rule v's latest
// firing to an action ("!action": it failed for good), or a restart from
// a snapshot.
type vstep struct {
	at      string
	ev      event.Event
	done    string
	restart bool
}

func vstate(s step) vstep           { return vstep{at: s.at, ev: s.ev} }
func vdone(at, action string) vstep { return vstep{at: at, done: action} }
func vrestart(at string) vstep      { return vstep{at: at, restart: true} }

// failover fires 30 s into a loss (the one at 12s, since 10s: at 40s);
// verify.when is true once the cluster has leader c.
var failover = Rule{Name: "v", When: `leaderless_for >= duration("30s")`, Actions: acts("script"),
	Verify: &Verify{When: `leader_id == "c"`, Within: 2 * time.Minute, OnFailure: acts("page")}}

// runVerify runs the steps on an engine with rule, and returns its
// outcomes as "offset rule kind[ actions]" (actions of verify_failed).
func runVerify(t *testing.T, rule Rule, assume bool, steps []vstep, until string) []string {
	t.Helper()
	newEngine := func() *Engine {
		e, err := New(Options{Rules: []Rule{rule}, Clusters: []Cluster{{Name: "c1"}}})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		e.AssumeDelivered = assume
		return e
	}
	e := newEngine()
	var out []Outcome
	for _, s := range steps {
		at := t0.Add(off(s.at))
		switch {
		case s.restart:
			data, err := json.Marshal(e.Snapshot())
			var snap Snapshot
			if err == nil {
				err = json.Unmarshal(data, &snap)
			}
			if err != nil {
				t.Fatal(err)
			}
			e = newEngine()
			e.Restore(snap)
		case s.done != "":
			out = e.Advance(at, out) // the firing comes first
			out = e.ActionDone(latestFiring(out, s.done), at, out)
		default:
			ev := s.ev
			ev.Source, ev.Cluster, ev.Time = event.DetectorSource, "c1", at
			if ev.Since.IsZero() {
				ev.Since = at
			}
			out = e.Observe(ev, out)
		}
	}
	out = e.Advance(t0.Add(off(until)), out)
	var got []string
	for _, o := range out {
		s := fmt.Sprintf("%s %s %s", o.Time.Sub(t0), o.Rule, o.Kind)
		if o.Kind == VerifyFailed {
			s += fmt.Sprintf(" %v", o.Actions)
		}
		got = append(got, s)
	}
	return got
}

// latestFiring is the end of the delivery of the latest firing to action.
func latestFiring(out []Outcome, action string) ActionEnd {
	name, ok := strings.CutPrefix(action, "!")
	end := ActionEnd{Cluster: "c1", Rule: "v", Action: name, OK: !ok}
	for _, o := range out {
		if o.Kind == Fired {
			end.Episode, end.FiredAt = o.Episode, o.Time
		}
	}
	return end
}

func TestVerify(t *testing.T) {
	loss := []vstep{vstate(baseline(leader("0s", "a", ""))), vstate(lost("12s", "10s", "a"))}
	with := func(more ...vstep) []vstep { return append(slices.Clone(loss), more...) }
	twoActions := failover
	twoActions.Actions = acts("script", "chat")
	tenure := failover
	tenure.Verify = &Verify{When: `!leaderless && leader_for >= duration("20s")`, Within: 2 * time.Minute}
	arithmetic := failover
	arithmetic.Verify = &Verify{When: `!leaderless && leader_for >= 2 * duration("10s")`, Within: 2 * time.Minute}
	repeating := failover
	repeating.Repeat = time.Minute
	cases := []struct {
		name   string
		rule   Rule
		assume bool
		steps  []vstep
		until  string
		want   []string
	}{
		{"passes when the condition comes true within the window", failover, false,
			with(vdone("50s", "script"), vstate(leader("1m", "b", "a")), vstate(leader("2m", "c", "b"))), "10m",
			[]string{"40s v fired", "1m0s v resolved", "2m0s v verified"}},
		{"fails at exactly success + within, with on_failure", failover, false,
			with(vdone("50s", "script")), "10m",
			[]string{"40s v fired", "2m50s v verify_failed [page]"}},
		{"a change at the window's end comes too late", failover, false,
			with(vdone("50s", "script"), vstate(leader("2m50s", "c", "a"))), "10m",
			[]string{"40s v fired", "2m50s v verify_failed [page]", "2m50s v resolved"}},
		{"one nanosecond before the end is in time", failover, false,
			with(vdone("50s", "script"), vstate(leader("2m49.999999999s", "c", "a"))), "10m",
			[]string{"40s v fired", "2m49.999999999s v verified", "2m49.999999999s v resolved"}},
		{"already true when the actions succeed: verified then", failover, false,
			with(vstate(leader("45s", "c", "a")), vdone("50s", "script")), "10m",
			[]string{"40s v fired", "45s v resolved", "50s v verified"}},
		{"the window opens once every action succeeded", twoActions, false,
			with(vdone("50s", "script"), vdone("1m10s", "chat")), "10m",
			[]string{"40s v fired", "3m10s v verify_failed [page]"}},
		{"no window while an action is awaited", twoActions, false,
			with(vdone("50s", "script")), "1h",
			[]string{"40s v fired"}},
		{"an action that failed for good ends the verification", failover, false,
			with(vdone("50s", "!script")), "1h",
			[]string{"40s v fired"}},
		{"the end of another action's delivery changes nothing", failover, false,
			with(vdone("50s", "page")), "1h",
			[]string{"40s v fired"}},
		{"time alone verifies a condition on leader_for", tenure, false,
			with(vdone("50s", "script"), vstate(leader("1m", "b", "a"))), "10m",
			[]string{"40s v fired", "1m0s v resolved", "1m20s v verified"}},
		{"time alone verifies a threshold written as arithmetic", arithmetic, false,
			with(vdone("50s", "script"), vstate(leader("1m", "b", "a"))), "10m",
			[]string{"40s v fired", "1m0s v resolved", "1m20s v verified"}},
		{"a new firing starts a new window", failover, false,
			with(vdone("41s", "script"), vstate(leader("1m", "b", "a")), vstate(lost("1m30s", "1m30s", "b")),
				vdone("2m5s", "script")), "10m",
			[]string{"40s v fired", "1m0s v resolved", "2m0s v fired", "4m5s v verify_failed [page]"}},
		{"a repeat replaces a window still open", repeating, false,
			with(vdone("41s", "script"), vdone("1m45s", "script")), "3m",
			[]string{"40s v fired", "1m40s v fired", "2m40s v fired"}},
		{"assumed delivered: the window opens as the rule fires", failover, true,
			loss, "10m",
			[]string{"40s v fired", "2m40s v verify_failed [page]"}},
		{"assumed delivered, already true: verified as the rule fires", Rule{Name: "v", When: `leaderless`, Actions: acts("script"),
			Verify: &Verify{When: `previous_leader_id == "a"`, Within: time.Minute}}, true,
			loss, "10m",
			[]string{"12s v fired", "12s v verified"}},
		{"a restart while the actions are awaited", failover, false,
			with(vrestart("45s"), vdone("50s", "script")), "10m",
			[]string{"40s v fired", "2m50s v verify_failed [page]"}},
		{"a restart in the window keeps it, to its end", failover, false,
			with(vdone("50s", "script"), vrestart("1m")), "10m",
			[]string{"40s v fired", "2m50s v verify_failed [page]"}},
		{"a restart in the window, then the condition comes true", failover, false,
			with(vdone("50s", "script"), vrestart("1m"), vstate(leader("2m", "c", "a"))), "10m",
			[]string{"40s v fired", "2m0s v verified", "2m0s v resolved"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runVerify(t, tc.rule, tc.assume, tc.steps, tc.until)
			if !slices.Equal(got, tc.want) {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(tc.want, " | "))
			}
		})
	}
}

// The verify.when examples the documentation gives (config/reference.go,
// README.md) stay false while the cluster is still leaderless, where
// previous_leader_id is the lost leader and leader_id is "", and come true
// once a new leader comes.
func TestVerifyDocumentedExamples(t *testing.T) {
	loss := []vstep{vstate(baseline(leader("0s", "a", ""))), vstate(lost("12s", "10s", "a")), vdone("50s", "script")}
	for _, when := range []string{`!leaderless`, `!leaderless && leader_id != previous_leader_id`} {
		rule := failover
		rule.Verify = &Verify{When: when, Within: 2 * time.Minute, OnFailure: acts("page")}
		for _, tc := range []struct {
			name  string
			steps []vstep
			want  []string
		}{
			{"still leaderless", loss, []string{"40s v fired", "2m50s v verify_failed [page]"}},
			{"a new leader", append(slices.Clone(loss), vstate(leader("1m", "b", "a"))),
				[]string{"40s v fired", "1m0s v verified", "1m0s v resolved"}},
		} {
			t.Run(when+"/"+tc.name, func(t *testing.T) {
				if got := runVerify(t, rule, false, tc.steps, "10m"); !slices.Equal(got, tc.want) {
					t.Errorf("\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(tc.want, " | "))
				}
			})
		}
	}
}

// A verify_failed outcome belongs to the firing's episode, and its actions
// are on_failure; a verified one has none.
func TestVerifyOutcomes(t *testing.T) {
	e, err := New(Options{Rules: []Rule{failover}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(at time.Duration, typ, id, prev string, since time.Duration) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id, PreviousLeaderID: prev, Since: t0.Add(since)}
	}
	out := e.Observe(mk(0, event.HasLeader, "a", "", 0), nil)
	out = e.Observe(mk(12*time.Second, event.Leaderless, "", "a", 10*time.Second), out)
	out = e.Advance(t0.Add(time.Minute), out)
	out = e.ActionDone(latestFiring(out, "script"), t0.Add(time.Minute), out)
	if at, ok := e.Deadline(); !ok || !at.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("Deadline = %v %v, want the window's end, t0+3m", at, ok)
	}
	out = e.Advance(t0.Add(time.Hour), out)
	if len(out) != 2 {
		t.Fatalf("got %d outcomes, want 2: %+v", len(out), out)
	}
	f, v := out[0], out[1]
	if v.Kind != VerifyFailed || !v.Episode.Equal(f.Episode) || !v.Time.Equal(t0.Add(3*time.Minute)) ||
		!slices.Equal(v.Actions, acts("page")) || !v.Leaderless || v.LeaderlessFor != 2*time.Minute+50*time.Second {
		t.Errorf("verify_failed outcome = %+v", v)
	}
	if _, ok := e.Deadline(); ok {
		t.Error("a verification that ended should leave no deadline")
	}
}

func TestVerifyCheckErrors(t *testing.T) {
	known := Known{Actions: map[string]bool{"page": true, "script": true}}
	cases := []struct {
		name string
		rule Rule
		want []string
	}{
		{"valid", failover, nil},
		{"no actions", Rule{Name: "r", When: "leaderless", OnResolve: acts("page"), Verify: &Verify{When: "!leaderless", Within: time.Minute}},
			[]string{"rules[0].verify@-1: needs actions"}},
		{"no window", Rule{Name: "r", When: "leaderless", Actions: acts("script"), Verify: &Verify{When: "!leaderless"}},
			[]string{"rules[0].verify.within@-1: must be positive"}},
		{"no condition", Rule{Name: "r", When: "leaderless", Actions: acts("script"), Verify: &Verify{Within: time.Minute}},
			[]string{"rules[0].verify.when@-1: is required"}},
		{"type-checked", Rule{Name: "r", When: "leaderless", Actions: acts("script"), Verify: &Verify{When: `leader_id == 1`, Within: time.Minute}},
			[]string{"rules[0].verify.when@10: invalid operation: == (mismatched types string and int)"}},
		{"unknown name", Rule{Name: "r", When: "leaderless", Actions: acts("script"), Verify: &Verify{When: `!leaderles`, Within: time.Minute}},
			[]string{"rules[0].verify.when@1: unknown name leaderles"}},
		{"unknown on_failure", Rule{Name: "r", When: "leaderless", Actions: acts("script"), Verify: &Verify{When: "!leaderless", Within: time.Minute, OnFailure: acts("pgae")}},
			[]string{`rules[0].verify.on_failure[0]@-1: unknown action "pgae" (defined: [page script])`}},
		{"scheduled", Rule{Name: "r", When: "true", Schedule: "0 9 * * *", Actions: acts("script"), Verify: &Verify{When: "!leaderless", Within: time.Minute}},
			[]string{"rules[0].verify@-1: does not apply to a scheduled rule"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs, _ := Check([]Rule{tc.rule}, nil, known)
			var got []string
			for _, e := range errs {
				got = append(got, fmt.Sprintf("%s@%d: %s", e.Path, e.Offset, e.Msg))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("got %q, want %q...", got[i], tc.want[i])
				}
			}
		})
	}
}
