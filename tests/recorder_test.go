package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const recorderConfig = `server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: ziti, members: [c1, c2, c3], stabilize: 0s, source: {type: events, http: true}}
actions:
  note: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - {name: lost, when: leaderless, actions: [note], on_resolve: [note]}
  - {name: gone, when: 'leaderless_for >= duration("1s")', actions: [note], on_resolve: [note]}
  - {name: changed, when: 'type == "state.has_leader" && previous_leader_id != ""', actions: [note]}
`

// decision is one rule outcome: as the daemon logged it, or as replay
// printed it.
type decision struct {
	rule, cluster, kind string
	at                  time.Time
}

func (d decision) String() string {
	return fmt.Sprintf("%s %s %s at %s", d.rule, d.cluster, d.kind, d.at.Format(time.RFC3339Nano))
}

// loggedDecisions reads the "rule fired", "rule resolved" and "rule
// suppressed" lines of a daemon's JSON log.
func loggedDecisions(t *testing.T, log string) []decision {
	t.Helper()
	var out []decision
	for _, line := range strings.Split(log, "\n") {
		var r struct {
			Msg, Rule, Cluster string
			At                 time.Time
		}
		if json.Unmarshal([]byte(line), &r) != nil || !strings.HasPrefix(r.Msg, "rule ") {
			continue
		}
		out = append(out, decision{rule: r.Rule, cluster: r.Cluster, kind: strings.TrimPrefix(r.Msg, "rule "), at: r.At})
	}
	return out
}

// replayedDecisions reads the rule outcomes of `replay --format json`.
func replayedDecisions(t *testing.T, out string) []decision {
	t.Helper()
	var ds []decision
	for _, l := range parseLines(t, out) {
		if l.Kind == "rule" {
			ds = append(ds, decision{rule: l.Rule, cluster: l.Cluster, kind: l.Outcome, at: ts(t, l.Time)})
		}
	}
	return ds
}

func sameDecisions(a, b []decision) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].rule != b[i].rule || a[i].cluster != b[i].cluster || a[i].kind != b[i].kind || !a[i].at.Equal(b[i].at) {
			return false
		}
	}
	return true
}

func postAll(t *testing.T, url string, evs ...string) {
	t.Helper()
	if code, body := post(t, url, "", strings.Join(evs, "\n")); code != 202 {
		t.Fatalf("POST: %d %s", code, body)
	}
}

// fired reports whether the daemon logged a firing of rule.
func fired(t *testing.T, d *daemon, rule string) bool {
	for _, x := range loggedDecisions(t, d.logs()) {
		if x.rule == rule && x.kind == "fired" {
			return true
		}
	}
	return false
}

// TestRecorderReplaysWhatTheDaemonDecided: a daemon fed events over HTTP
// and killed with kill -9 three times, with rules that fire on events and
// on time; replay of its flight recorder makes the same decisions, at the
// same instants, as the daemons logged.
func TestRecorderReplaysWhatTheDaemonDecided(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(recorderConfig, dir)), 0o644)
	start := func() (*daemon, string) {
		d := startDaemonArgs(t, "run", "-c", config, "--log-format", "json", "--dry-run")
		return d, d.baseURL(t) + "/v1/events?cluster=ziti"
	}
	all := func(typ, leader string) []string {
		return []string{ev("c1", typ, leader), ev("c2", typ, leader), ev("c3", typ, leader)}
	}
	var daemons []*daemon

	// A loss fires lost at once and gone a second later; a new leader
	// resolves both; a second loss is cut short by kill -9, its gone due
	// while no daemon runs.
	a, events := start()
	daemons = append(daemons, a)
	postAll(t, events, all("state.has_leader", "c1")...)
	postAll(t, events, ev("c2", "state.is_leaderless", ""), ev("c3", "state.is_leaderless", ""))
	waitFor(t, "gone to fire", func() bool { return fired(t, a, "gone") }, a)
	postAll(t, events, all("state.has_leader", "c2")...)
	postAll(t, events, ev("c1", "state.is_leaderless", ""), ev("c3", "state.is_leaderless", ""))
	a.kill9(t)

	// The restart decides what came due while it was down; a new leader.
	b, events := start()
	daemons = append(daemons, b)
	postAll(t, events, all("state.has_leader", "c3")...)
	waitFor(t, "the change to c3", func() bool { return fired(t, b, "changed") }, b)
	b.kill9(t)

	// A new leader, then a loss whose gone fires on time, then kill -9
	// with nothing due. The state saved last may be older than the last
	// decisions: the restart goes on from it, and so does the replay.
	c, events := start()
	daemons = append(daemons, c)
	postAll(t, events, all("state.has_leader", "c1")...)
	waitFor(t, "the change to c1", func() bool { return fired(t, c, "changed") }, c)
	postAll(t, events, all("state.is_leaderless", "")...)
	waitFor(t, "gone to fire", func() bool { return fired(t, c, "gone") }, c)
	c.kill9(t)

	// The last start resolves nothing new; it stops cleanly.
	d, _ := start()
	daemons = append(daemons, d)
	d.stop(t)

	var logged []decision
	for _, d := range daemons {
		logged = append(logged, loggedDecisions(t, d.logs())...)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "state", "inputs*.jsonl"))
	out, stderr, code := run(t, nil, append([]string{"replay", "-c", config, "--format", "json"}, files...)...)
	replayed := replayedDecisions(t, out)
	if code != 0 || !sameDecisions(logged, replayed) || !strings.Contains(stderr, "flight recording: 4 starts of the daemon") {
		t.Errorf("exit %d; the daemons decided:\n%v\nreplay of %v decided:\n%v\n%s", code, logged, files, replayed, stderr)
	}
	if len(logged) < 8 {
		t.Errorf("only %d decisions: %v", len(logged), logged)
	}
}

