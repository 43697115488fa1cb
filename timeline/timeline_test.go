package timeline

import (
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

var (
	t0 = time.Date(2026, 11, 24, 13, 56, 38, 379_000_000, time.UTC)
	t1 = t0.Add(20 * time.Second)
)

// indent lines an action up under its rule.
var indent = strings.Repeat(" ", 42)

const hostile = "ctrl9\n2026-11-24 13:56:40.000  ziti         leader ctrl1 elected\x1b[2J"

// text writes what add writes through a text writer.
func text(t *testing.T, add func(w *Writer)) string {
	t.Helper()
	var b strings.Builder
	w := NewText(&b)
	add(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Ordinary ids print as they are; anything not printable is escaped, so
// each record stays one line and no escape sequence reaches the terminal.
func TestTextStates(t *testing.T) {
	cases := []struct {
		name string
		ev   event.Event
		want string
	}{
		{"elected", event.Event{Time: t0, Cluster: "ziti", Type: event.HasLeader, LeaderID: "ctrl1"},
			"2026-11-24 13:56:38.379  ziti         leader ctrl1 elected\n"},
		{"non-ASCII stays", event.Event{Time: t0, Cluster: "zürich", Type: event.HasLeader, LeaderID: "contrôleur-1", PreviousLeaderID: "東京"},
			"2026-11-24 13:56:38.379  zürich       leader contrôleur-1 (was 東京)\n"},
		{"lost", event.Event{Time: t1, Since: t0, Cluster: "ziti", Type: event.Leaderless, PreviousLeaderID: "ctrl1"},
			"2026-11-24 13:56:58.379  ziti         LEADER LOST (was ctrl1), leaderless since 2026-11-24 13:56:38.379\n"},
		{"hostile leader", event.Event{Time: t0, Cluster: "ziti", Type: event.HasLeader, LeaderID: hostile, Baseline: true},
			`2026-11-24 13:56:38.379  ziti         start: leader ctrl9\n2026-11-24 13:56:40.000  ziti         leader ctrl1 elected\x1b[2J` + "\n"},
		{"hostile previous leader", event.Event{Time: t0, Since: t0, Cluster: "ziti", Type: event.Leaderless, PreviousLeaderID: "a\r\x1b]0;title\x07"},
			`2026-11-24 13:56:38.379  ziti         LEADER LOST (was a\r\x1b]0;title\a)` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := text(t, func(w *Writer) { w.State(tc.ev) }); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestTextOutcomesAndActions(t *testing.T) {
	fired := rules.Outcome{Time: t1, Cluster: "ziti", Rule: "gone-20s", Kind: rules.Fired, Actions: []string{"page"},
		Trigger: rules.TriggerTime, Leaderless: true, LeaderlessFor: 20 * time.Second, PreviousLeaderID: hostile}
	cases := []struct {
		name string
		add  func(w *Writer)
		want string
	}{
		{"fired", func(w *Writer) { w.Outcome(fired) },
			"2026-11-24 13:56:58.379  ziti           rule gone-20s FIRED after 20s without a leader -> page [time]\n"},
		{"would run", func(w *Writer) {
			w.Action(fired, "failover", actions.Rendering{Argv: []string{"/bin/failover", hostile}}, "")
		}, indent + `failover: would run ["/bin/failover" "ctrl9\n2026-11-24 13:56:40.000  ziti         leader ctrl1 elected\x1b[2J"]` + "\n"},
		{"would post", func(w *Writer) {
			w.Action(fired, "chat", actions.Rendering{Method: "POST", URL: "https://hooks.example/REDACTED", Body: "leader: " + hostile}, "")
		}, indent + `chat: would POST https://hooks.example/REDACTED leader: ctrl9\n2026-11-24 13:56:40.000  ziti         leader ctrl1 elected\x1b[2J` + "\n"},
		{"a long body is cut between runes", func(w *Writer) {
			w.Action(fired, "chat", actions.Rendering{Method: "POST", URL: "https://h/", Body: "x" + strings.Repeat("é", 200)}, "")
		}, indent + "chat: would POST https://h/ x" + strings.Repeat("é", 149) + "…\n"},
		{"a template's fallback", func(w *Writer) {
			w.Action(fired, "chat", actions.Rendering{Method: "POST", URL: "https://h/", Body: "x", Notes: "action chat: template text failed: x\ny: the default text sent"}, "")
		}, indent + "chat: would POST https://h/ x\n" + indent + `chat: note: action chat: template text failed: x\ny: the default text sent` + "\n"},
		{"cannot render", func(w *Writer) { w.Action(fired, "chat", actions.Rendering{}, "render text: bad\nline") },
			indent + `chat: cannot render: render text: bad\nline` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := text(t, tc.add); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// JSON lines carry ids as they came: encoding/json escapes what needs it.
func TestJSONKeepsIDs(t *testing.T) {
	var b strings.Builder
	w := NewJSON(&b)
	w.State(event.Event{Time: t0, Cluster: "ziti", Type: event.HasLeader, LeaderID: hostile})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, `"leaderId":"ctrl9\n2026`) || strings.Contains(got, "\x1b") {
		t.Errorf("got %q", got)
	}
}
