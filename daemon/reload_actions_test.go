package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/leaderhook/leaderhook/event"
)

const actionsConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [{{.Members}}], stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "{{.Hook}}/{{.Path}}", retry: {max_attempts: 50, initial_backoff: 50ms, max_backoff: 100ms}}
{{if .Late}}  late: {type: webhook, url: "{{.Hook}}/late", retry: {max_attempts: 50, initial_backoff: 50ms, max_backoff: 100ms}}
{{end}}rules:
  - {name: lost, when: leaderless, actions: [{{.Actions}}]}
{{.HA}}`

// oneNodeGroup is the ha: block of a group of one node, which leads it.
func oneNodeGroup(t *testing.T, dir string) string {
	addr := freeAddr(t)
	return fmt.Sprintf("ha:\n  node_id: n1\n  bind: %q\n  data_dir: %s/raft\n  peers:\n    - {id: n1, address: %q}\n", addr, dir, addr)
}

// pathLog records the path of each request it answers.
type pathLog struct {
	mu  sync.Mutex
	got []string
}

func (p *pathLog) ServeHTTP(_ http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, req.URL.Path)
}

func (p *pathLog) received(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.got, path)
}

// bufferLog is a log a test reads.
type bufferLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// logger writes to l, as text.
func (l *bufferLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{&l.mu, &l.b}, nil))
}

func (l *bufferLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// One reload changes an action's URL, adds an action and a rule using
// both, and makes that rule fire at once: both deliveries go to the new
// URLs, alone, in a group and (logged only) in a dry run.
func TestReloadHandsActionsToWhatDelivers(t *testing.T) {
	for _, mode := range []string{"alone", "group", "dry run"} {
		t.Run(mode, func(t *testing.T) {
			receiver := &pathLog{}
			srv := httptest.NewServer(receiver)
			t.Cleanup(srv.Close)
			h := newHarness(t, actionsConfig, map[string]any{"Members": "c1, c2, c3", "Hook": srv.URL, "Path": "before",
				"Late": false, "Actions": "hook", "HA": ""})
			log := &bufferLog{}
			opts := Options{DryRun: mode == "dry run", Log: log.logger()}
			if mode == "group" {
				h.write(map[string]any{"HA": oneNodeGroup(t, h.dir)})
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("daemon log:\n%s", log)
				}
			})
			h.start(opts)
			if mode == "group" {
				waitFor(t, "the node to lead its group", h.d.group.dispatching)
			}
			h.post("/v1/events?cluster=ziti", "", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1"))
			waitFor(t, "the leader", func() bool { return h.cluster("ziti").HasLeader })
			// Five members: c1 no longer has a majority, and "lost" fires.
			h.reloadTo("POST /-/reload", map[string]any{"Members": "c1, c2, c3, c4, c5", "Path": "after", "Late": true, "Actions": "hook, late"})
			delivered := func(path string) bool {
				if mode == "dry run" {
					return strings.Contains(log.String(), "url="+srv.URL+path)
				}
				return receiver.received(path)
			}
			waitFor(t, "the delivery to the changed URL", func() bool { return delivered("/after") })
			waitFor(t, "the delivery to the new action", func() bool { return delivered("/late") })
			if delivered("/before") {
				t.Error("a delivery went to the URL the reload replaced")
			}
		})
	}
}

// dispatching reports whether this node dispatches the group's deliveries.
func (g *group) dispatching() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.disp != nil
}

// With no state_dir in the config, actions keep what they remember (here
// the open alert) under the daemon's default state directory, as the rest
// of its state, not in memory only.
func TestActionsRememberUnderTheDefaultStateDir(t *testing.T) {
	t.Chdir(t.TempDir()) // where the default state directory goes
	am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(am.Close)
	h := newHarness(t, `server: {listen: "127.0.0.1:0"}
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  am: {type: alertmanager, urls: ["{{.AM}}"]}
rules:
  - {name: lost, when: leaderless, actions: [am], on_resolve: [am]}
`, map[string]any{"AM": am.URL})
	h.start(Options{})
	events := "/v1/events?cluster=ziti"
	h.post(events, "", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1"))
	h.post(events, "", ev("c1", "state.is_leaderless", "")+"\n"+ev("c2", "state.is_leaderless", ""))
	memory := filepath.Join(DefaultStateDir, "actions", "am.json")
	waitFor(t, "the open alert in "+memory, func() bool { _, err := os.Stat(memory); return err == nil })
}

// statusLog records the rule and status of each notification it takes.
type statusLog struct {
	mu  sync.Mutex
	got []string
}

func (s *statusLog) ServeHTTP(_ http.ResponseWriter, req *http.Request) {
	var n struct{ Rule, Status string }
	_ = json.NewDecoder(req.Body).Decode(&n)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, n.Rule+" "+n.Status)
}

func (s *statusLog) received(what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.got, what)
}

// A reload that removes a rule while it fires resolves its firing: the
// receiver's incident is not left open for good.
func TestReloadResolvesARemovedRulesFiring(t *testing.T) {
	receiver := &statusLog{}
	srv := httptest.NewServer(receiver)
	t.Cleanup(srv.Close)
	h := newHarness(t, `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "{{.Hook}}"}
rules:
{{.Rules}}`, map[string]any{"Hook": srv.URL,
		"Rules": "  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}\n  - {name: changed, when: 'leader_id == \"c9\"', actions: [hook]}"})
	h.start(Options{})
	h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, "c1"))
	h.post("/v1/events?cluster=ziti", "", ev("c1", event.Leaderless, ""))
	waitFor(t, "the firing", func() bool { return receiver.received("lost firing") })
	h.reloadTo("POST /-/reload", map[string]any{"Rules": "  - {name: changed, when: 'leader_id == \"c9\"', actions: [hook]}"})
	waitFor(t, "the removed rule's resolve", func() bool { return receiver.received("lost resolved") })
}
