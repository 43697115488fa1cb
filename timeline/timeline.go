// Package timeline writes what the pipeline decided (state changes and rule
// outcomes) as JSON lines or as a timeline for people to read, as
// docs/dry-run.md (Replay) shows them. The timeline writes every string it
// did not make itself through event.Printable: ids come from events, and
// one with a newline or an escape sequence must not forge a line or drive
// the reader's terminal.
package timeline

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Counts summarizes what a writer has seen.
type Counts struct {
	States     int
	Fired      int
	Resolved   int
	Suppressed int
}

// Writer is a pipeline.Sink that writes each record as it comes. Call Flush
// at the end.
type Writer struct {
	w      *bufio.Writer
	json   bool
	err    error
	Counts Counts
}

// NewJSON writes one JSON object per line, as `replay --format json` does.
func NewJSON(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w), json: true} }

// NewText writes a readable timeline.
func NewText(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Flush writes out buffered lines and returns the first write error.
func (t *Writer) Flush() error {
	if err := t.w.Flush(); err != nil && t.err == nil {
		t.err = err
	}
	return t.err
}

type stateJSON struct {
	Kind             string `json:"kind"`
	Time             string `json:"time"`
	Cluster          string `json:"cluster"`
	EventType        string `json:"eventType"`
	LeaderID         string `json:"leaderId,omitempty"`
	PreviousLeaderID string `json:"previousLeaderId,omitempty"`
	Since            string `json:"since,omitempty"`
	Baseline         bool   `json:"baseline,omitempty"`
}

type ruleJSON struct {
	Kind             string   `json:"kind"`
	Time             string   `json:"time"`
	Cluster          string   `json:"cluster"`
	Rule             string   `json:"rule"`
	Outcome          string   `json:"outcome"`
	Reason           string   `json:"reason,omitempty"`
	Actions          []string `json:"actions"`
	LeaderID         string   `json:"leader_id"`
	LeaderlessForMS  int64    `json:"leaderless_for_ms"`
	PreviousLeaderID string   `json:"previous_leader_id,omitempty"`
	Trigger          string   `json:"trigger"`
}

// State writes a state change.
func (t *Writer) State(ev event.Event) {
	t.Counts.States++
	if t.json {
		t.writeJSON(stateJSON{
			Kind: "state", Time: ev.Time.Format(event.TimeLayout), Cluster: ev.Cluster, EventType: ev.Type,
			LeaderID: ev.LeaderID, PreviousLeaderID: ev.PreviousLeaderID, Since: ev.Since.Format(event.TimeLayout),
			Baseline: ev.Baseline,
		})
		return
	}
	t.printf("%s  %-12s %s\n", clock(ev.Time), event.Printable(ev.Cluster), stateText(ev))
}

// stateText says what a state change is, in words.
func stateText(ev event.Event) string {
	leader, previous := event.Printable(ev.LeaderID), event.Printable(ev.PreviousLeaderID)
	switch {
	case ev.Baseline && ev.Type == event.HasLeader:
		return "start: leader " + leader
	case ev.Baseline:
		return "start: NO LEADER"
	case ev.Type == event.HasLeader && ev.PreviousLeaderID == "":
		return "leader " + leader + " elected"
	case ev.Type == event.HasLeader && ev.PreviousLeaderID == ev.LeaderID:
		return "leader " + leader + " back"
	case ev.Type == event.HasLeader:
		return "leader " + leader + " (was " + previous + ")"
	}
	what := "LEADER LOST"
	if ev.PreviousLeaderID != "" {
		what += " (was " + previous + ")"
	}
	if !ev.Since.Equal(ev.Time) {
		what += ", leaderless since " + clock(ev.Since)
	}
	return what
}

// Outcome writes a rule outcome.
func (t *Writer) Outcome(o rules.Outcome) {
	switch o.Kind {
	case rules.Fired:
		t.Counts.Fired++
	case rules.Resolved:
		t.Counts.Resolved++
	case rules.Suppressed:
		t.Counts.Suppressed++
	}
	actions := o.Actions
	if actions == nil {
		actions = []string{}
	}
	if t.json {
		t.writeJSON(ruleJSON{
			Kind: "rule", Time: o.Time.Format(event.TimeLayout), Cluster: o.Cluster, Rule: o.Rule,
			Outcome: o.Kind, Reason: o.Reason, Actions: actions, LeaderID: o.LeaderID,
			LeaderlessForMS: o.LeaderlessFor.Milliseconds(), PreviousLeaderID: o.PreviousLeaderID, Trigger: o.Trigger,
		})
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-12s   rule %s ", clock(o.Time), event.Printable(o.Cluster), event.Printable(o.Rule))
	switch o.Kind {
	case rules.Fired:
		b.WriteString("FIRED")
	case rules.Resolved:
		b.WriteString("resolved")
	case rules.Verified:
		b.WriteString("verified")
	case rules.VerifyFailed:
		b.WriteString("VERIFY FAILED")
	default:
		b.WriteString("suppressed (" + event.Printable(o.Reason) + ")")
	}
	if o.Kind != rules.Resolved && o.Leaderless && o.LeaderlessFor > 0 {
		fmt.Fprintf(&b, " after %s without a leader", o.LeaderlessFor.Round(time.Millisecond))
	}
	if o.Kind != rules.Suppressed && len(actions) > 0 {
		b.WriteString(" -> " + event.Printable(strings.Join(actions, ", ")))
	}
	if o.Trigger != rules.TriggerEvent {
		b.WriteString(" [" + event.Printable(o.Trigger) + "]")
	}
	b.WriteByte('\n')
	t.printf("%s", b.String())
}

func (t *Writer) writeJSON(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		t.fail(err)
		return
	}
	data = append(data, '\n')
	if _, err := t.w.Write(data); err != nil {
		t.fail(err)
	}
}

func (t *Writer) printf(format string, args ...any) {
	if _, err := fmt.Fprintf(t.w, format, args...); err != nil {
		t.fail(err)
	}
}

func (t *Writer) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

func clock(t time.Time) string { return t.Format("2006-01-02 15:04:05.000") }

type actionJSON struct {
	Kind      string            `json:"kind"`
	Time      string            `json:"time"`
	Cluster   string            `json:"cluster"`
	Rule      string            `json:"rule"`
	Outcome   string            `json:"outcome"`
	Action    string            `json:"action"`
	Rendering actions.Rendering `json:"rendering"`
	Error     string            `json:"error,omitempty"`
}

// Action writes what an action would do for an outcome (a dry run).
func (t *Writer) Action(o rules.Outcome, action string, r actions.Rendering, errMsg string) {
	if t.json {
		t.writeJSON(actionJSON{Kind: "action", Time: o.Time.Format(event.TimeLayout), Cluster: o.Cluster, Rule: o.Rule,
			Outcome: o.Kind, Action: action, Rendering: r, Error: errMsg})
		return
	}
	indent := strings.Repeat(" ", len("2006-01-02 15:04:05.000")+2+12+1+4)
	action = event.Printable(action)
	if errMsg != "" {
		t.printf("%s%s: cannot render: %s\n", indent, action, event.Printable(errMsg))
		return
	}
	switch {
	case r.Argv != nil: // an action that runs a program
		t.printf("%s%s: would run %q\n", indent, action, r.Argv)
	default:
		t.printf("%s%s: would %s %s %s\n", indent, action, event.Printable(r.Method), event.Printable(r.URL), event.Printable(cut(r.Body, 300)))
	}
	if r.Notes != "" { // a message template failed: the default goes instead
		t.printf("%s%s: note: %s\n", indent, action, event.Printable(r.Notes))
	}
}

// cut shortens s to at most limit bytes and a "…", never inside a rune.
func cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	for limit > 0 && !utf8.RuneStart(s[limit]) {
		limit--
	}
	return s[:limit] + "…"
}
