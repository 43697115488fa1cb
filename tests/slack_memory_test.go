package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// slackAPI fakes Slack's Web API as far as a bot needs it:
// chat.postMessage answers the channel and a new ts, chat.update edits the
// message of a channel and ts. It keeps every call.
type slackAPI struct {
	*httptest.Server
	mu    sync.Mutex
	calls []slackCall
	next  int // for the next ts
}

// slackCall is one call: the method, the channel and ts it names (the
// message posted, for chat.postMessage), its thread and its text.
type slackCall struct {
	method, channel, ts, thread, text string
}

func newSlackAPI(t *testing.T) *slackAPI {
	s := &slackAPI{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *slackAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Channel  string `json:"channel"`
		Text     string `json:"text"`
		TS       string `json:"ts"`
		ThreadTS string `json:"thread_ts"`
	}
	if err := json.Unmarshal(body, &m); err != nil || r.Header.Get("Authorization") != "Bearer xoxb-test" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := slackCall{method: strings.TrimPrefix(r.URL.Path, "/api/"), channel: m.Channel, ts: m.TS, thread: m.ThreadTS, text: m.Text}
	switch c.method {
	case "chat.postMessage":
		s.next++
		c.channel, c.ts = "C1", fmt.Sprintf("1700000000.%06d", s.next)
	case "chat.update":
	default:
		http.Error(w, "unknown method", http.StatusNotFound)
		return
	}
	s.calls = append(s.calls, c)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": c.channel, "ts": c.ts})
}

// firstMessage waits for a message to be posted, and returns the first.
func (s *slackAPI) firstMessage(t *testing.T, what string, ds ...*daemon) slackCall {
	t.Helper()
	var first slackCall
	waitFor(t, what, func() bool {
		posted, _ := s.messages("")
		if len(posted) > 0 {
			first = posted[0]
		}
		return len(posted) > 0
	}, ds...)
	return first
}

// messages returns the messages posted (not replies in a thread) and the
// edits whose text holds marker.
func (s *slackAPI) messages(marker string) (posted, edits []slackCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		switch {
		case c.method == "chat.postMessage" && c.thread == "":
			posted = append(posted, c)
		case c.method == "chat.update" && strings.Contains(c.text, marker):
			edits = append(edits, c)
		}
	}
	return posted, edits
}

// slackBot is a Slack action in bot mode, on api, posting to a channel
// by name: the API answers its ID, which an edit must name.
func slackBot(api *slackAPI) string {
	return fmt.Sprintf(`  chat: {type: slack, token: xoxb-test, channel: "#ops", api_url: %q}`, api.URL+"/api")
}

// remembersMessage reports whether the Slack action's memory under
// stateDir holds the message of ts.
func remembersMessage(stateDir, ts string) bool {
	data, _ := os.ReadFile(filepath.Join(stateDir, "actions", "chat.json"))
	return strings.Contains(string(data), ts)
}

// checkEdited fails unless the resolve edited the one message posted, and
// posted no other.
func checkEdited(t *testing.T, api *slackAPI, first slackCall) {
	t.Helper()
	posted, edits := api.messages("[RESOLVED]")
	if len(posted) != 1 {
		t.Errorf("%d messages posted, want the firing's only: %+v", len(posted), posted)
	}
	if len(edits) == 0 {
		t.Errorf("the resolve edited no message")
	}
	for _, e := range edits {
		if e.channel != first.channel || e.ts != first.ts {
			t.Errorf("the resolve edited %s/%s, want the firing's message %s/%s", e.channel, e.ts, first.channel, first.ts)
		}
	}
}

