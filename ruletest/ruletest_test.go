package ruletest

import (
	"os"
	"path/filepath"
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
		var msgs []string
		for _, p := range checkEvent("e", tc.ev) {
			msgs = append(msgs, p.path+": "+p.msg)
		}
		got := strings.Join(msgs, "; ")
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

// A problem in a test file is placed as the config's are: file, line and
// column of the key, then the key's path.
func TestLoadPlacesProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t_test.yaml")
	src := `config: rules.yaml
tests:
  - name: a
    events:
      - {at: 0s, eventType: state.has_leader, leaderId: c1}
      - {at: 5s, eventType: state.leaderles}
    expect:
      - {at: 5s, rule: r, outcome: fird}
  - events:
      - {at: 1s, eventType: state.has_leader}
      - {at: 0s, eventType: state.is_leaderless}
    expect: []
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		path + `:6:29: tests[0].events[1].eventType: unknown event type "state.leaderles"`,
		path + `:8:36: tests[0].expect[0].outcome: "fird": want fired`,
		path + `:9:5: tests[1].name: is required`,
		path + `:10:9: tests[1].events[0]: state.has_leader needs leaderId`,
		path + `:11:14: tests[1].events[1].at: 0s is before the previous event`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}

// An offset that is not one is placed at its line, with the others.
func TestLoadPlacesBadOffsets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t_test.yaml")
	src := "config: rules.yaml\ntests:\n  - name: a\n    events:\n      - {at: 5, eventType: state.is_leaderless}\n    until: 1 minute\n    expect: []\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	for _, want := range []string{path + `:5: "5" is not an offset`, path + `:6: "1 minute" is not an offset`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
}

// A start without a zone is in the given one, on either side of a DST
// change; one with a zone keeps it; a bad one is placed at its line.
func TestStartIn(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		start Start
		want  string // UTC, "" for an error
	}{
		{"2026-03-29 01:30", "2026-03-29T00:30:00Z"},
		{"2026-03-29 03:30", "2026-03-29T01:30:00Z"},
		{"2026-03-29T01:30:15.5", "2026-03-29T00:30:15.5Z"},
		{"2026-03-29", "2026-03-28T23:00:00Z"},
		{"2026-03-29T01:30:00Z", "2026-03-29T01:30:00Z"},
		{"2026-03-29 01:30:00+02:00", "2026-03-28T23:30:00Z"},
		{"yesterday", ""},
	} {
		got, err := tc.start.In(berlin)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: %s, want an error", tc.start, got)
			}
			continue
		}
		if err != nil || got.UTC().Format(time.RFC3339Nano) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.start, got.UTC().Format(time.RFC3339Nano), err, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "t_test.yaml")
	src := "config: rules.yaml\ntests:\n  - name: a\n    start: yesterday\n    events:\n      - {at: 0s, eventType: state.is_leaderless}\n    expect: []\n"
	os.WriteFile(path, []byte(src), 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path+`:4: "yesterday" is not a start`) {
		t.Errorf("a bad start: %v", err)
	}
}