// TestRecorderReplaysExpectedChanges: a window of expected changes opened
// and ended over the API is an input like an event; replay of the flight
// recorder takes it, and sends the expected change where the daemon did.
func TestRecorderReplaysExpectedChanges(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	change := `type == "state.has_leader" && previous_leader_id != ""`
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: ziti, members: [c1, c2, c3], stabilize: 0s, source: {type: events, http: true}}
actions:
  page: {type: webhook, url: "http://127.0.0.1:9/page"}
  chat: {type: webhook, url: "http://127.0.0.1:9/chat"}
rules:
  - {name: unplanned, when: '%[2]s && !expected', actions: [page]}
  - {name: planned, when: '%[2]s && expected', actions: [chat]}
`, dir, change)), 0o644)
	d := startDaemonArgs(t, "run", "-c", config, "--log-format", "json", "--dry-run")
	base := d.baseURL(t)
	leader := func(id string) {
		t.Helper()
		postAll(t, base+"/v1/events?cluster=ziti", ev("c1", "state.has_leader", id), ev("c2", "state.has_leader", id), ev("c3", "state.has_leader", id))
	}
	leader("c1")
	if code, body := post(t, base+"/v1/expect", "", `{"cluster": "ziti", "for": "30m", "reason": "upgrade"}`); code != 200 {
		t.Fatalf("POST /v1/expect: %d %s", code, body)
	}
	leader("c2")
	waitFor(t, "the planned change", func() bool { return fired(t, d, "planned") }, d)
	req, _ := http.NewRequest(http.MethodDelete, base+"/v1/expect?cluster=ziti", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE /v1/expect: %v %v", resp, err)
	}
	leader("c3")
	waitFor(t, "the unplanned change", func() bool { return fired(t, d, "unplanned") }, d)
	d.stop(t)

	logged := loggedDecisions(t, d.logs())
	out, stderr, code := run(t, nil, "replay", "-c", config, "--format", "json", filepath.Join(dir, "state", "inputs.jsonl"))
	if replayed := replayedDecisions(t, out); code != 0 || !sameDecisions(logged, replayed) {
		t.Errorf("exit %d; the daemon decided:\n%v\nreplay decided:\n%v\n%s", code, logged, replayed, stderr)
	}
}

// rqliteStatus answers rqlite's GET /status for members /n1, /n2 and /n3,
// all following the leader it holds.
type rqliteStatus struct{ leader atomic.Value }

func (s *rqliteStatus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	self, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/status")
	if !ok {
		http.NotFound(w, r)
		return
	}
	fmt.Fprintf(w, `{"store":{"node_id":%q,"leader":{"node_id":%q}}}`, self, s.leader.Load())
}

// TestRecordOfAPollSourceReplays: what record writes of a poll source
// (the membership it learns, with no member as its source, and each
// member's report) replays without a rejected line.
func TestRecordOfAPollSourceReplays(t *testing.T) {
	status := &rqliteStatus{}
	status.leader.Store("n1")
	srv := httptest.NewServer(status)
	defer srv.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`clusters:
  - name: db
    stabilize: 0s
    source: {type: poll, preset: rqlite, members: ["%[1]s/n1", "%[1]s/n2", "%[1]s/n3"], interval: 50ms}
actions:
  note: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - {name: changed, when: 'type == "state.has_leader" && previous_leader_id != ""', actions: [note]}
`, srv.URL)), 0o644)
	recording := filepath.Join(dir, "rec.jsonl")
	cmd := exec.Command(binary, "record", "-c", config, "-o", recording)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// announced tells when the recording holds the cluster state "leader
	// is leader", derived from the members' reports.
	announced := func(leader string) func() bool {
		return func() bool {
			data, _ := os.ReadFile(recording)
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, `"event_src_id":"leaderhook"`) && strings.Contains(line, `"leaderId":"`+leader+`"`) {
					return true
				}
			}
			return false
		}
	}
	waitFor(t, "n1's leadership", announced("n1"))
	status.leader.Store("n2")
	waitFor(t, "n2's leadership", announced("n2"))
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("record: %v", err)
	}
	data, _ := os.ReadFile(recording)
	if !strings.Contains(string(data), `"eventType":"members.changed"`) {
		t.Errorf("no membership recorded:\n%s", data)
	}
	out, stderr, code := run(t, nil, "replay", "-c", config, "--format", "json", recording)
	if code != 0 || !strings.Contains(out, `"rule":"changed","outcome":"fired"`) {
		t.Errorf("replay of the recording: exit %d\n%s%s\nrecording:\n%s", code, out, stderr, data)
	}
}
