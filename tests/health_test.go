package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterHealth is a cluster's part of GET /v1/state.
type clusterHealth struct {
	HasLeader       bool `json:"has_leader"`
	MembersUp       int  `json:"members_up"`
	QuorumMargin    int  `json:"quorum_margin"`
	WatcherIsolated bool `json:"watcher_isolated"`
	Members         []struct {
		Follows    string    `json:"follows"`
		LastReport time.Time `json:"last_report"`
	} `json:"members"`
}

// allReport reports whether every member has reported and follows leader.
func (h clusterHealth) allReport(leader string) bool {
	for _, m := range h.Members {
		if m.LastReport.IsZero() || m.Follows != leader {
			return false
		}
	}
	return len(h.Members) > 0
}

func healthOf(t *testing.T, base string) clusterHealth {
	t.Helper()
	_, body := get(t, base+"/v1/state")
	var s struct {
		Clusters []clusterHealth `json:"clusters"`
	}
	if json.Unmarshal([]byte(body), &s) != nil || len(s.Clusters) != 1 {
		t.Fatalf("state: %s", body)
	}
	return s.Clusters[0]
}

// TestQuorumMarginOnRealEtcd: with one of three etcd members stopped, the
// cluster keeps its leader but has no fault tolerance left: the rule on
// quorum_margin == 0 fires, and resolves when the member is back.
func TestQuorumMarginOnRealEtcd(t *testing.T) {
	etcd := startEtcd(t)
	rcv := &ruleReceiver{}
	hook := httptestServer(t, rcv)
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: etcd
    source: {type: poll, preset: etcd, members: [%s], interval: 200ms}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
  - {name: no-fault-tolerance, when: 'members_total >= 3 && quorum_margin == 0', for: 1s, actions: [hook], on_resolve: [hook]}
`, dir, strings.Join(etcd.client, ", "), hook)), 0o644)
	d := startDaemon(t, config)
	base := d.baseURL(t)
	waitFor(t, "a leader with every member up", func() bool { h := healthOf(t, base); return h.HasLeader && h.QuorumMargin == 1 }, d)
	etcd.kill(etcd.names[2])
	waitFor(t, "the firing on quorum_margin == 0", func() bool { return rcv.count("no-fault-tolerance firing") == 1 }, d)
	if h := healthOf(t, base); !h.HasLeader || h.MembersUp != 2 {
		t.Errorf("with one of three stopped: %+v, want a leader and 2 up", h)
	}
	etcd.restart(etcd.names[2])
	waitFor(t, "the resolve once the member is back", func() bool { return rcv.count("no-fault-tolerance resolved") == 1 }, d)
}

// TestWatcherCutOff: when leaderhook can no longer reach any member (a cut
// between it and them, the cluster fine), it says so and announces no
// outage; when the cut heals, nothing happened to the cluster.
func TestWatcherCutOff(t *testing.T) {
	var proxies []*cutProxy
	var members []string
	for _, name := range []string{"a", "b", "c"} {
		status := httptestServer(t, statusHandler(name, "a"))
		p := newCutProxy(t, strings.TrimPrefix(status, "http://"))
		proxies = append(proxies, p)
		members = append(members, "http://"+p.addr)
	}
	rcv := &ruleReceiver{}
	hook := httptestServer(t, rcv)
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: rq
    stabilize: 0s
    source: {type: poll, preset: rqlite, members: [%s], interval: 100ms, timeout: 200ms, grace: 500ms}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
  - {name: cut-off, when: watcher_isolated, actions: [hook], on_resolve: [hook]}
`, dir, strings.Join(members, ", "), hook)), 0o644)
	d := startDaemon(t, config)
	base := d.baseURL(t)
	// Every member heard from first: a member not heard from yet does not
	// vote, and with it and one cut off, no majority would be left to see.
	waitFor(t, "the leader, followed by every member", func() bool { h := healthOf(t, base); return h.HasLeader && h.allReport("a") }, d)
	for _, p := range proxies {
		p.cut(true)
	}
	waitFor(t, "leaderhook to say it is cut off", func() bool { return healthOf(t, base).WatcherIsolated }, d)
	if h := healthOf(t, base); !h.HasLeader {
		t.Errorf("cut off, leaderhook announced the cluster's outage: %+v\n%s", h, d.logs())
	}
	for _, p := range proxies {
		p.cut(false)
	}
	waitFor(t, "the cut to heal", func() bool { return !healthOf(t, base).WatcherIsolated }, d)
	d.stop(t)
	if got := rcv.all(); !slices.Equal(got, []string{"cut-off firing", "cut-off resolved"}) {
		t.Errorf("notifications %v, want the cut-off rule fired and resolved, and no outage\n%s", got, d.logs())
	}
}

// statusHandler answers rqlite's GET /status as member name following leader.
func statusHandler(name, leader string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"store":{"node_id":%q,"leader":{"node_id":%q,"addr":""}}}`, name, leader)
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ruleReceiver records each notification as "rule status".
type ruleReceiver struct {
	mu  sync.Mutex
	got []string
}

func (r *ruleReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n struct {
		Rule   string `json:"rule"`
		Status string `json:"status"`
	}
	json.NewDecoder(req.Body).Decode(&n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n.Rule+" "+n.Status)
}

func (r *ruleReceiver) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *ruleReceiver) count(what string) int {
	n := 0
	for _, g := range r.all() {
		if g == what {
			n++
		}
	}
	return n
}

// cutProxy forwards TCP to a target until cut: then it takes connections
// and answers nothing, as a network cut between leaderhook and a member
// would look (no refusal, no reset: silence). Connections in place go
// silent too: their far side is dropped, theirs is held open.
type cutProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	isCut  bool
	ups    []net.Conn // the far sides of connections in place
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: l.Addr().String(), target: target}
	t.Cleanup(func() { l.Close(); p.cut(true) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	p.mu.Lock()
	cut := p.isCut
	p.mu.Unlock()
	if cut {
		return // held open, silent: the client gives up on it
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.ups = append(p.ups, up)
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.isCut {
		c.Close() // the member closed it: pass that on
	}
}

// cut stops forwarding (connections in place go silent) or heals.
func (p *cutProxy) cut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = on
	for _, up := range p.ups {
		up.Close()
	}
	p.ups = nil
}
