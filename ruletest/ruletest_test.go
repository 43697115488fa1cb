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
