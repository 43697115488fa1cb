package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/config"
)

// reloadWays are the ways a reload is asked for in-process; SIGHUP, which
// cmd/leaderhook turns into Reload, is tested end to end in tests/.
var reloadWays = map[string]func(h *harness) error{
	"POST /-/reload": func(h *harness) error {
		if code, body := h.post("/-/reload", h.token(), ""); code != 200 {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	},
	"a file edit": func(h *harness) error {
		// The watcher compares modification times: make the edit's
		// visible even on a coarse clock.
		later := time.Now().Add(time.Second)
		if err := os.Chtimes(h.path, later, later); err != nil {
			return err
		}
		waitFor(h.t, "the watcher's reload", func() bool { return !h.d.configChanged() })
		return nil
	},
}

func (h *harness) token() string {
	if tok, ok := h.vars["Token"].(string); ok {
		return tok
	}
	return ""
}

// reloadTo writes the config with vars and reloads it the given way.
func (h *harness) reloadTo(way string, vars map[string]any) {
	h.t.Helper()
	token := h.token() // a reload that changes the token is asked for with the old one
	h.write(vars)
	h.vars["Token"] = token
	if err := reloadWays[way](h); err != nil {
		h.t.Fatalf("reload (%s): %v", way, err)
	}
	for k, v := range vars {
		h.vars[k] = v
	}
}

const membersConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [{{.Members}}], stabilize: {{.Stabilize}}, source: {type: events, http: true}}
rules: []
`

// Each key a reload applies, and a test of its effect, for every way of
// asking for a reload.
func TestReloadAppliesEveryKey(t *testing.T) {
	for way := range reloadWays {
		t.Run(way, func(t *testing.T) {
			t.Run("members", func(t *testing.T) { testReloadMembers(t, way) })
			t.Run("stabilize", func(t *testing.T) { testReloadStabilize(t, way) })
			t.Run("poll interval", func(t *testing.T) { testReloadPollInterval(t, way) })
			t.Run("poll timeout", func(t *testing.T) { testReloadPollTimeout(t, way) })
			t.Run("sources", func(t *testing.T) { testReloadSources(t, way) })
			t.Run("concurrency", func(t *testing.T) { testReloadConcurrency(t, way) })
			t.Run("ingest token and body limit", func(t *testing.T) { testReloadServer(t, way) })
		})
	}
}

// A cluster reloaded from 3 to 5 members no longer has a majority with 2
// followers.
func testReloadMembers(t *testing.T, way string) {
	h := newHarness(t, membersConfig, map[string]any{"Members": "c1, c2, c3", "Stabilize": "0s"})
	h.start(Options{})
	h.post("/v1/events?cluster=ziti", "", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1"))
	if c := h.cluster("ziti"); !c.HasLeader || len(c.Members) != 3 {
		t.Fatalf("before: %+v, want leader c1 of 3", c)
	}
	h.reloadTo(way, map[string]any{"Members": "c1, c2, c3, c4, c5"})
	waitFor(t, "the loss of the majority", func() bool { return !h.cluster("ziti").HasLeader })
	if c := h.cluster("ziti"); len(c.Members) != 5 || c.PreviousLeaderID != "c1" {
		t.Errorf("after: %+v, want 5 members and c1 lost", c)
	}
}

// A loss held back by a long stabilize period is announced once a reload
// shortens it, dated from its true start.
func testReloadStabilize(t *testing.T, way string) {
	h := newHarness(t, membersConfig, map[string]any{"Members": "c1, c2, c3", "Stabilize": "1h"})
	h.start(Options{})
	events := "/v1/events?cluster=ziti"
	h.post(events, "", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1")+"\n"+ev("c3", "state.has_leader", "c1"))
	lost := time.Now()
	h.post(events, "", ev("c2", "state.is_leaderless", "")+"\n"+ev("c3", "state.is_leaderless", ""))
	if c := h.cluster("ziti"); !c.HasLeader {
		t.Fatalf("the loss was announced before the stabilize period: %+v", c)
	}
	h.reloadTo(way, map[string]any{"Stabilize": "0s"})
	waitFor(t, "the loss", func() bool { return !h.cluster("ziti").HasLeader })
	if c := h.cluster("ziti"); c.Since.Before(lost) || c.Since.After(lost.Add(time.Second)) {
		t.Errorf("loss dated %s, want its true start %s", c.Since, lost)
	}
}

const pollConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: polled, stabilize: 0s, source: {type: poll, preset: consul, members: ["{{.Status}}"], interval: {{.Interval}}, timeout: {{.Timeout}}}}
rules: []
`

// statusServer answers Consul's /v1/status/leader naming itself, after
// delay; it counts the polls.
func statusServer(t *testing.T, delay time.Duration) (*httptest.Server, *atomic.Int64) {
	var polls atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/agent/self" {
			io.WriteString(w, "{}") // names no raft address: the member keeps its URL
			return
		}
		polls.Add(1)
		select {
		case <-time.After(delay): // a slow member, not the test waiting
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "%q", srv.URL)
	}))
	t.Cleanup(srv.Close)
	return srv, &polls
}

