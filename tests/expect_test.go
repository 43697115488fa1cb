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
)

// routeReceiver records which path (which action) each notification of
// which rule came to.
type routeReceiver struct {
	mu     sync.Mutex
	routes []string // "path rule status"
}

func (r *routeReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n struct{ Rule, Status string }
	body, _ := io.ReadAll(req.Body)
	json.Unmarshal(body, &n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes = append(r.routes, req.URL.Path+" "+n.Rule+" "+n.Status)
}

func (r *routeReceiver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.routes...)
}

// The example's routing, end to end: a leader change inside a window
// declared with `leaderhook expect` goes to chat, one after the window
// was ended (DELETE /v1/expect) to the pager; both are audited; a window
// survives a restart and shows in /v1/state.
func TestExpectedChangesEndToEnd(t *testing.T) {
	rcv := &routeReceiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	listen := freePort(t)
	change := `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id && trigger == "event"`
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: %q, ingest_token: t0k3n}
state_dir: %[2]s/state
audit_log: %[2]s/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, members: [c1, c2, c3], source: {type: events, http: true}}
actions:
  page: {type: webhook, url: "%[3]s/page"}
  chat: {type: webhook, url: "%[3]s/chat"}
rules:
  - {name: leader-changed, when: '%[4]s && !expected', actions: [page]}
  - {name: leader-changed-expected, when: '%[4]s && expected', actions: [chat]}
`, listen, dir, srv.URL, change)), 0o644)
	d := startDaemon(t, config)
	events := "http://" + listen + "/v1/events?cluster=ziti"
	leader := func(id string) {
		t.Helper()
		batch := "[" + ev("c1", "state.has_leader", id) + "," + ev("c2", "state.has_leader", id) + "," + ev("c3", "state.has_leader", id) + "]"
		if code, body := post(t, events, "t0k3n", batch); code != 202 {
			t.Fatalf("events: %d %s", code, body)
		}
	}
	leader("c1")

	out, stderr, code := run(t, nil, "expect", "ziti", "--for", "30m", "--reason", "rolling upgrade", "-c", config)
	if code != 0 || !strings.HasPrefix(out, "ziti: changes expected from ") || !strings.Contains(out, "(rolling upgrade)") {
		t.Fatalf("leaderhook expect: exit %d\n%s%s", code, out, stderr)
	}
	leader("c2")
	waitFor(t, "the expected change in chat", func() bool { return len(rcv.seen()) == 1 }, d)
	if got := rcv.seen(); got[0] != "/chat leader-changed-expected firing" {
		t.Errorf("the expected change went to %q", got)
	}

	req, _ := http.NewRequest(http.MethodDelete, "http://"+listen+"/v1/expect?cluster=ziti", nil)
	req.Header.Set("Authorization", "Bearer t0k3n")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"expected": null`) || !strings.Contains(string(body), `"reason": "rolling upgrade"`) {
		t.Fatalf("DELETE /v1/expect: %s %s", resp.Status, body)
	}
	leader("c3")
	waitFor(t, "the unexpected change on the pager", func() bool { return len(rcv.seen()) == 2 }, d)
	if got := rcv.seen(); got[1] != "/page leader-changed firing" {
		t.Errorf("the unexpected change went to %q", got)
	}
	checkExpectAudit(t, filepath.Join(dir, "audit.jsonl"), "open rolling upgrade", "ended rolling upgrade")

	// A window survives a restart.
	if _, stderr, code := run(t, nil, "expect", "ziti", "--for", "2h", "--reason", "still upgrading", "--url", "http://"+listen, "--token", "t0k3n"); code != 0 {
		t.Fatalf("leaderhook expect --url: exit %d %s", code, stderr)
	}
	d.stop(t)
	d = startDaemon(t, config)
	_, state := get(t, "http://"+listen+"/v1/state")
	var v struct {
		Clusters []struct {
			Expected *struct{ Since, Until, Reason string } `json:"expected"`
		} `json:"clusters"`
	}
	if json.Unmarshal([]byte(state), &v) != nil || len(v.Clusters) != 1 || v.Clusters[0].Expected == nil || v.Clusters[0].Expected.Reason != "still upgrading" {
		t.Errorf("/v1/state after a restart:\n%s", state)
	}
	out, _, code = run(t, nil, "expect", "ziti", "--end", "-c", config)
	if code != 0 || !strings.Contains(out, "ziti: the window from ") || !strings.Contains(out, "(still upgrading) ended now") {
		t.Errorf("leaderhook expect --end: exit %d %s", code, out)
	}
	if out, stderr, code := run(t, nil, "expect", "nope", "--for", "1m", "-c", config); code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("an unknown cluster: exit %d %s%s", code, out, stderr)
	}
	checkExpectAudit(t, filepath.Join(dir, "audit.jsonl"), "open rolling upgrade", "ended rolling upgrade", "open still upgrading", "ended still upgrading")
}

// checkExpectAudit waits for the audit log's expect records to be want
// ("status reason" each), in order.
func checkExpectAudit(t *testing.T, path string, want ...string) {
	t.Helper()
	var got []string
	waitFor(t, "the audit records of the windows", func() bool {
		data, _ := os.ReadFile(path)
		got = nil
		for _, line := range strings.Split(string(data), "\n") {
			var r struct{ Kind, Status, Cluster, Reason, Until string }
			if json.Unmarshal([]byte(line), &r) == nil && r.Kind == "expect" && r.Cluster == "ziti" && r.Until != "" {
				got = append(got, r.Status+" "+r.Reason)
			}
		}
		return strings.Join(got, "|") == strings.Join(want, "|")
	})
}

// In a group, a window declared on a follower is forwarded to the leader
// and agreed by every node; ended on another node, it ends everywhere.
func TestExpectedChangesInAGroup(t *testing.T) {
	g := startGroup(t, "10s", `  - {name: lost, when: leaderless && !expected, actions: [hook]}`)
	leader := g.leader()
	first, second := (leader+1)%haNodes, (leader+2)%haNodes
	everywhere := func(what string, cond func(state string) bool) {
		t.Helper()
		waitFor(t, what, func() bool {
			for i := range haNodes {
				if _, state := get(t, g.nodes[i].baseURL(t)+"/v1/state"); !cond(state) {
					return false
				}
			}
			return true
		}, g.live()...)
	}
	if out, stderr, code := run(t, nil, "expect", "ziti", "--for", "1h", "--reason", "upgrade", "--url", g.nodes[first].baseURL(t), "--token", "t0k3n"); code != 0 {
		t.Fatalf("leaderhook expect on a follower: exit %d %s%s", code, out, stderr)
	}
	everywhere("every node to see the window", func(state string) bool { return strings.Contains(state, `"reason": "upgrade"`) })
	if _, stderr, code := run(t, nil, "expect", "ziti", "--end", "--url", g.nodes[second].baseURL(t), "--token", "t0k3n"); code != 0 {
		t.Fatalf("leaderhook expect --end on the other follower: exit %d %s", code, stderr)
	}
	everywhere("every node to see it ended", func(state string) bool { return !strings.Contains(state, `"expected"`) })
}
