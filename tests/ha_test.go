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

// haGroup is three `leaderhook run` processes forming a group. Each node
// reaches each other through a proxy of its own (proxies[i][j]: from node
// i to node j), so that a test can cut any link in either direction.
type haGroup struct {
	t        *testing.T
	dir      string
	configs  []string
	nodes    []*daemon
	proxies  [][]*cutProxy
	binds    []string // raft addresses
	receiver *haReceiver
	client   *http.Client // that calls the nodes' APIs; nil: http.DefaultClient
}

func (g *haGroup) api() *http.Client {
	if g.client == nil {
		return http.DefaultClient
	}
	return g.client
}

const haNodes = 3

func startGroup(t *testing.T, failOpenAfter string, rules string) *haGroup {
	t.Helper()
	return startGroupWith(t, failOpenAfter, rules, "{type: events, http: true}", "")
}

// startGroupWith starts a group whose cluster has source; {dir} in it is
// each node's directory. actions are more actions beside hook, as lines
// of the actions: block.
func startGroupWith(t *testing.T, failOpenAfter, rules, source, actions string) *haGroup {
	t.Helper()
	return startGroupServing(t, `{listen: "127.0.0.1:0", ingest_token: t0k3n}`, http.DefaultClient, failOpenAfter, rules, source, actions)
}

// startGroupServing is startGroupWith whose nodes have server as their
// server block, and whose APIs client calls.
func startGroupServing(t *testing.T, server string, client *http.Client, failOpenAfter, rules, source, actions string) *haGroup {
	t.Helper()
	g := &haGroup{t: t, dir: t.TempDir(), receiver: newHAReceiver(t), client: client}
	binds := freePorts(t, haNodes)
	g.binds = binds
	g.proxies = make([][]*cutProxy, haNodes)
	for i := range haNodes {
		g.proxies[i] = make([]*cutProxy, haNodes)
		for j := range haNodes {
			if i != j {
				g.proxies[i][j] = newCutProxy(t, binds[j])
			}
		}
	}
	for i := range haNodes {
		var peers strings.Builder
		for j := range haNodes {
			addr := binds[j]
			if i != j {
				addr = g.proxies[i][j].addr
			}
			fmt.Fprintf(&peers, "    - {id: lh%d, address: %q}\n", j+1, addr)
		}
		cfg := fmt.Sprintf(`server: %[10]s
state_dir: %[1]s/lh%[2]d/state
audit_log: %[1]s/lh%[2]d/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: %[8]s}
actions:
  hook: {type: webhook, url: "%[3]s/hook", retry: {max_attempts: 100, initial_backoff: 100ms, max_backoff: 200ms}}
%[9]s
rules:
%[4]s
ha:
  node_id: lh%[2]d
  bind: %[5]q
  data_dir: %[1]s/lh%[2]d/raft
  fail_open_after: %[6]s
  peers:
%[7]s`, g.dir, i+1, g.receiver.URL, rules, binds[i], failOpenAfter, peers.String(), strings.ReplaceAll(source, "{dir}", fmt.Sprintf("%s/lh%d", g.dir, i+1)), actions, server)
		path := filepath.Join(g.dir, fmt.Sprintf("lh%d.yaml", i+1))
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		g.configs = append(g.configs, path)
	}
	for i := range haNodes {
		g.nodes = append(g.nodes, startDaemon(t, g.configs[i]))
	}
	return g
}

// haStatus is what GET /v1/ha answers.
type haStatus struct {
	NodeID       string `json:"node_id"`
	Role         string `json:"role"`
	LeaderID     string `json:"leader_id"`
	Term         uint64 `json:"term"`
	AppliedIndex uint64 `json:"applied_index"`
	LeaderAPI    string `json:"leader_api"`
	Pending      int    `json:"pending_deliveries"`
	Peers        []struct {
		ID      string `json:"id"`
		Address string `json:"address"`
		Voter   bool   `json:"voter"`
	} `json:"peers"`
}

func (g *haGroup) status(i int) (haStatus, bool) {
	var s haStatus
	if g.nodes[i] == nil {
		return s, false
	}
	resp, err := g.api().Get(g.nodes[i].baseURL(g.t) + "/v1/ha")
	if err != nil {
		return s, false
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s) == nil
}

