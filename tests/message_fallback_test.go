package tests

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// A message template that passes the check at load can still fail on a
// real notification: a firing's event has no leaderId, nor is a list as
// long as a template may take it to be. The message is sent all the same, with the kind's default for
// that part, and the audit record of the delivery says which template
// failed and why.
func TestMessageTemplateFailureSendsTheDefault(t *testing.T) {
	chat, card := &bodies{}, &bodies{}
	chatURL, cardURL := httptest.NewServer(chat), httptest.NewServer(card)
	defer chatURL.Close()
	defer cardURL.Close()
	dir := t.TempDir()
	config := fenceConfig(t, dir, fmt.Sprintf(`  chat: {type: slack, webhook_url: "%s/services/T0/B0/X", text: "new leader {{ .Event.leaderId }}"}
  card: {type: teams, webhook_url: "%s/card", title: "{{ index .Unreachable 5 }} is down"}`, chatURL.URL, cardURL.URL),
		`  - {name: gone, when: leaderless, actions: [chat, card]}`)
	d := startDaemon(t, config)
	postEvent(t, d, "state.has_leader", "m1")
	postEvent(t, d, "state.is_leaderless", "")
	audit := func() string { return strings.Join(auditOf(t, filepath.Join(dir, "audit.jsonl"), "gone"), "\n") }
	waitFor(t, "both messages, audited", func() bool {
		return chat.count() == 1 && card.count() == 1 && strings.Count(audit(), "attempt:ok") == 2
	}, d)

	for _, tc := range []struct {
		name     string
		got      *bodies
		sent     string // the default, in the body
		notSent  string // what the template would have put there
		auditHas string // in the delivery's audit detail
	}{
		{"slack", chat, `[FIRING] gone on c1`, "new leader",
			`action chat: template text failed: text:1:20: at <.Event.leaderId>: map has no entry for key "leaderId": the default text sent`},
		{"teams", card, `[FIRING] gone on c1`, "is down",
			`action card: template title failed: title:1:3: at <index .Unreachable 5>: error calling index: index out of range: 5: the default title sent`},
	} {
		body := tc.got.all()[0]
		if !strings.Contains(body, tc.sent) || strings.Contains(body, tc.notSent) {
			t.Errorf("%s: the message is not the default (%q):\n%s", tc.name, tc.sent, body)
		}
		if !strings.Contains(grepLines(audit(), "attempt:ok"), tc.auditHas) {
			t.Errorf("%s: no successful attempt's audit detail says %s:\n%s", tc.name, tc.auditHas, audit())
		}
	}
}

// `leaderhook fire` sends the default text too, and prints a note saying
// which template failed and why.
func TestFireNotesTheTemplateThatFailed(t *testing.T) {
	chat := &bodies{}
	srv := httptest.NewServer(chat)
	defer srv.Close()
	dir := t.TempDir()
	config := writeConfig(t, dir, fmt.Sprintf(`  chat: {type: slack, webhook_url: "%s/services/T0/B0/X", text: "new leader {{ .Event.leaderId }}"}`, srv.URL),
		`  - {name: gone, when: leaderless, actions: [chat]}`)

	out, stderr, code := run(t, nil, "fire", "-c", config, "chat")
	note := `note: action chat: template text failed: text:1:20: at <.Event.leaderId>: map has no entry for key "leaderId": the default text sent`
	if code != 0 || !strings.Contains(out, note+"\n") || !strings.Contains(out, "delivered firing to chat") {
		t.Errorf("fire: exit %d, want 0 with\n%s\n%s%s", code, note, out, stderr)
	}
	if got := chat.all(); len(got) != 1 || !strings.Contains(got[0], "[FIRING] leaderhook-fire on c1") {
		t.Errorf("the receiver got %q, want the default text", got)
	}
}
