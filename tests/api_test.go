package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func apiConfig(dir, receiver, rules string) string {
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  ingest_token: ${TEST_TOKEN}
  max_body_bytes: 4096
state_dir: %s/state
clusters:
  - name: ziti
    stabilize: 0s
    source: {type: events, http: true}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
%s
`, dir, receiver, rules)
}

// startAPIDaemon starts leaderhook with apiConfig, rules acting on the
// webhook at hookURL, and the ingest token t0k3n.
func startAPIDaemon(t *testing.T, hookURL, rules string) (d *daemon, dir, config string) {
	t.Helper()
	dir = t.TempDir()
	config = filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(config, []byte(apiConfig(dir, hookURL, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_TOKEN", "t0k3n")
	return startDaemon(t, config), dir, config
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ev(src, typ, leader string) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`, src, time.Now().UTC().Format(time.RFC3339Nano), typ, extra)
}

func TestHTTPAPI(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	d, dir, config := startAPIDaemon(t, hook.URL, `  - {name: lost, when: leaderless, actions: [hook]}`)
	base := d.baseURL(t)
	events := base + "/v1/events?cluster=ziti"

	// Before any event the cluster shows as not known, with no has_leader.
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `leaderhook_cluster_known{cluster="ziti"} 0`) ||
		strings.Contains(metrics, "leaderhook_cluster_has_leader{") {
		t.Errorf("metrics before any event:\n%s", grepLines(metrics, "leaderhook_cluster_"))
	}

	// Authentication.
	if code, _ := post(t, events, "", ev("c1", "state.rw", "")); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := post(t, events, "wrong", ev("c1", "state.rw", "")); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	// A batch with a bad line is refused whole, naming the line.
	code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "c1")+"\n"+`{"namespace":"cluster"}`)
	if code != 400 || !strings.Contains(body, "line 2") || !strings.Contains(body, "nothing was accepted") {
		t.Errorf("bad batch: %d %s", code, body)
	}
	if code, _ := post(t, events, "t0k3n", strings.Repeat(" ", 5000)+ev("c1", "state.rw", "")); code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if code, body := post(t, base+"/v1/events?cluster=nope", "t0k3n", ev("c1", "state.rw", "")); code != 404 {
		t.Errorf("unknown cluster: %d %s", code, body)
	}
	// A good batch (a JSON array), then a loss as one object.
	if code, body := post(t, events, "t0k3n", "["+ev("c1", "state.has_leader", "c1")+","+ev("c2", "state.has_leader", "c1")+"]"); code != 202 || !strings.Contains(body, `"accepted": 2`) {
		t.Errorf("good batch: %d %s", code, body)
	}
	post(t, events, "t0k3n", ev("c1", "state.is_leaderless", "")+"\n"+ev("c2", "state.is_leaderless", ""))
	waitFor(t, "the webhook", func() bool { return len(rcv.seen()) == 1 }, d)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	_, metrics := get(t, base+"/metrics")
	if os.Getenv("GOMAXPROCS") == "" {
		// One CPU for Go code while no work overlaps (cmd/leaderhook/procs.go);
		// a GOMAXPROCS in the environment would stand instead.
		if !strings.Contains(metrics, "go_sched_gomaxprocs_threads 1\n") {
			t.Error("metrics lack go_sched_gomaxprocs_threads 1")
		}
	}
	if os.Getenv("GOGC") == "" && !strings.Contains(metrics, "go_gc_gogc_percent 200\n") {
		// The daemon's collection target (cmd/leaderhook daemonGC).
		t.Error("metrics lack go_gc_gogc_percent 200")
	}
	for _, want := range []string{
		`leaderhook_events_total{cluster="ziti",source="c1",type="state.has_leader"} 1`,
		`leaderhook_cluster_has_leader{cluster="ziti"} 0`,
		`leaderhook_cluster_known{cluster="ziti"} 1`,
		`leaderhook_rule_outcomes_total{cluster="ziti",outcome="fired",reason="",rule="lost"} 1`,
		`leaderhook_action_attempts_total{action="hook",outcome="ok"} 1`,
		`leaderhook_config_last_reload_successful 1`,
		`leaderhook_config_reloads_total{result="success"} 0`,
		`leaderhook_config_reloads_total{result="failure"} 0`,
		`leaderhook_cluster_leaderless_seconds{cluster="ziti"}`,
		`leaderhook_action_queue_depth 0`,
		`leaderhook_events_rejected_total{cluster="ziti",input="http"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	code, body = get(t, base+"/v1/state")
	var state map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &state) != nil || !strings.Contains(body, `"PreviousLeaderID": "c1"`) ||
		!strings.Contains(body, `"Reports": {`) || !strings.Contains(body, `"c2": {`) {
		t.Errorf("state: %d %s", code, body)
	}

	// Reload: a broken config is refused and the old one keeps running.
	os.WriteFile(config, []byte(apiConfig(dir, hook.URL, `  - {name: lost, when: leadr_id == "", actions: [hook]}`)), 0o644)
	// The answer and the log record name the problem, with its place.
	if code, body := post(t, base+"/-/reload", "t0k3n", ""); code != 400 || !strings.Contains(body, "unchanged") ||
		!strings.Contains(body, `rules.yaml:`) || !strings.Contains(body, `leadr_id`) {
		t.Errorf("broken reload: %d %s", code, body)
	}
	waitFor(t, "the reload refused log record, saying why", func() bool {
		return strings.Contains(grepLines(d.logs(), "reload refused"), "leadr_id")
	}, d)
	_, metrics = get(t, base+"/metrics")
	if !strings.Contains(metrics, "leaderhook_config_last_reload_successful 0") ||
		!strings.Contains(metrics, `leaderhook_config_reloads_total{result="failure"} 1`) ||
		!strings.Contains(metrics, `leaderhook_config_reloads_total{result="success"} 0`) {
		t.Error("the failed reload is not in the metrics")
	}
	// A good one applies: the new rule fires on the next change; the old
	// rule keeps its state (it does not fire again).
	os.WriteFile(config, []byte(apiConfig(dir, hook.URL, "  - {name: lost, when: leaderless, actions: [hook]}\n  - {name: back, when: '!leaderless', actions: [hook]}")), 0o644)
	if code, body := post(t, base+"/-/reload", "t0k3n", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if _, metrics = get(t, base+"/metrics"); !strings.Contains(metrics, `leaderhook_config_reloads_total{result="success"} 1`) {
		t.Error("the reload is not counted once")
	}
	post(t, events, "t0k3n", ev("c1", "state.has_leader", "c2")+"\n"+ev("c2", "state.has_leader", "c2"))
	waitFor(t, "the new rule", func() bool { return len(rcv.seen()) == 2 }, d)
	time.Sleep(200 * time.Millisecond)
	if n := len(rcv.seen()); n != 2 {
		t.Errorf("%d webhooks, want 2 (lost once, back once)", n)
	}
}

// TestAcceptedEventsSurviveKill9: once POST /v1/events has answered 202,
// what the events fired is journaled; SIGKILL right after the answer loses
// nothing, and the delivery goes out after the restart.
func TestAcceptedEventsSurviveKill9(t *testing.T) {
	rcv := &receiver{failures: 1} // the first attempt fails: the delivery is still pending at the kill
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	a, _, config := startAPIDaemon(t, hook.URL, `  - {name: lost, when: leaderless, actions: [hook]}`)
	events := a.baseURL(t) + "/v1/events?cluster=ziti"
	if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "c1")); code != 202 {
		t.Fatalf("leader: %d %s", code, body)
	}
	if code, body := post(t, events, "t0k3n", ev("c1", "state.is_leaderless", "")); code != 202 {
		t.Fatalf("loss: %d %s", code, body)
	}
	a.kill9(t)

	b := startDaemon(t, config)
	waitFor(t, "the delivery after the restart", func() bool {
		for _, r := range rcv.seen() {
			if r.code == 200 && r.status == "firing" {
				return true
			}
		}
		return false
	}, b)
}

// TestIngestRefusesRatherThanDrops: with the receiver hung and the
// cluster's action queue half full, POST /v1/events answers 503 with
// Retry-After, and nothing accepted is dropped.
func TestIngestRefusesRatherThanDrops(t *testing.T) {
	hung := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hung }))
	defer hook.Close()
	defer close(hung)
	d, _, _ := startAPIDaemon(t, hook.URL, `  - {name: changed, when: type == "state.has_leader", actions: [hook]}`)
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	// 600 leader changes in batches (server.max_body_bytes is 4096):
	// more than half of the 1,024 deliveries the queue holds.
	changes, refused := 0, false
	for changes < 700 && !refused {
		var batch []string
		for range 20 {
			batch = append(batch, ev("c1", "state.has_leader", fmt.Sprintf("c%d", changes%2+1)))
			changes++
		}
		code, body := post(t, events, "t0k3n", strings.Join(batch, "\n"))
		switch {
		case code == 503 && strings.Contains(body, "backed up"):
			refused = true
		case code != 202:
			t.Fatalf("batch at %d: %d %s", changes, code, body)
		}
	}
	if !refused {
		t.Fatalf("%d leader changes queued for a hung receiver, and ingest never refused", changes)
	}
	if strings.Contains(d.logs(), "queue full") || strings.Contains(d.logs(), "dropped") {
		t.Errorf("deliveries were dropped:\n%s", d.logs())
	}
}

// TestIngestAnswersAfterQuickDeliveries: the 202 waits for a quick
// delivery to be made (so that the sender's next request does not compete
// with it), but not for a slow one beyond a few milliseconds.
func TestIngestAnswersAfterQuickDeliveries(t *testing.T) {
	var mu sync.Mutex
	done := map[string]time.Time{} // leader id → when the receiver answered
	hung := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			State struct {
				LeaderID string `json:"leader_id"`
			} `json:"state"`
		}
		json.NewDecoder(r.Body).Decode(&n)
		if strings.HasPrefix(n.State.LeaderID, "slow") {
			<-hung
			return
		}
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		done[n.State.LeaderID] = time.Now()
		mu.Unlock()
	}))
	defer hook.Close()
	defer close(hung)
	d, _, _ := startAPIDaemon(t, hook.URL, `  - {name: changed, when: type == "state.has_leader", actions: [hook]}`)
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "first")); code != 202 {
		t.Fatalf("%d %s", code, body) // the baseline: nothing fires
	}

	// A loaded machine may take longer than the settling time (20 ms) now
	// and then: most answers, not all, must come after the delivery.
	// Without the wait, the answer comes first every time.
	after := 0
	for i := range 5 {
		id := fmt.Sprint("quick", i)
		if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", id)); code != 202 {
			t.Fatalf("%d %s", code, body)
		}
		answered := time.Now()
		mu.Lock()
		at, ok := done[id]
		mu.Unlock()
		if ok && !at.After(answered) {
			after++
		}
	}
	if after < 3 {
		t.Errorf("%d of 5 answers came after their quick delivery was made, want 3 or more", after)
	}

	start := time.Now()
	if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "slow")); code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("the answer waited %s for a receiver that hangs; want about 20 ms", took)
	}
}

// TestCPUsWhileScriptsRun: the daemon runs its Go code on one CPU, and on
// all of them while a script runs, also for an action added by a reload
// (cmd/leaderhook/procs.go).
func TestCPUsWhileScriptsRun(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Fatalf("this test needs 2 CPUs or more to tell one from all (%d)", runtime.NumCPU())
	}
	t.Setenv("GOMAXPROCS", "") // unset: a value would stand instead
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "failover.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch \"$1\"\nsleep 1.5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := func(action string) string {
		return strings.Replace(apiConfig(dir, hook.URL, fmt.Sprintf(`  - {name: changed, when: 'type == "state.has_leader"', actions: [%s]}`, action)),
			"actions:\n", fmt.Sprintf("actions:\n  %s: {type: shell, command: [%s, %q]}\n", action, script, filepath.Join(dir, "started-{{ .LeaderID }}")), 1)
	}
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, []byte(config("failover")), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_TOKEN", "t0k3n")
	d := startDaemon(t, path)
	base := d.baseURL(t)
	procs := func() string {
		_, metrics := get(t, base+"/metrics")
		for _, line := range strings.Split(metrics, "\n") {
			if v, ok := strings.CutPrefix(line, "go_sched_gomaxprocs_threads "); ok {
				return v
			}
		}
		return "none"
	}
	all := fmt.Sprint(runtime.NumCPU())
	waitFor(t, "one CPU at start", func() bool { return procs() == "1" }, d)

	post(t, base+"/v1/events?cluster=ziti", "t0k3n", ev("c1", "state.has_leader", "c1")) // the baseline
	for _, step := range []struct{ action, leader string }{{"failover", "c2"}, {"failover2", "c3"}} {
		if step.action != "failover" {
			if err := os.WriteFile(path, []byte(config(step.action)), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, body := post(t, base+"/-/reload", "t0k3n", ""); code != 200 {
				t.Fatalf("reload: %d %s", code, body)
			}
		}
		post(t, base+"/v1/events?cluster=ziti", "t0k3n", ev("c1", "state.has_leader", step.leader))
		waitFor(t, step.action+" started", func() bool {
			_, err := os.Stat(filepath.Join(dir, "started-"+step.leader))
			return err == nil
		}, d)
		if got := procs(); got != all {
			t.Errorf("%s running: GOMAXPROCS %s, want %s", step.action, got, all)
		}
		waitFor(t, "one CPU again after "+step.action, func() bool { return procs() == "1" }, d)
	}
}

// An accepted batch never has its deliveries dropped: a batch larger than
// half an action queue is refused whole (413), and one that would fill a
// queue past half is refused (503) while the receiver is stuck.
func TestIngestNeverDropsAnAcceptedBatch(t *testing.T) {
	stuck := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
	}))
	defer hook.Close()
	defer close(stuck)
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
audit_log: %s/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook", timeout: 1m}
rules:
  - {name: changed, when: 'type == "state.has_leader"', actions: [hook]}
`, dir, dir, hook.URL)), 0o644)
	d := startDaemon(t, config)
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	batch := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(ev("c1", "state.has_leader", []string{"A", "B"}[i%2]) + "\n")
		}
		return b.String()
	}
	if code, body := post(t, events, "", batch(513)); code != 413 || !strings.Contains(body, "send at most 512 per request") {
		t.Errorf("a batch of 513: %d %s", code, body)
	}
	accepted, refused := 0, 0
	for range 4 {
		switch code, body := post(t, events, "", batch(400)); code {
		case 202:
			accepted++
		case 503:
			refused++
		default:
			t.Fatalf("a batch of 400: %d %s", code, body)
		}
	}
	if accepted == 0 || refused == 0 {
		t.Errorf("%d batches accepted, %d refused: want both", accepted, refused)
	}
	_, metrics := get(t, d.baseURL(t)+"/metrics")
	if strings.Contains(metrics, `leaderhook_action_failures_total{action="hook"}`) {
		t.Errorf("deliveries were dropped:\n%s", grepLines(metrics, "action_failures"))
	}
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if n := strings.Count(string(audit), `"kind":"dropped"`); n > 0 {
		t.Errorf("%d deliveries dropped", n)
	}
	if n := strings.Count(string(audit), `"kind":"queued"`); n < 399 {
		t.Errorf("%d deliveries queued, want at least a batch's", n)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
