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

// xstep is a state event (as step) or, with open or end set, a window of
// expected changes opened for that long, or ended, at the offset.
type xstep struct {
	step
	open   string
	reason string
	end    bool
}

func expectWindow(at, open, reason string) xstep {
	return xstep{step: step{at: at}, open: open, reason: reason}
}
func endWindow(at string) xstep { return xstep{step: step{at: at}, end: true} }
func ev(s step) xstep           { return xstep{step: s} }

// feed runs the steps through e and returns the outcomes as runCase does.
func feed(e *Engine, steps []xstep, until string) []string {
	var out []Outcome
	for _, s := range steps {
		at := t0.Add(off(s.at))
		switch {
		case s.open != "":
			out = e.Expect("c1", Expectation{Until: at.Add(off(s.open)), Reason: s.reason}, at, out)
		case s.end:
			out = e.Expect("c1", Expectation{}, at, out)
		default:
			ev := s.ev
			ev.Source, ev.Cluster, ev.Time, ev.Baseline = event.DetectorSource, "c1", at, s.base
			if ev.Since.IsZero() {
				ev.Since = at
			}
			out = e.Observe(ev, out)
		}
	}
	if until != "" {
		out = e.Advance(t0.Add(off(until)), out)
	}
	var got []string
	for _, o := range out {
		got = append(got, fmt.Sprintf("%s %s %s %s", o.Time.Sub(t0), o.Rule, o.Kind, o.Trigger))
	}
	return got
}

func TestExpectedWindows(t *testing.T) {
	change := `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`
	page := Rule{Name: "page", When: change + ` && trigger == "event" && !expected`, Actions: acts("page")}
	chat := Rule{Name: "chat", When: change + ` && trigger == "event" && expected`, Actions: acts("chat")}
	outage := Rule{Name: "outage", When: `leaderless_for >= duration("30s") && !expected`, Actions: acts("page"), OnResolve: acts("page")}
	cases := []struct {
		name  string
		rules []Rule
		steps []xstep
		until string
		want  []string
	}{
		{
			name:  "a change inside a window goes to chat, one outside it to the pager; the end of the window fires nothing",
			rules: []Rule{page, chat},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("1m", "30m", "upgrade"), ev(leader("2m", "b", "a")), ev(leader("40m", "c", "b"))},
			until: "2h",
			want:  []string{"2m0s chat fired event", "31m0s chat resolved time", "40m0s page fired event"},
		},
		{
			name:  "a change rule judged at any trigger: the window's end makes an old change new (hence trigger == \"event\")",
			rules: []Rule{{Name: "level", When: change + ` && !expected`, Actions: acts("page")}},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), ev(leader("1m", "b", "a")), expectWindow("2m", "10m", "")},
			until: "1h",
			want:  []string{"1m0s level fired event", "2m0s level resolved expect", "12m0s level fired time"},
		},
		{
			name:  "an outage that outlasts the window fires when the window ends, with no event",
			rules: []Rule{outage},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("0s", "10m", ""), ev(lost("1m", "1m", "a")), ev(leader("12m", "b", "a"))},
			want:  []string{"10m0s outage fired time", "12m0s outage resolved event"},
		},
		{
			name:  "ending a window early evaluates at once",
			rules: []Rule{outage},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("0s", "1h", ""), ev(lost("1m", "1m", "a")), endWindow("5m")},
			until: "2h",
			want:  []string{"5m0s outage fired expect"},
		},
		{
			name:  "an outage inside the window that ends inside it fires nothing",
			rules: []Rule{outage},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("0s", "10m", ""), ev(lost("1m", "1m", "a")), ev(leader("3m", "b", "a"))},
			until: "1h",
			want:  nil,
		},
		{
			name:  "a new window replaces the open one",
			rules: []Rule{outage},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("0s", "10m", ""), expectWindow("5m", "1m", ""), ev(lost("7m", "7m", "a"))},
			until: "1h",
			want:  []string{"7m30s outage fired time"},
		},
		{
			name:  "the window is half-open: closed at its end",
			rules: []Rule{page, chat},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("0s", "1m", ""), ev(leader("59.999999999s", "b", "a")), ev(leader("1m", "c", "b"))},
			want:  []string{"59.999999999s chat fired event", "1m0s chat resolved time", "1m0s page fired event"},
		},
		{
			name:  "a window declared before the cluster's first state applies to it",
			rules: []Rule{page, chat},
			steps: []xstep{expectWindow("0s", "1h", ""), ev(baseline(leader("1m", "a", ""))), ev(leader("2m", "b", "a"))},
			want:  []string{"2m0s chat fired event"},
		},
		{
			name:  "expected_reason reads the reason while the window is open",
			rules: []Rule{{Name: "why", When: `leaderless && expected_reason == "upgrade"`, Actions: acts("chat")}},
			steps: []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("0s", "10m", "upgrade"), ev(lost("1m", "1m", "a"))},
			until: "1h",
			want:  []string{"1m0s why fired event", "10m0s why resolved time"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Options{Rules: tc.rules, Clusters: []Cluster{{Name: "c1"}}})
			if err != nil {
				t.Fatal(err)
			}
			if got := feed(e, tc.steps, tc.until); !slices.Equal(got, tc.want) {
				t.Errorf("outcomes\n got: %s\nwant: %s", strings.Join(got, " | "), strings.Join(tc.want, " | "))
			}
		})
	}
}