// A Slack bot's resolve edits the message of its firing even when another
// node posted it: the message's channel and ts are replicated to the
// group, so the leader that follows a kill -9 finds them.
func TestHASlackResolveEditsThePredecessorsMessage(t *testing.T) {
	api := newSlackAPI(t)
	rules := "  - {name: lost, when: leaderless, actions: [chat], on_resolve: [chat]}"
	g := startGroupWith(t, "1m", rules, "{type: events, http: true}", slackBot(api))
	leader := g.leader()
	other := (leader + 1) % haNodes
	start := time.Now()
	g.post(other, eventAt("c1", "state.has_leader", "c1", start))
	g.post(other, eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	first := api.firstMessage(t, "the firing's message", g.live()...)
	// Kept by the leader once the group committed it: a majority has it,
	// so whichever survivor leads next has it too.
	state := filepath.Join(g.dir, fmt.Sprintf("lh%d", leader+1), "state")
	waitFor(t, "the leader to remember the message", func() bool { return remembersMessage(state, first.ts) }, g.live()...)

	g.kill9(leader)
	g.leader()
	g.post(other, eventAt("c1", "state.has_leader", "c2", time.Now()))
	waitFor(t, "the resolve to edit a message", func() bool {
		posted, edits := api.messages("[RESOLVED]")
		return len(edits) > 0 || len(posted) > 1
	}, g.live()...)
	checkEdited(t, api, first)
}

// A lone daemon's resolve after a restart edits the message posted before
// it: the message's channel and ts are kept under state_dir.
func TestSlackResolveAfterRestartEditsTheMessage(t *testing.T) {
	api := newSlackAPI(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "leaderhook.yaml")
	body := fmt.Sprintf(`server: {listen: "127.0.0.1:0", ingest_token: t0k3n}
state_dir: %s/state
clusters:
  - {name: c1, stabilize: 0s, source: {type: events, http: true}}
actions:
%s
rules:
  - {name: lost, when: leaderless, actions: [chat], on_resolve: [chat]}
`, dir, slackBot(api))
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, config)
	events := d.baseURL(t) + "/v1/events?cluster=c1"
	start := time.Now()
	for _, ev := range []string{eventAt("m1", "state.has_leader", "c1", start), eventAt("m1", "state.is_leaderless", "", start.Add(10*time.Millisecond))} {
		if code, answer := post(t, events, "t0k3n", ev); code != http.StatusAccepted {
			t.Fatalf("POST: %d %s", code, answer)
		}
	}
	first := api.firstMessage(t, "the firing's message", d)
	d.stop(t) // after the firing's delivery, memory included
	d = startDaemon(t, config)
	if code, answer := post(t, d.baseURL(t)+"/v1/events?cluster=c1", "t0k3n", eventAt("m1", "state.has_leader", "c2", time.Now())); code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, answer)
	}
	waitFor(t, "the resolve to edit a message", func() bool {
		posted, edits := api.messages("[RESOLVED]")
		return len(edits) > 0 || len(posted) > 1
	}, d)
	checkEdited(t, api, first)
}

// A node that pages alone (fail-open) hands the group the message it
// posted once it is back: the group's firing of the same episode edits that
// message rather than posting another, and the resolve, decided by the
// group's leader, edits it too.
func TestHASlackResolveEditsTheFailOpenNodesMessage(t *testing.T) {
	api := newSlackAPI(t)
	rules := "  - {name: lost, when: leaderless, actions: [chat], on_resolve: [chat]}"
	g := startGroupWith(t, "2s", rules, "{type: events, http: true}", slackBot(api))
	alone := (g.leader() + 1) % haNodes
	g.isolate(alone, true)
	waitFor(t, "the cut-off node to go fail-open", func() bool {
		s, ok := g.status(alone)
		return ok && s.Role == "fail-open"
	}, g.live()...)
	start := time.Now()
	g.post(alone, eventAt("c1", "state.has_leader", "c1", start))
	g.post(alone, eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	first := api.firstMessage(t, "the fail-open node's message", g.live()...)

	g.isolate(alone, false)
	g.waitCaughtUp(alone)
	// The group decides the firing again from the events the node took in
	// alone: it edits the node's message, or (without it) posts another.
	waitFor(t, "the group's firing", func() bool {
		posted, edits := api.messages("")
		return len(posted) > 1 || len(edits) > 0
	}, g.live()...)
	if leader := g.leader(); leader == alone {
		g.kill9(alone) // the resolve must be another node's
	}
	leader := g.leader()
	g.post(leader, eventAt("c1", "state.has_leader", "c2", time.Now()))
	waitFor(t, "the resolve to edit a message", func() bool {
		_, edits := api.messages("[RESOLVED]")
		return len(edits) > 0
	}, g.live()...)
	checkEdited(t, api, first)
}
