package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHAJoinAndRemove adds a fourth node with `leaderhook ha join` and
// removes it with `leaderhook ha remove`, without restarting the group;
// `leaderhook ha status` shows each step, for people and as JSON.
func TestHAJoinAndRemove(t *testing.T) {
	g := startGroup(t, "2s", haRules)
	leader := g.leader()
	bind := freePort(t)
	var peers strings.Builder
	for j, addr := range g.binds {
		fmt.Fprintf(&peers, "    - {id: lh%d, address: %q}\n", j+1, addr)
	}
	fmt.Fprintf(&peers, "    - {id: lh4, address: %q}\n", bind)
	cfg := filepath.Join(g.dir, "lh4.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0", ingest_token: t0k3n}
state_dir: %[1]s/lh4/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%[2]s/hook"}
rules:
%[3]s
ha:
  node_id: lh4
  bind: %[4]q
  data_dir: %[1]s/lh4/raft
  fail_open_after: 2s
  peers:
%[5]s`, g.dir, g.receiver.URL, haRules, bind, peers.String())), 0o644)
	d4 := startDaemon(t, cfg)
	nodeURL := g.nodes[(leader+1)%haNodes].baseURL(t) // any node: join goes to the leader
	out, errOut, code := run(t, nil, "ha", "join", "lh4", bind, "--url", nodeURL, "--token", "t0k3n")
	if code != 0 {
		t.Fatalf("ha join: exit %d\n%s%s", code, out, errOut)
	}
	waitFor(t, "lh4 to follow the leader", func() bool {
		out, _, code := run(t, nil, "ha", "status", "--url", d4.baseURL(t), "--format", "json")
		var s haStatus
		return code == 0 && json.Unmarshal([]byte(out), &s) == nil && s.Role == "follower" && s.LeaderID == fmt.Sprintf("lh%d", leader+1) && len(s.Peers) == 4
	}, append(g.live(), d4)...)
	out, _, _ = run(t, nil, "ha", "status", "--url", d4.baseURL(t))
	for _, want := range []string{"node lh4: follower", fmt.Sprintf("leader: lh%d", leader+1), "lh4", bind} {
		if !strings.Contains(out, want) {
			t.Errorf("ha status does not say %q:\n%s", want, out)
		}
	}
	if out, errOut, code := run(t, nil, "ha", "remove", "lh4", "--url", nodeURL, "--token", "t0k3n"); code != 0 {
		t.Fatalf("ha remove: exit %d\n%s%s", code, out, errOut)
	}
	waitFor(t, "the group without lh4", func() bool {
		s, ok := g.status(leader)
		return ok && len(s.Peers) == 3
	}, g.live()...)
	// Removed, lh4 hears from no leader, and must not page alone.
	waitFor(t, "lh4 to go longer than fail_open_after without a leader", func() bool {
		out, _, code := run(t, nil, "ha", "status", "--url", d4.baseURL(t), "--format", "json")
		var s struct {
			LastContactMS int64 `json:"last_contact_ms"`
		}
		return code == 0 && json.Unmarshal([]byte(out), &s) == nil && s.LastContactMS > 3000
	}, d4)
	if out, _, _ := run(t, nil, "ha", "status", "--url", d4.baseURL(t)); strings.Contains(out, "fail-open") && !strings.Contains(out, "(fail-open after") {
		t.Errorf("the removed node went fail-open:\n%s", out)
	}
	if _, errOut, code := run(t, nil, "ha", "join", "lh5", "127.0.0.1:1", "--url", nodeURL); code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("ha join without the token: exit %d, %s", code, errOut)
	}
	if s, _ := g.status(leader); s.Role != "leader" {
		t.Errorf("the leader is now %s", s.Role)
	}
	if strings.Contains(d4.logs(), "decides and dispatches alone") {
		t.Errorf("the removed node went fail-open:\n%s", d4.logs())
	}
}

// TestDocsHAExample runs the three-node example of docs/ha.md, its
// addresses and paths made local: the nodes elect a leader, and events
// sent to any node reach every node's view.
func TestDocsHAExample(t *testing.T) {
	var example string
	for _, b := range readBlocks(t, "../docs/ha.md") {
		if b.lang == "yaml" && strings.HasPrefix(b.text, "# lh1.yaml") {
			example = b.text
		}
	}
	if example == "" {
		t.Fatal("docs/ha.md has no block starting # lh1.yaml")
	}
	dir := t.TempDir()
	t.Setenv("LEADERHOOK_TOKEN", "t0k3n")
	receiver := newHAReceiver(t)
	binds := freePorts(t, 3)
	var nodes []*daemon
	for i := range 3 {
		cfg := strings.NewReplacer("0.0.0.0:9099", "127.0.0.1:0", "/var/lib/leaderhook/", fmt.Sprintf("%s/lh%d/", dir, i+1),
			"https://events.example.com/leaderhook", receiver.URL, "node_id: lh1", fmt.Sprintf("node_id: lh%d", i+1),
			"bind: 10.0.1.11:7401", "bind: "+binds[i],
			"10.0.1.11:7401", binds[0], "10.0.1.12:7401", binds[1], "10.0.1.13:7401", binds[2]).Replace(example)
		path := filepath.Join(dir, fmt.Sprintf("lh%d.yaml", i+1))
		os.WriteFile(path, []byte(cfg), 0o644)
		if out, errOut, code := run(t, nil, "check", "-c", path); code != 0 {
			t.Fatalf("check %s: exit %d\n%s%s", path, code, out, errOut)
		}
		nodes = append(nodes, startDaemon(t, path))
	}
	g := &haGroup{t: t, nodes: nodes}
	leader := g.leader()
	follower := (leader + 1) % 3
	g.post(follower, eventAt("c1", "state.has_leader", "c1", time.Now()))
	for i := range 3 {
		waitFor(t, fmt.Sprintf("lh%d to see leader c1", i+1), func() bool {
			_, state := get(t, nodes[i].baseURL(t)+"/v1/state")
			return regexp.MustCompile(`"leader_id":\s*"c1"`).MatchString(state)
		}, nodes...)
	}
}
