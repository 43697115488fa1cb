package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/field"
)

// t0 is a Sunday, 01:00 UTC: an hour before the "0 2 * * SUN" window opens.
var t0 = time.Date(2026, 1, 4, 1, 0, 0, 0, time.UTC)

// step is one state event at an offset from t0.
type step struct {
	at   string // offset from t0
	ev   event.Event
	base bool
}

func off(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// leader announces leader (previously prev) at the offset.
func leader(at, id, prev string) step {
	return step{at: at, ev: event.Event{Type: event.HasLeader, LeaderID: id, PreviousLeaderID: prev}}
}

// lost announces a loss of prev at the offset, which truly began at since.
func lost(at, since, prev string) step {
	return step{at: at, ev: event.Event{Type: event.Leaderless, PreviousLeaderID: prev, Since: t0.Add(off(since))}}
}

func baseline(s step) step { s.base = true; return s }

type engineCase struct {
	name    string
	rules   []Rule
	windows map[string]Window
	steps   []step
	until   string
	want    []string // "offset rule outcome[ reason]"
}

func runCase(t *testing.T, tc engineCase) []string {
	t.Helper()
	e, err := New(Options{Rules: tc.rules, Windows: tc.windows, Clusters: []Cluster{{Name: "c1", Labels: map[string]string{"env": "prod"}}, {Name: "zz"}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	out := observeSteps(e, tc.steps, nil)
	if tc.until != "" {
		out = e.Advance(t0.Add(off(tc.until)), out)
	}
	return outcomeLines(out)
}

// observeSteps feeds the steps to e as cluster c1's state events.
func observeSteps(e *Engine, steps []step, out []Outcome) []Outcome {
	for _, s := range steps {
		ev := s.ev
		ev.Source = event.DetectorSource
		ev.Cluster = "c1"
		ev.Time = t0.Add(off(s.at))
		ev.Baseline = s.base
		if ev.Since.IsZero() {
			ev.Since = ev.Time
		}
		out = e.Observe(ev, out)
	}
	return out
}

// outcomeLines describes each outcome as "offset rule outcome[ reason]".
func outcomeLines(out []Outcome) []string {
	got := make([]string, 0, len(out))
	for _, o := range out {
		s := fmt.Sprintf("%s %s %s", o.Time.Sub(t0), o.Rule, o.Kind)
		if o.Reason != "" {
			s += " " + o.Reason
		}
		got = append(got, s)
	}
	return got
}

func acts(names ...string) []string { return names }

func TestEngineSemantics(t *testing.T) {
	leaderless30 := Rule{Name: "l30", When: `type == "state.is_leaderless" && leaderless_for >= duration("30s")`, Actions: acts("page"), OnResolve: acts("page")}
	changed := Rule{Name: "changed", When: `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`, Actions: acts("chat")}
	cases := []engineCase{
		{
			name:  "threshold fires at true start plus threshold, with no event, and resolves",
			rules: []Rule{leaderless30},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("55s", "b", "a")},
			want:  []string{"40s l30 fired", "55s l30 resolved"},
		},
		{
			name:  "strictly greater fires one nanosecond after the threshold",
			rules: []Rule{{Name: "gt", When: `leaderless_for > duration("30s")`, Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a")},
			until: "2m",
			want:  []string{"40.000000001s gt fired"},
		},
		{
			name:  "a loss shorter than the threshold fires nothing",
			rules: []Rule{leaderless30},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("39.999s", "a", "a")},
			until: "5m",
			want:  nil,
		},
		{
			name:  "threshold below the announcement delay fires at the announcement",
			rules: []Rule{{Name: "l1", When: `leaderless_for >= duration("1s")`, Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a")},
			want:  []string{"12s l1 fired"},
		},
		{
			name:  "true at startup does not fire, nor resolve",
			rules: []Rule{{Name: "nl", When: `leaderless`, Actions: acts("page")}},
			steps: []step{baseline(lost("0s", "0s", "")), leader("5s", "a", ""), lost("20s", "18s", "a")},
			want:  []string{"20s nl fired"},
		},
		{
			name:  "a threshold reached after a leaderless start fires",
			rules: []Rule{{Name: "l30b", When: `leaderless_for >= duration("30s")`, Actions: acts("page")}},
			steps: []step{baseline(lost("2s", "0s", ""))},
			until: "1m",
			want:  []string{"30s l30b fired"},
		},
		{
			name:  "fire_on_start fires for a condition true at startup",
			rules: []Rule{{Name: "nl", When: `leaderless`, Actions: acts("page"), FireOnStart: true}},
			steps: []step{baseline(lost("0s", "0s", "")), leader("5s", "a", "")},
			want:  []string{"0s nl fired", "5s nl resolved"},
		},
		{
			name:  "for: fires after the condition held that long",
			rules: []Rule{{Name: "f", When: `leaderless`, For: off("20s"), Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("60s", "b", "a")},
			want:  []string{"32s f fired", "1m0s f resolved"},
		},
		{
			name:  "for: interrupted before it elapses fires nothing",
			rules: []Rule{{Name: "f", When: `leaderless`, For: off("20s"), Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("31s", "b", "a")},
			until: "5m",
			want:  nil,
		},
		{
			name:  "repeat: fires again every period while true",
			rules: []Rule{{Name: "r", When: `leaderless`, Repeat: off("1m"), Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("2m30s", "b", "a")},
			want:  []string{"12s r fired", "1m12s r fired", "2m12s r fired", "2m30s r resolved"},
		},
		{
			name:  "cooldown: a second firing inside the cooldown is suppressed",
			rules: []Rule{{Name: "nl", When: `leaderless`, Cooldown: off("10m"), Actions: acts("page")}},
			steps: []step{
				baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("20s", "b", "a"),
				lost("1m2s", "1m", "b"), leader("1m10s", "c", "b"),
			},
			want: []string{"12s nl fired", "20s nl resolved", "1m2s nl suppressed cooldown"},
		},
		{
			name:  "cooldown edge: a firing exactly when the cooldown ends goes out",
			rules: []Rule{{Name: "nl", When: `leaderless`, Cooldown: off("1m"), Actions: acts("page")}},
			steps: []step{
				baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("20s", "b", "a"),
				lost("1m12s", "1m10s", "b"),
			},
			want: []string{"12s nl fired", "20s nl resolved", "1m12s nl fired"},
		},
		{
			name:  "cooldown edge: one nanosecond before the end is suppressed, then fires at the end if still true",
			rules: []Rule{{Name: "nl", When: `leaderless`, Cooldown: off("1m"), Actions: acts("page")}},
			steps: []step{
				baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), leader("20s", "b", "a"),
				lost("1m11.999999999s", "1m10s", "b"),
			},
			until: "5m",
			want:  []string{"12s nl fired", "20s nl resolved", "1m11.999999999s nl suppressed cooldown", "1m12s nl fired"},
		},
		{
			name: "cooldown_key: cooldowns are kept per key",
			rules: []Rule{{Name: "to", When: `type == "state.has_leader" && previous_leader_id != ""`, Cooldown: off("10m"),
				CooldownKey: "leader_id", Actions: acts("chat")}},
			steps: []step{
				baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "c", "b"), leader("30s", "b", "c"),
			},
			want: []string{"10s to fired", "20s to resolved", "20s to fired", "30s to resolved", "30s to suppressed cooldown"},
		},
		{
			name:    "mute: suppressed while the window is open, fires when it closes if still true",
			rules:   []Rule{{Name: "m", When: `leaderless_for >= duration("30s")`, Mute: []string{"sun"}, Actions: acts("page"), OnResolve: acts("page")}},
			windows: map[string]Window{"sun": {Schedule: "0 2 * * SUN", Duration: off("2h")}},
			steps:   []step{baseline(leader("0s", "a", "")), lost("1h0m32s", "1h0m30s", "a"), leader("3h30m", "b", "a")},
			want:    []string{"1h1m0s m suppressed muted", "3h0m0s m fired", "3h30m0s m resolved"},
		},
		{
			name:    "mute: a condition that ends inside the window never fires",
			rules:   []Rule{{Name: "m", When: `leaderless_for >= duration("30s")`, Mute: []string{"sun"}, Actions: acts("page")}},
			windows: map[string]Window{"sun": {Schedule: "0 2 * * SUN", Duration: off("2h")}},
			steps:   []step{baseline(leader("0s", "a", "")), lost("1h0m32s", "1h0m30s", "a"), leader("1h30m", "b", "a")},
			until:   "5h",
			want:    []string{"1h1m0s m suppressed muted"},
		},
		{
			name:    "mute: a window that opens again before it closes stays open",
			rules:   []Rule{{Name: "m", When: `leaderless_for >= duration("30s")`, Mute: []string{"hourly"}, Actions: acts("page")}},
			windows: map[string]Window{"hourly": {Schedule: "0 * * * *", Duration: off("90m")}},
			steps:   []step{baseline(leader("0s", "a", "")), lost("1h0m32s", "1h0m30s", "a")},
			until:   "30h",
			want:    []string{"1h1m0s m suppressed muted"},
		},
		{
			name:    "mute: the window boundary: open at its start, closed at its end",
			rules:   []Rule{{Name: "nl", When: `leaderless`, Mute: []string{"sun"}, Actions: acts("page")}},
			windows: map[string]Window{"sun": {Schedule: "0 2 * * SUN", Duration: off("2h")}},
			steps: []step{
				baseline(leader("0s", "a", "")), lost("1h", "1h", "a"), leader("1h0m1s", "b", "a"),
				lost("3h", "3h", "b"), leader("3h0m1s", "c", "b"),
			},
			want: []string{"1h0m0s nl suppressed muted", "3h0m0s nl fired", "3h0m1s nl resolved"},
		},
		{
			name:  "repeat: a cooldown longer than the repeat holds each repeat to its end",
			rules: []Rule{{Name: "r", When: `leaderless`, Repeat: time.Minute, Cooldown: off("3m"), Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("10s", "10s", "a")},
			until: "7m",
			want:  []string{"10s r fired", "1m10s r suppressed cooldown", "3m10s r fired", "4m10s r suppressed cooldown", "6m10s r fired"},
		},
		{
			name:  "schedule: level-triggered at each schedule time",
			rules: []Rule{{Name: "report", Schedule: "0 9 * * *", When: `!leaderless`, Actions: acts("chat")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("24h", "24h", "a"), leader("33h", "b", "a")},
			until: "60h",
			want:  []string{"8h0m0s report fired", "56h0m0s report fired"},
		},
		{
			name:    "schedule: a time inside a mute window or cooldown is suppressed, and not made up when it ends",
			rules:   []Rule{{Name: "report", Schedule: "30 2 * * *", When: `true`, Mute: []string{"sun"}, Cooldown: off("25h"), Actions: acts("chat")}},
			windows: map[string]Window{"sun": {Schedule: "0 2 * * SUN", Duration: off("2h")}},
			steps:   []step{baseline(leader("0s", "a", ""))},
			until:   "50h",
			want:    []string{"1h30m0s report suppressed muted", "25h30m0s report fired", "49h30m0s report suppressed cooldown"},
		},
		{
			name:  "leader_changes: fires at the third change, resolves when the first leaves the window",
			rules: []Rule{{Name: "flap", When: `leader_changes(duration("10m")) >= 3`, Actions: acts("page"), OnResolve: acts("page")}},
			steps: []step{
				baseline(leader("0s", "a", "")), leader("1m", "b", "a"), lost("2m", "2m", "b"), leader("3m", "c", "b"),
				leader("4m", "c", "c"), leader("5m", "d", "c"),
			},
			until: "30m",
			want:  []string{"5m0s flap fired", "11m0s flap resolved"},
		},
		{
			name:  "a direct change A to B to C is two occurrences of a state rule",
			rules: []Rule{changed},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "c", "b"), lost("30s", "28s", "c")},
			want:  []string{"10s changed fired", "20s changed resolved", "20s changed fired", "30s changed resolved"},
		},
		{
			name:  "a repeat of the current state is not a new occurrence of a state rule",
			rules: []Rule{changed},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "b", "a"), lost("30s", "28s", "b")},
			want:  []string{"10s changed fired", "30s changed resolved"},
		},
		{
			name:  "a repeat of a change is not another leader change",
			rules: []Rule{{Name: "flap2", When: `leader_changes(duration("10m")) >= 2`, Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "b", "a")},
			until: "30m",
			want:  nil,
		},
		{
			name:  "a repeat of a loss dated later keeps its true start",
			rules: []Rule{{Name: "l5m", When: `leaderless_for >= duration("5m")`, Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("12s", "10s", "a"), lost("2m", "2m", "a")},
			until: "30m",
			want:  []string{"5m10s l5m fired"},
		},
		{
			name:  "a firing is resolved even when the next occurrence was held by its cooldown",
			rules: []Rule{{Name: "chg", When: changed.When, Cooldown: off("10m"), Actions: acts("page"), OnResolve: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "c", "b"), lost("30s", "28s", "c")},
			want:  []string{"10s chg fired", "20s chg resolved", "20s chg suppressed cooldown"},
		},
		{
			name:  "a firing resolves when the next occurrence begins, even one that ends before its for:",
			rules: []Rule{{Name: "chg", When: changed.When, For: off("1m"), Actions: acts("page"), OnResolve: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("2m", "c", "b"), lost("2m30s", "2m28s", "c")},
			want:  []string{"1m10s chg fired", "2m0s chg resolved"},
		},
		{
			name:  "a rule that does not read the state fires once while it holds",
			rules: []Rule{{Name: "two", When: `leader_changes(duration("1h")) >= 1`, Actions: acts("page")}},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "c", "b")},
			want:  []string{"10s two fired"},
		},
		{
			name:  "event and labels variables",
			rules: []Rule{{Name: "ev", When: `event.leaderId == "b" && labels.env == "prod" && cluster == "c1"`, Actions: acts("chat")}},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a"), leader("20s", "c", "b")},
			want:  []string{"10s ev fired", "20s ev resolved"},
		},
		{
			name:  "a label the cluster lacks reads as empty",
			rules: []Rule{{Name: "lbl", When: `labels.region == "" && labels["env"] == "prod"`, FireOnStart: true, Actions: acts("a")}},
			steps: []step{baseline(leader("0s", "a", ""))},
			want:  []string{"0s lbl fired"},
		},
		{
			name:  "rules limited to other clusters never run",
			rules: []Rule{{Name: "other", When: `true`, Clusters: []string{"c1"}, FireOnStart: true, Actions: acts("a")}, {Name: "x", When: "true", Clusters: []string{"zz"}, FireOnStart: true, Actions: acts("a")}},
			steps: []step{baseline(leader("0s", "a", ""))},
			want:  []string{"0s other fired"},
		},
		{
			name:  "a run-time error counts as false",
			rules: []Rule{{Name: "oops", When: `members[5] == "x"`, Actions: acts("a")}},
			steps: []step{baseline(leader("0s", "a", "")), leader("10s", "b", "a")},
			want:  nil,
		},
		{
			name:  "trigger tells events from time",
			rules: []Rule{{Name: "bytime", When: `trigger == "time" && leaderless_for >= duration("5s")`, Actions: acts("a")}},
			steps: []step{baseline(leader("0s", "a", "")), lost("2s", "0s", "a")},
			until: "1m",
			want:  []string{"5s bytime fired"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runCase(t, tc)
			if !slices.Equal(got, tc.want) {
				t.Errorf("outcomes\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(tc.want, " | "))
			}
		})
	}
}

// A threshold written as arithmetic of constants, or with the duration
// variable inside arithmetic, wakes the rule when the comparison flips,
// as one written as a single duration("90s") does.
func TestArithmeticThresholdsWakeOnTime(t *testing.T) {
	loss := []step{baseline(leader("0s", "a", "")), lost("10s", "10s", "a")} // since 10s
	for _, tc := range []struct {
		when  string
		steps []step
		want  string
	}{
		{`leaderless_for >= 2 * duration("30s")`, loss, "1m10s"},
		{`leaderless_for >= duration("1m") + duration("30s")`, loss, "1m40s"},
		{`leaderless_for + duration("10s") >= duration("1m")`, loss, "1m0s"},
		{`duration("1m") - leaderless_for <= duration("20s")`, loss, "50s"},
		{`leaderless_for * 2 > duration("1m")`, loss, "40.000000001s"},
		{`3 * leaderless_for >= duration("1s") + duration("1ns")`, loss, "10.333333334s"},
		{`!leaderless && leader_for >= 3 * duration("1m")`, []step{baseline(leader("0s", "a", ""))}, "3m0s"},
		// One of the two is 0 at any time: the sum flips where the other
		// reaches the whole threshold, not where both would.
		{`leaderless_for + leader_for >= 2 * duration("30s")`, loss, "1m10s"},
		{`leaderless_for + leader_for >= 2 * duration("30s")`, []step{baseline(leader("0s", "a", ""))}, "1m0s"},
		{`leaderless && leaderless_for - leader_for >= 2 * duration("10s")`, loss, "30s"},
	} {
		got := runCase(t, engineCase{rules: []Rule{{Name: "x", When: tc.when, Actions: acts("page")}}, steps: tc.steps, until: "10m"})
		if want := []string{tc.want + " x fired"}; !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", tc.when, got, want)
		}
	}
}

func TestEngineOutcomeDetails(t *testing.T) {
	e, err := New(Options{Rules: []Rule{{Name: "l30", When: `leaderless_for >= duration("30s")`, Actions: acts("chat", "page"), OnResolve: acts("chat")}},
		Clusters: []Cluster{{Name: "c1", Labels: map[string]string{"env": "prod"}}}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(at time.Duration, typ, id, prev string, since time.Duration) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id, PreviousLeaderID: prev, Since: t0.Add(since)}
	}
	out := e.Observe(mk(0, event.HasLeader, "a", "", 0), nil)
	out = e.Observe(mk(12*time.Second, event.Leaderless, "", "a", 10*time.Second), out)
	if at, ok := e.Deadline(); !ok || !at.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("Deadline = %v %v, want t0+40s", at, ok)
	}
	out = e.Advance(t0.Add(time.Hour), out)
	out = e.Observe(mk(2*time.Hour, event.HasLeader, "b", "a", 2*time.Hour), out)
	if len(out) != 2 {
		t.Fatalf("got %d outcomes, want 2: %+v", len(out), out)
	}
	f, r := out[0], out[1]
	if f.Kind != Fired || !slices.Equal(f.Actions, []string{"chat", "page"}) || f.LeaderlessFor != 30*time.Second ||
		!f.Leaderless || f.PreviousLeaderID != "a" || f.Trigger != TriggerTime || f.Labels["env"] != "prod" {
		t.Errorf("fired outcome = %+v", f)
	}
	if r.Kind != Resolved || !slices.Equal(r.Actions, []string{"chat"}) || r.LeaderID != "b" || r.Trigger != TriggerEvent {
		t.Errorf("resolved outcome = %+v", r)
	}
	if _, ok := e.Deadline(); ok {
		t.Error("an idle engine with a leader and no schedule should have no deadline")
	}
}

func TestCheckErrors(t *testing.T) {
	rs := []Rule{
		{Name: "a", When: `leadr_id == "x"`, Actions: acts("page")},
		{Name: "a", When: `leader_id == 1`, Actions: acts("nope")},
		{Name: "b", When: `leader_changes(leaderless_for) > 1`, Actions: acts("page"), Mute: []string{"nowin"}},
		{Name: "c", When: `leaderless_for >= duration("30x")`, Schedule: "61 * * * *", Actions: acts("page"), Repeat: time.Minute},
		{Name: "d", When: `"not a bool"`, Actions: acts("page")},
	}
	windows := map[string]Window{"w": {Schedule: "bad", Duration: 0}, "e": {Duration: time.Hour},
		"i": {Schedule: "@every 1h", Duration: 10 * time.Minute}}
	errs, _ := Check(rs, windows, Known{Actions: map[string]bool{"page": true}})
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s@%d: %s", e.Path, e.Offset, e.Msg))
	}
	want := []string{
		`windows.e.schedule@-1: is required`,
		`windows.i.schedule@-1: "@every 1h" has no time of day`,
		`windows.w.schedule@-1: invalid cron schedule "bad": 1 field, want 5`,
		`windows.w.duration@-1: must be positive`,
		`rules[0].when@0: unknown name leadr_id`,
		`rules[1].name@-1: duplicate rule name "a" (also rules[0])`,
		`rules[1].when@10: invalid operation: == (mismatched types string and int)`,
		`rules[1].actions[0]@-1: unknown action "nope" (defined: [page])`,
		`rules[2].when@0: leader_changes needs a positive constant duration`,
		`rules[2].mute[0]@-1: unknown window "nowin" (defined: [e i w])`,
		`rules[3].when@18: invalid duration "30x"`,
		`rules[3].schedule@0: invalid cron schedule "61 * * * *": the minute field "61"`,
		`rules[3].repeat@-1: does not apply to a scheduled rule`,
		`rules[4].when@-1: expected bool, but got string`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got: %s\nwant: %s...", i, got[i], want[i])
		}
	}
}

func TestNewReturnsFieldList(t *testing.T) {
	_, err := New(Options{Rules: []Rule{{Name: "x", When: "nope", Actions: acts("a")}}})
	var list field.List
	if !errors.As(err, &list) || len(list) != 1 || list[0].Path != "rules[0].when" {
		t.Fatalf("err = %#v, want a field.List at rules[0].when", err)
	}
}

func TestCheckWarnings(t *testing.T) {
	_, warns := Check([]Rule{
		{Name: "a", When: `leaderless_for.Seconds() > 30`, Actions: acts("p")},
		{Name: "b", When: `now.Hour() > 9`, Actions: acts("p")},
		{Name: "c", When: `true`, CooldownKey: "leader_id", Actions: acts("p")},
	}, nil, Known{})
	if len(warns) != 3 {
		t.Fatalf("got %d warnings, want 3: %v", len(warns), warns)
	}
}

func TestGate(t *testing.T) {
	cases := []struct {
		when       string
		typ        string
		leaderless bool
		admits     bool
	}{
		{`type == "state.is_leaderless" && leaderless_for > duration("1s")`, event.HasLeader, false, false},
		{`type == "state.is_leaderless" && leaderless_for > duration("1s")`, event.Leaderless, true, true},
		{`"state.has_leader" == type`, event.Leaderless, true, false},
		{`leaderless and cluster == "x"`, event.HasLeader, false, false},
		{`!leaderless && leader_for > duration("1h")`, event.Leaderless, true, false},
		{`type == "state.is_leaderless" || leader_id == "a"`, event.HasLeader, false, true}, // not a conjunct
		{`not leaderless`, event.HasLeader, false, true},
	}
	for _, tc := range cases {
		prog, _, errs := compileExpr(tc.when, true)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", tc.when, errs)
		}
		if got := gateOf(prog.Node()).admits(tc.typ, tc.leaderless); got != tc.admits {
			t.Errorf("%s: admits(%s, %v) = %v, want %v", tc.when, tc.typ, tc.leaderless, got, tc.admits)
		}
	}
}

// At DST changes a scheduled rule and a mute window follow cronie: the
// rule due at 02:30, a time the spring-forward skips, fires at the change;
// the rule due at 01:30, which the fall-back repeats, fires once; and the
// window opening at 02:00 on the spring-forward Sunday mutes from the change
// for its two hours.
func TestEngineDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	run := func(from, lostAt, until time.Time) []string {
		e, err := New(Options{Location: ny,
			Windows: map[string]Window{"maint": {Schedule: "0 2 * * SUN", Duration: 2 * time.Hour}},
			Rules: []Rule{
				{Name: "at-0230", Schedule: "30 2 * * *", When: "true", Actions: acts("a")},
				{Name: "at-0130", Schedule: "30 1 * * *", When: "true", Actions: acts("a")},
				{Name: "lost", When: "leaderless", Mute: []string{"maint"}, Actions: acts("page")},
			}})
		if err != nil {
			t.Fatal(err)
		}
		out := e.Observe(event.Event{Source: event.DetectorSource, Cluster: "c", Time: from, Type: event.HasLeader, LeaderID: "a", Since: from}, nil)
		out = e.Advance(lostAt, out)
		out = e.Observe(event.Event{Source: event.DetectorSource, Cluster: "c", Time: lostAt, Type: event.Leaderless, PreviousLeaderID: "a", Since: lostAt}, out)
		out = e.Advance(until, out)
		var got []string
		for _, o := range out {
			got = append(got, o.Rule+" "+o.Kind+"@"+o.Time.In(ny).Format("01-02T15:04Z07:00"))
		}
		return got
	}
	// The loss at 03:30 EDT is inside the window opened at the change.
	got := run(time.Date(2026, 3, 7, 12, 0, 0, 0, ny), time.Date(2026, 3, 8, 3, 30, 0, 0, ny), time.Date(2026, 3, 8, 12, 0, 0, 0, ny))
	want := []string{"at-0130 fired@03-08T01:30-05:00", "at-0230 fired@03-08T03:00-04:00", "lost suppressed@03-08T03:30-04:00", "lost fired@03-08T05:00-04:00"}
	if !slices.Equal(got, want) {
		t.Errorf("spring forward: got %v\nwant %v", got, want)
	}
	got = run(time.Date(2026, 10, 31, 12, 0, 0, 0, ny), time.Date(2026, 11, 1, 0, 30, 0, 0, ny), time.Date(2026, 11, 1, 12, 0, 0, 0, ny))
	want = []string{"lost fired@11-01T00:30-04:00", "at-0130 fired@11-01T01:30-04:00", "at-0230 fired@11-01T02:30-05:00"}
	if !slices.Equal(got, want) {
		t.Errorf("fall back: got %v\nwant %v", got, want)
	}
}

// Schedules follow the configured time zone, and CRON_TZ= overrides it per
// schedule.
func TestScheduleTimeZones(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Location: berlin, Rules: []Rule{
		{Name: "berlin-9", Schedule: "0 9 * * *", When: "true", Actions: acts("a")},
		{Name: "tokyo-9", Schedule: "CRON_TZ=Asia/Tokyo 0 9 * * *", When: "true", Actions: acts("a")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // winter: Berlin is UTC+1, Tokyo UTC+9
	out := e.Observe(event.Event{Source: event.DetectorSource, Cluster: "c", Time: start, Type: event.HasLeader, LeaderID: "a", Since: start}, nil)
	out = e.Advance(start.Add(24*time.Hour), out)
	var got []string
	for _, o := range out {
		got = append(got, o.Rule+"@"+o.Time.UTC().Format("15:04"))
	}
	if want := []string{"berlin-9@08:00", "tokyo-9@00:00"}; !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v", got, want)
	}
}