// leader waits until the live nodes agree on a leader that knows its API,
// and returns its index.
func (g *haGroup) leader() int {
	g.t.Helper()
	leader := -1
	waitFor(g.t, "the group to agree on a leader", func() bool {
		leader = -1
		var id, api string
		for i := range g.nodes {
			s, ok := g.status(i)
			if !ok && g.nodes[i] != nil {
				return false
			}
			if !ok {
				continue
			}
			if id != "" && s.LeaderID != id || s.LeaderAPI == "" || api != "" && s.LeaderAPI != api {
				return false
			}
			id, api = s.LeaderID, s.LeaderAPI
			if s.Role == "leader" {
				leader = i
			}
		}
		return leader >= 0 && api == g.nodes[leader].baseURL(g.t)
	}, g.live()...)
	return leader
}

func (g *haGroup) live() []*daemon {
	var ds []*daemon
	for _, d := range g.nodes {
		if d != nil {
			ds = append(ds, d)
		}
	}
	return ds
}

// post sends events to node i until it takes them (a node answers 503
// while the group has no leader it can hand them to).
func (g *haGroup) post(i int, body string) {
	g.t.Helper()
	url := g.nodes[i].baseURL(g.t) + "/v1/events?cluster=ziti"
	waitFor(g.t, fmt.Sprintf("lh%d to take events", i+1), func() bool {
		code, _, _ := postWith(g.t, g.api(), url, "t0k3n", body)
		return code == http.StatusAccepted
	}, g.live()...)
}

// isolate cuts node i off from the others, both ways, or heals it.
func (g *haGroup) isolate(i int, on bool) {
	for j := range haNodes {
		if i != j {
			g.proxies[i][j].cut(on)
			g.proxies[j][i].cut(on)
		}
	}
}

// eventAt is one member's report, stamped at.
func eventAt(src, typ, leader string, at time.Time) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`,
		src, at.UTC().Format(time.RFC3339Nano), typ, extra)
}

// haReceiver records every request; while failing, it answers 500.
type haReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []haRequest
	failing  bool
}

type haRequest struct {
	id, body string
	ok       bool
}

func newHAReceiver(t *testing.T) *haReceiver {
	r := &haReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests = append(r.requests, haRequest{id: req.Header.Get("webhook-id"), body: string(body), ok: !r.failing})
		if r.failing {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *haReceiver) fail(on bool) {
	r.mu.Lock()
	r.failing = on
	r.mu.Unlock()
}

// deliveries returns, for the requests of a rule's firing or resolve
// whose body holds marker, how many requests carried each delivery id and
// whether one of them was delivered (answered 2xx).
func (r *haReceiver) deliveries(rule, status, marker string) (requests map[string]int, delivered map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	requests, delivered = map[string]int{}, map[string]bool{}
	for _, q := range r.requests {
		var p struct {
			Rule   string `json:"rule"`
			Status string `json:"status"`
		}
		if json.Unmarshal([]byte(q.body), &p) != nil || p.Rule != rule || p.Status != status || !strings.Contains(q.body, marker) {
			continue
		}
		requests[q.id]++
		delivered[q.id] = delivered[q.id] || q.ok
	}
	return requests, delivered
}

func (r *haReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// restart starts node i again (after kill9), on the same config.
func (g *haGroup) restart(i int) {
	g.nodes[i] = startDaemon(g.t, g.configs[i])
}

func (g *haGroup) kill9(i int) {
	g.nodes[i].kill9(g.t)
	g.nodes[i] = nil
}

// attempts returns the delivery ids node i attempted, from its audit log.
func (g *haGroup) attempts(i int) []string {
	data, _ := os.ReadFile(filepath.Join(g.dir, fmt.Sprintf("lh%d", i+1), "audit.jsonl"))
	var ids []string
	for _, line := range strings.Split(string(data), "\n") {
		var r struct {
			Kind       string `json:"kind"`
			DeliveryID string `json:"delivery_id"`
		}
		if json.Unmarshal([]byte(line), &r) == nil && r.Kind == "attempt" {
			ids = append(ids, r.DeliveryID)
		}
	}
	return ids
}
