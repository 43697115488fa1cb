package ruletest

import (
	"strings"
	"testing"
	"time"
)

// A step is an event or a window of expected changes, never both; a
// window opens for a while or ends.
func TestCheckEvent(t *testing.T) {
	for _, tc := range []struct {
		name string
		ev   Event
		want string // a problem's text, "" for none
	}{
		{"an event", Event{EventType: "state.has_leader", LeaderID: "a"}, ""},
		{"a window", Event{Expect: &Window{For: Offset(30 * time.Minute), Reason: "upgrade"}}, ""},
		{"its end", Event{Expect: &Window{End: true}}, ""},
		{"a window with no length", Event{Expect: &Window{Reason: "upgrade"}}, "give either for"},
		{"both a length and an end", Event{Expect: &Window{For: Offset(time.Minute), End: true}}, "give either for"},
		{"an event and a window", Event{EventType: "state.has_leader", LeaderID: "a", Expect: &Window{End: true}}, "not both"},
		{"a member's window", Event{Source: "m1", Expect: &Window{End: true}}, "not both"},
		{"neither", Event{}, "unknown event type"},
	} {
		got := strings.Join(checkEvent("e", tc.ev), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, got, tc.want)
		}
	}
}

// An expectation's labels must be among the outcome's, with its values;
// the outcome may have more. Left out, any labels match.
func TestExpectLabels(t *testing.T) {
	got := Got{At: Offset(time.Second), Rule: "r", Outcome: "fired", Labels: map[string]string{"severity": "critical", "env": "prod"}}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"none named", nil, true},
		{"one of them", map[string]string{"severity": "critical"}, true},
		{"all of them", map[string]string{"severity": "critical", "env": "prod"}, true},
		{"another value", map[string]string{"severity": "warning"}, false},
		{"one it lacks", map[string]string{"team": "db"}, false},
	} {
		x := Expect{At: got.At, Rule: "r", Outcome: "fired", Labels: tc.labels}
		if x.matches(got) != tc.want {
			t.Errorf("%s: matches %v, want %v", tc.name, !tc.want, tc.want)
		}
	}
	out := diff([]Got{got}, []Expect{{At: got.At, Rule: "r", Outcome: "fired", Labels: map[string]string{"severity": "warning", "team": "db"}}})
	for _, want := range []string{`{severity="warning", team="db"}`, `{severity="critical", team missing}`} {
		if !strings.Contains(out, want) {
			t.Errorf("the diff lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "env") {
		t.Errorf("the diff shows a label the expectation does not name:\n%s", out)
	}
}