// The end of a window is a deadline only for rules that read it.
func TestExpectedDeadline(t *testing.T) {
	for _, tc := range []struct {
		when     string
		deadline bool
	}{{`leaderless`, false}, {`leaderless && !expected`, true}, {`expected_reason != ""`, true}} {
		e, err := New(Options{Rules: []Rule{{Name: "r", When: tc.when, Actions: acts("a")}}})
		if err != nil {
			t.Fatal(err)
		}
		feed(e, []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("1m", "10m", "")}, "")
		at, ok := e.Deadline()
		if ok != tc.deadline || (ok && !at.Equal(t0.Add(11*time.Minute))) {
			t.Errorf("%s: Deadline() = %v %v, want %v at t0+11m", tc.when, at, ok, tc.deadline)
		}
		if x, open := e.Expected("c1", t0.Add(5*time.Minute)); !open || !x.Since.Equal(t0.Add(time.Minute)) {
			t.Errorf("%s: Expected at 5m = %+v %v", tc.when, x, open)
		}
		if _, open := e.Expected("c1", t0.Add(11*time.Minute)); open {
			t.Errorf("%s: still open at its end", tc.when)
		}
	}
}

// A window survives a restart: the restored engine sees it, and fires at
// its end; an ended window is left out of the snapshot.
func TestExpectedSnapshot(t *testing.T) {
	rs := []Rule{{Name: "outage", When: `leaderless_for >= duration("30s") && !expected`, Actions: acts("page")}}
	clusters := []Cluster{{Name: "c1"}, {Name: "later"}}
	e1, err := New(Options{Rules: rs, Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	feed(e1, []xstep{ev(baseline(leader("0s", "a", ""))), expectWindow("1m", "10m", "upgrade"), ev(lost("2m", "2m", "a"))}, "")
	e1.Expect("later", Expectation{Until: t0.Add(time.Hour)}, t0.Add(2*time.Minute), nil)
	e1.Expect("gone", Expectation{Until: t0.Add(time.Hour)}, t0.Add(2*time.Minute), nil)
	data, err := json.Marshal(e1.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	e2, err := New(Options{Rules: rs, Clusters: clusters})
	if err != nil {
		t.Fatal(err)
	}
	e2.Restore(snap)
	if x, open := e2.Expected("c1", t0.Add(3*time.Minute)); !open || x.Reason != "upgrade" || !x.Until.Equal(t0.Add(11*time.Minute)) {
		t.Errorf("restored window of c1 = %+v %v", x, open)
	}
	if _, open := e2.Expected("later", t0.Add(3*time.Minute)); !open {
		t.Error("the window of a cluster with no state yet was not restored")
	}
	if _, open := e2.Expected("gone", t0.Add(3*time.Minute)); open {
		t.Error("the window of a cluster no longer configured was restored")
	}
	out := e2.Advance(t0.Add(time.Hour), nil)
	if len(out) != 1 || out[0].Kind != Fired || !out[0].Time.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("after restore: %+v", out)
	}
	if x, ok := e2.Snapshot().Expected["c1"]; ok {
		t.Errorf("an ended window is in the snapshot: %+v", x)
	}
}
