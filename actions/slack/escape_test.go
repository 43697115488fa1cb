package slack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/slack"
)

// hostileID tries a mention, a link, a forged line and a terminal escape.
const hostileID = "<!channel> <https://evil.example|runbook> & co\n*FIRING* ctrl1\x1b[31m"

// escapedID is hostileID as mrkdwn shows it literally.
const escapedID = `&lt;!channel&gt; &lt;https://evil.example|runbook&gt; &amp; co\n*FIRING* ctrl1\x1b[31m`

// Whatever comes from an event reaches the message as literal text, in the
// default message and in what a text template inserts; the template's own
// markup works.
func TestEventTextIsEscaped(t *testing.T) {
	n := notification(actions.StatusResolved)
	n.LeaderID, n.PreviousLeaderID = hostileID, "ctrl1"
	n.Event = map[string]any{"leaderId": hostileID}
	n.Unreachable = []string{"a&b", "<c>"}
	cases := []struct {
		name, template, want string
	}{
		{"default", "", "🟢 [RESOLVED] leaderless-30s on ziti-prod: leader " + escapedID + " (was ctrl1)"},
		{"a field", "<!here> new leader {{ .LeaderID }}", "<!here> new leader " + escapedID},
		{"an event field", `{{ .Event.leaderId }} in {{ .Cluster }}`, escapedID + " in ziti-prod"},
		{"a list", `<https://runbook.example|runbook>: {{ join ", " .Unreachable }}`, "<https://runbook.example|runbook>: a&amp;b, &lt;c&gt;"},
		{"the template's own lines", "line 1\n{{ printf \"%s\" .LeaderID }}", "line 1\n" + escapedID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAction(t, slack.Config{WebhookURL: "https://hooks.slack.example/services/T0/B0/X", Text: tc.template})
			msg, note := a.Build(&n)
			if note != "" {
				t.Fatal(note)
			}
			if msg.Text != tc.want {
				t.Errorf("text %q\nwant %q", msg.Text, tc.want)
			}
			raw, _ := json.Marshal(msg)
			_, fields := parts(validBlockKit(t, raw, actions.StatusResolved))
			if fields[1] != "*Leader*\n"+escapedID {
				t.Errorf("leader field %q", fields[1])
			}
			if strings.Contains(string(raw), `\u001b`) || strings.Contains(string(raw), "<!channel>") {
				t.Errorf("the message carries the raw id: %s", raw)
			}
		})
	}
}