func testReloadPollInterval(t *testing.T, way string) {
	srv, polls := statusServer(t, 0)
	h := newHarness(t, pollConfig, map[string]any{"Status": srv.URL, "Interval": "1h", "Timeout": "1s"})
	h.start(Options{})
	h.reloadTo(way, map[string]any{"Interval": "20ms"})
	waitFor(t, "polls every 20ms", func() bool { return polls.Load() >= 5 })
	// The answer to a poll is taken after the server counted it.
	waitFor(t, "the polled member's leader", func() bool { return h.cluster("polled").HasLeader })
}

func testReloadPollTimeout(t *testing.T, way string) {
	srv, polls := statusServer(t, 200*time.Millisecond)
	h := newHarness(t, pollConfig, map[string]any{"Status": srv.URL, "Interval": "50ms", "Timeout": "20ms"})
	h.start(Options{})
	waitFor(t, "polls that time out", func() bool { return polls.Load() >= 3 })
	if h.cluster("polled").HasLeader {
		t.Fatal("a leader is known although every poll timed out")
	}
	h.reloadTo(way, map[string]any{"Timeout": "2s"})
	waitFor(t, "a poll that waits long enough", func() bool { return h.cluster("polled").HasLeader })
}

const sourcesConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
{{range .Files}}  - {name: {{.}}, stabilize: 0s, source: {type: events, file: "{{$.Dir}}/{{.}}.jsonl"}}
{{end}}rules: []
`

// Sources start, stop and restart with a reload: a new cluster's file is
// read, a removed cluster is gone from the state and the metrics.
func testReloadSources(t *testing.T, way string) {
	h := newHarness(t, sourcesConfig, map[string]any{"Files": []string{"old"}})
	h.start(Options{})
	appendLine(t, filepath.Join(h.dir, "old.jsonl"), ev("m1", "state.has_leader", "m1"))
	waitFor(t, "the old file's cluster", func() bool { return h.cluster("old").Known })
	h.reloadTo(way, map[string]any{"Files": []string{"new"}})
	appendLine(t, filepath.Join(h.dir, "new.jsonl"), ev("m1", "state.has_leader", "m1"))
	waitFor(t, "the new file's cluster", func() bool { return h.cluster("new").Known })
	for _, c := range h.state().Clusters {
		if c.Name == "old" {
			t.Error("the removed cluster is still in the state")
		}
	}
	if _, metrics := h.get("/metrics"); strings.Contains(metrics, `cluster="old"`) {
		t.Errorf("the removed cluster is still in the metrics:\n%s", metrics)
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

const concurrencyConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  failover: {type: shell, command: ["{{.Dir}}/failover.sh", "{{"{{"}} .LeaderID {{"}}"}}"], concurrency: {{.Concurrency}}, timeout: 1m}
rules:
  - {name: changed, when: 'type == "state.has_leader"', actions: [failover]}
`

// A script that says it started, then waits to be released (or for its
// directory to go, at the end of the test).
const waitingScript = `#!/bin/sh
dir=$(dirname "$0")
touch "$dir/started-$1"
while [ -d "$dir" ] && [ ! -e "$dir/release" ]; do sleep 0.02; done
`

// A raised concurrency lets more runs of a script go at once.
func testReloadConcurrency(t *testing.T, way string) {
	h := newHarness(t, concurrencyConfig, map[string]any{"Concurrency": 1})
	if err := os.WriteFile(filepath.Join(h.dir, "failover.sh"), []byte(waitingScript), 0o755); err != nil {
		t.Fatal(err)
	}
	h.start(Options{DrainTimeout: time.Minute})
	// Before the daemon stops (cleanups run last first): its drain waits
	// for the scripts.
	t.Cleanup(func() { os.WriteFile(filepath.Join(h.dir, "release"), nil, 0o644) })
	started := func() int {
		matches, _ := filepath.Glob(filepath.Join(h.dir, "started-*"))
		return len(matches)
	}
	events := "/v1/events?cluster=ziti"
	h.post(events, "", ev("c1", "state.has_leader", "c1")) // the baseline
	for _, leader := range []string{"a", "b", "c"} {
		h.post(events, "", ev("c1", "state.has_leader", leader))
	}
	waitFor(t, "the first run", func() bool { return started() == 1 })
	h.reloadTo(way, map[string]any{"Concurrency": 3})
	waitFor(t, "three runs at once", func() bool { return started() == 3 })
}

const serverConfig = `server: {listen: "127.0.0.1:0", ingest_token: {{.Token}}, max_body_bytes: {{.MaxBody}}}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
rules: []
`

