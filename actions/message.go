package actions

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/leaderhook/leaderhook/event"
)

// Templates are checked on samples at load, but one can still fail
// on a real notification (a key the event lacks, a list too short). A
// message people read (a chat text, a mail's subject and body, a card's
// title, an alert's annotations and summary) is then sent with the kind's
// default for that part, and the audit detail says why: the news of a
// leader loss must not be lost to a template's typo.
//
// Templates that drive machines (a webhook's body and headers, a shell
// action's command and env) do not fall back, and keep failing the
// delivery: a failover script must never run with an argument put in
// place of the one its author wrote, nor a receiver get a body it was
// not written for.

// RenderMessage renders t, a template of text people read, with n. When t
// fails on n, or renders only whitespace and blankOK is false, it returns
// def instead (nothing when def is "": the part has no default and is
// left out), and note says which template of which action failed and
// why, for the audit detail (see Outcome.Noted). A nil t renders def.
func RenderMessage(action string, t *template.Template, n *Notification, def string, blankOK bool) (text, note string) {
	if t == nil {
		return def, ""
	}
	var b strings.Builder
	err := t.Execute(&b, n)
	if err == nil && (blankOK || strings.TrimSpace(b.String()) != "") {
		return b.String(), ""
	}
	instead := "the default " + t.Name() + " sent"
	if def == "" {
		instead = "left out"
	}
	return def, FallbackNote(action, t, err, "rendered nothing", instead)
}

// FallbackNote says that template t of action rendered wrong on a
// notification (err, or why when err is nil) and what was sent instead,
// on one line, for the audit detail. Kinds whose templates must render
// one of a few values (a PagerDuty severity) note their fallback with it.
func FallbackNote(action string, t *template.Template, err error, why, instead string) string {
	if err != nil {
		// text/template's message without what repeats the template's
		// name: "text:1:3: at <.Event.x>: map has no entry for key "x"".
		msg := strings.TrimPrefix(err.Error(), "template: ")
		why = "failed: " + strings.Replace(msg, `executing "`+t.Name()+`" `, "", 1)
	}
	return event.Printable(fmt.Sprintf("action %s: template %s %s: %s", action, t.Name(), why, instead))
}

// JoinNotes joins the notes that are not empty, for an audit detail.
func JoinNotes(notes ...string) string {
	var kept []string
	for _, s := range notes {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, "; ")
}

// Noted puts notes (what the templates rendered wrong, see RenderMessage)
// before the outcome's detail, so that the audit log keeps them whether
// the attempt succeeded or not. notes must already be redacted.
func (o Outcome) Noted(notes string) Outcome {
	o.Detail = JoinNotes(notes, o.Detail)
	return o
}
