package actions

import (
	"strings"
	"testing"
)

// A template is checked at load on a sample: what only some notifications
// hold (a leader id, a label) passes, what none can hold is an error.
func TestCheckTemplate(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string // "" for no error, else a part of the message
	}{
		{text: `{{ .Cluster }} {{ .Event.eventType }}`},
		{text: `{{ .Event.leaderId }}`},        // a resolve has it
		{text: `{{ .Event.change_kind }}`},     // a failover has it
		{text: `{{ .Labels.region }}`},         // another cluster may have it
		{text: `{{ index .Event "members" }}`}, // index reads an absent key as empty
		{text: `{{ .Clustr }}`, want: "unknown field .Clustr"},
		{text: `{{ .cluster }}`, want: "did you mean .Cluster?"},
		{text: `{{ .Event.leaderID }}`, want: `the event has no key "leaderID": did you mean "leaderId"?`},
		{text: `{{ .Event.members }}`, want: `the event has no key "members" (keys: `},
		{text: `{{ range .Unreachable }}{{ $.Event.leaderID }}{{ end }}`, want: `the event has no key "leaderID"`},
		{text: `{{ .Event.term }}`, want: `the event has no key "term"`}, // a split brain's, which no rule sees
		{text: `x {{ join "," .Event.peers }}`, want: `the event has no key "peers"`},
		{text: `{{ .Event.leaderId }} {{ .Event.region }}`, want: `the event has no key "region"`}, // past the firing's leaderId
		{text: `{{ if eq .Status "resolved" }}{{ .Clustr }}{{ end }}`, want: "unknown field .Clustr"},
		{text: `{{ if .Failure.Error }}{{ .Failure.Eror }}{{ end }}`, want: "Eror"},
	} {
		msg, _, ok := checkTemplate(tc.text)
		switch {
		case tc.want == "" && !ok:
			t.Errorf("%s: %s, want no error", tc.text, msg)
		case tc.want != "" && (ok || !strings.Contains(msg, tc.want)):
			t.Errorf("%s: %q (ok %t), want an error with %q", tc.text, msg, ok, tc.want)
		}
	}
}