// A rotated token is the only one accepted after the reload; a new body
// limit applies to the next request.
func testReloadServer(t *testing.T, way string) {
	h := newHarness(t, serverConfig, map[string]any{"Token": "old-t0ken", "MaxBody": 100000})
	h.start(Options{})
	events := "/v1/events?cluster=ziti"
	big := ev("c1", "state.has_leader", strings.Repeat("x", 250)) // over 300 bytes, within the id limit
	if code, body := h.post(events, "old-t0ken", big); code != 202 {
		t.Fatalf("before: %d %s", code, body)
	}
	h.reloadTo(way, map[string]any{"Token": "new-t0ken", "MaxBody": 300})
	if code, _ := h.post(events, "old-t0ken", ev("c1", "state.has_leader", "c1")); code != 401 {
		t.Errorf("the old token after its rotation: %d, want 401", code)
	}
	if code, _ := h.post(events, "new-t0ken", big); code != 413 {
		t.Errorf("a body over the new limit: %d, want 413", code)
	}
	if code, body := h.post(events, "new-t0ken", ev("c1", "state.has_leader", "c1")); code != 202 {
		t.Errorf("the new token: %d %s", code, body)
	}
}

// A reload that changes a key only a restart can apply is refused whole,
// naming the key, and changes nothing.
func TestReloadRefusesRestartOnlyKeys(t *testing.T) {
	const cfg = `server: {listen: "{{.Listen}}"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [{{.Members}}], stabilize: 0s, source: {type: events, http: true}}
rules: []
`
	h := newHarness(t, cfg, map[string]any{"Listen": "127.0.0.1:0", "Members": "c1, c2, c3"})
	h.start(Options{})
	h.write(map[string]any{"Listen": "127.0.0.1:1", "Members": "c1"})
	code, body := h.post("/-/reload", "", "")
	if code != 400 || !strings.Contains(body, "server.listen") || !strings.Contains(body, "restart") {
		t.Errorf("reload changing server.listen: %d %s", code, body)
	}
	if c := h.cluster("ziti"); len(c.Members) != 3 {
		t.Errorf("a refused reload changed the members: %+v", c)
	}
	if _, metrics := h.get("/metrics"); !strings.Contains(metrics, "leaderhook_config_last_reload_successful 0") {
		t.Error("the refused reload is not in the metrics")
	}
}

// A reload asked for while leaderhook starts (systemctl reload right
// after start: a SIGHUP before Run) is answered "try again" (503) and put
// off, not lost: once the daemon runs, the config file is read again.
// Nothing is wrong with the config, so the metrics must not say that a
// reload failed, which an alert on leaderhook_config_last_reload_successful
// would page for until the next reload.
func TestReloadAtStartIsPutOffNotFailed(t *testing.T) {
	h := newHarness(t, `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [a, b, c], source: {type: events, http: true}}
`, nil)
	d := h.build(Options{})
	data, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.path, bytes.ReplaceAll(data, []byte("[a, b, c]"), []byte("[a, b, c, d, e]")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(); !errors.Is(err, api.ErrBusy) {
		t.Fatalf("a reload before Run: %v, want api.ErrBusy", err)
	}
	want := `
# HELP leaderhook_config_last_reload_successful 1 when the last reload attempt succeeded.
# TYPE leaderhook_config_last_reload_successful gauge
leaderhook_config_last_reload_successful 1
# HELP leaderhook_config_reloads_total Config reloads (SIGHUP or POST /-/reload; not the load at startup), by result (success, failure).
# TYPE leaderhook_config_reloads_total counter
leaderhook_config_reloads_total{result="failure"} 0
leaderhook_config_reloads_total{result="success"} 0
`
	if err := testutil.GatherAndCompare(d.metrics.Registry, strings.NewReader(want),
		"leaderhook_config_last_reload_successful", "leaderhook_config_reloads_total"); err != nil {
		t.Error(err)
	}
	h.serve()
	waitFor(t, "the reload put off at start", func() bool {
		return len(d.config().Clusters[0].Members) == 5
	})
}

// A state_dir or audit_log written differently but naming the same place
// is no change that needs a restart: state_dir left out is the default,
// written out or not.
func TestRestartOnlyComparesPathsByThePlaceTheyName(t *testing.T) {
	abs, err := filepath.Abs(DefaultStateDir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                string
		oldState, nextState string
		oldAudit, nextAudit string
		want                []string
	}{
		{name: "the default written out", nextState: "./leaderhook-state"},
		{name: "the default without ./", oldState: "./leaderhook-state", nextState: "leaderhook-state/"},
		{name: "the default made absolute", nextState: abs},
		{name: "another state_dir", nextState: "./other-state", want: []string{"state_dir"}},
		{name: "the same audit log", oldAudit: "./audit.jsonl", nextAudit: "audit.jsonl"},
		{name: "an audit log added", nextAudit: "audit.jsonl", want: []string{"audit_log"}},
		{name: "the audit log dropped", oldAudit: "audit.jsonl", want: []string{"audit_log"}},
	}
	for _, tc := range cases {
		old := &config.Config{StateDir: tc.oldState, AuditLog: tc.oldAudit}
		next := &config.Config{StateDir: tc.nextState, AuditLog: tc.nextAudit}
		if got := restartOnly(old, next); !slices.Equal(got, tc.want) {
			t.Errorf("%s: restartOnly = %q, want %q", tc.name, got, tc.want)
		}
	}
}
