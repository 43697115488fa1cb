package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pageReceiver keeps the payloads it is sent, with when they came.
type pageReceiver struct {
	mu  sync.Mutex
	got []page
}

type page struct {
	at         time.Time
	id, status string
	summary    string
}

func (p *pageReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var payload struct{ Status, Summary string }
	json.Unmarshal(body, &payload)
	p.mu.Lock()
	p.got = append(p.got, page{at: time.Now(), id: r.Header.Get("webhook-id"), status: payload.Status, summary: payload.Summary})
	p.mu.Unlock()
}

func (p *pageReceiver) pages() []page {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]page(nil), p.got...)
}

// verifyConfig: a loss runs a failover script, which exits 0; the cluster
// must then have a leader within 2s, or the page webhook is called.
func verifyConfig(t *testing.T, pageURL string) (config, done string) {
	t.Helper()
	dir := t.TempDir()
	done = filepath.Join(dir, "failover.done")
	script := filepath.Join(dir, "failover.sh")
	// It writes when it ends, in nanoseconds, then exits 0.
	os.WriteFile(script, []byte("#!/bin/sh\nsleep 0.2\ndate +%s%N > "+done+"\n"), 0o755)
	config = filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %[1]s/state
audit_log: %[1]s/audit.jsonl
clusters:
  - name: ziti
    stabilize: 0s
    source: {type: events, http: true}
actions:
  failover: {type: shell, command: [%[2]s]}
  page: {type: webhook, url: "%[3]s/page"}
rules:
  - name: failover
    when: leaderless
    actions: [failover]
    verify: {when: "!leaderless", within: 2s, on_failure: [page]}
`, dir, script, pageURL)), 0o644)
	return config, done
}

// scriptEnded waits for the failover script to have ended, and returns
// when it did.
func scriptEnded(t *testing.T, done string, d *daemon) time.Time {
	t.Helper()
	var data []byte
	waitFor(t, "the failover script", func() bool {
		data, _ = os.ReadFile(done)
		return strings.HasSuffix(string(data), "\n")
	}, d)
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(0, ns)
}

// A failover script that exits 0 is not a leader: with none 2s after it
// succeeded, the on_failure webhook gets status verify_failed, at that
// instant, audited; with a leader in time, the rule is verified and
// nothing is paged. A restart inside the window keeps it. A replay of the
// flight recording decides the same, at the same instants.
func TestVerifiedFailover(t *testing.T) {
	for _, tc := range []struct {
		name    string
		leader  bool // a leader comes within the window
		restart bool // the daemon restarts inside it
	}{
		{name: "no leader comes: verify_failed"},
		{name: "a leader comes in time: verified", leader: true},
		{name: "a restart inside the window: verify_failed all the same", restart: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &pageReceiver{}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			config, done := verifyConfig(t, srv.URL)
			d := startDaemon(t, config)
			daemons := []*daemon{d}
			defer func() { replaysTheSame(t, config, daemons) }()
			events := d.baseURL(t) + "/v1/events?cluster=ziti"
			post(t, events, "", ev("c1", "state.has_leader", "c1"))
			post(t, events, "", ev("c1", "state.is_leaderless", ""))
			ended := scriptEnded(t, done, d)
			waitFor(t, "the verification", func() bool { return strings.Contains(d.logs(), "verifying") }, d)
			switch {
			case tc.leader:
				post(t, events, "", ev("c1", "state.has_leader", "c2"))
				waitFor(t, "the rule verified", func() bool { return strings.Contains(d.logs(), `"msg":"rule verified"`) }, d)
				d.stop(t) // what was queued is delivered before it stops
				if got := rcv.pages(); len(got) > 0 {
					t.Errorf("paged %+v, though a leader came in time", got)
				}
				return
			case tc.restart:
				d.stop(t)
				d = startDaemon(t, config)
				daemons = append(daemons, d)
			}
			waitFor(t, "the page", func() bool { return len(rcv.pages()) > 0 }, d)
			p := rcv.pages()[0]
			if p.status != "verify_failed" || !strings.HasPrefix(p.summary, "not verified after the actions succeeded: no leader") {
				t.Errorf("page: %+v", p)
			}
			if late := p.at.Sub(ended.Add(2 * time.Second)); late < 0 || (!tc.restart && late > 2*time.Second) {
				t.Errorf("paged %s after the window's end", late)
			}
			d.stop(t)
			audit, _ := os.ReadFile(filepath.Join(filepath.Dir(config), "audit.jsonl"))
			want := fmt.Sprintf(`"kind":"delivered","rule":"failover","status":"verify_failed","cluster":"ziti","action":"page","delivery_id":%q`, p.id)
			if !strings.Contains(string(audit), want) {
				t.Errorf("the audit log lacks %s:\n%s", want, audit)
			}
		})
	}
}

// replaysTheSame checks that `replay` of the daemons' flight recording
// makes the decisions they logged.
func replaysTheSame(t *testing.T, config string, daemons []*daemon) {
	t.Helper()
	var logged []decision
	for _, d := range daemons {
		logged = append(logged, loggedDecisions(t, d.logs())...)
	}
	if !slices.ContainsFunc(logged, func(d decision) bool { return strings.HasPrefix(d.kind, "verif") }) {
		t.Errorf("no verification among the decisions logged: %v", logged)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(config), "state", "inputs*.jsonl"))
	out, stderr, code := run(t, nil, append([]string{"replay", "-c", config, "--format", "json"}, files...)...)
	if replayed := replayedDecisions(t, out); code != 0 || !sameDecisions(logged, replayed) {
		t.Errorf("exit %d; the daemons decided:\n%v\nthe replay:\n%v\n%s", code, logged, replayed, stderr)
	}
}

// In a group, the end of the firing's delivery reaches every node through
// the group's log: each node decides verify_failed, at the same instant,
// and the on_failure action goes out once.
func TestVerifyInAGroup(t *testing.T) {
	g := startGroup(t, "10s", `  - name: lost
    when: leaderless
    actions: [hook]
    verify: {when: "!leaderless", within: 1s, on_failure: [hook]}`)
	l := g.leader()
	g.post(l, eventAt("c1", "state.has_leader", "c1", time.Now()))
	g.post(l, eventAt("c1", "state.is_leaderless", "", time.Now()))
	waitFor(t, "the page", func() bool {
		requests, _ := g.receiver.deliveries("lost", "verify_failed", "")
		return len(requests) > 0
	}, g.live()...)
	var at []time.Time
	waitFor(t, "every node to decide verify_failed", func() bool {
		at = nil
		for _, d := range g.nodes {
			for _, x := range loggedDecisions(t, d.logs()) {
				if x.kind == "verify_failed" {
					at = append(at, x.at)
				}
			}
		}
		return len(at) == haNodes
	}, g.live()...)
	if !at[0].Equal(at[1]) || !at[1].Equal(at[2]) {
		t.Errorf("the nodes decided verify_failed at %v", at)
	}
	if requests, _ := g.receiver.deliveries("lost", "verify_failed", ""); len(requests) != 1 {
		t.Errorf("verify_failed went out as %v, want one delivery", requests)
	}
}
