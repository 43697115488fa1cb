package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// receiver is a webhook endpoint that fails the first attempts of each
// delivery it is told to.
type receiver struct {
	mu       sync.Mutex
	failures int // answer 500 to this many requests first
	requests []request
}

type request struct {
	id     string
	status string
	code   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	code := 200
	if r.failures > 0 {
		r.failures--
		code = 500
	}
	status := "firing"
	if strings.Contains(string(body), `"status":"resolved"`) {
		status = "resolved"
	}
	r.requests = append(r.requests, request{id: req.Header.Get("webhook-id"), status: status, code: code})
	w.WriteHeader(code)
}

func (r *receiver) seen() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

func waitFor(t *testing.T, what string, cond func() bool, ds ...*daemon) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, d := range ds {
				logs.WriteString(d.logs())
			}
			t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// daemon is a running `leaderhook run`.
type daemon struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	log strings.Builder
}

func startDaemon(t *testing.T, config string) *daemon {
	t.Helper()
	return startDaemonArgs(t, "run", "-c", config, "--log-format", "json")
}

func startDaemonArgs(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{cmd: exec.Command(binary, args...)}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if strings.Contains(sc.Text(), "leaderhook running") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("daemon did not start:\n%s", d.logs())
	}
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		if strings.Contains(d.logs(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in the daemon:\n%s", d.logs())
		}
	})
	return d
}

// baseURL is the daemon's API address, from its "leaderhook running" line.
func (d *daemon) baseURL(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`"listen":"([^"]+)","tls":(true|false)`).FindStringSubmatch(d.logs())
	if m == nil {
		t.Fatalf("no listen address in the log:\n%s", d.logs())
	}
	if m[2] == "true" {
		return "https://" + m[1]
	}
	return "http://" + m[1]
}

func (d *daemon) logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and waits for the daemon to say it stopped. A stop
// delivers what is queued first: what was decided has been attempted by
// then, so a count taken after it is final.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to stop", func() bool { return strings.Contains(d.logs(), "leaderhook stopped") }, d)
}

func (d *daemon) kill9(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()
}

func appendEvent(t *testing.T, path, typ, leader string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	fmt.Fprintf(f, `{"namespace":"cluster","event_src_id":"m1","timestamp":%q,"eventType":%q%s}`+"\n",
		time.Now().UTC().Format(time.RFC3339Nano), typ, extra)
}

// TestKill9MidRetryAndMidCooldown kills the daemon with SIGKILL while a
// delivery is being retried and again inside a cooldown: the retry resumes
// with the same webhook-id, the cluster that recovered while leaderhook was
// down gets its resolve once, and nothing fires twice inside the cooldown.
func TestKill9MidRetryAndMidCooldown(t *testing.T) {
	rcv := &receiver{failures: 2}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, nil, 0o644)
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0"}
state_dir: %s/state
audit_log: %s/audit.jsonl
clusters:
  - name: c1
    stabilize: 0s
    source: {type: events, file: %s}
actions:
  hook:
    type: webhook
    url: %s/hook
    secret: whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=
    timeout: 2s
    retry: {max_attempts: 10, initial_backoff: 1s, max_backoff: 1s}
rules:
  - name: down-1s
    when: leaderless_for >= duration("1s")
    actions: [hook]
    on_resolve: [hook]
    cooldown: 10m
`, dir, dir, events, srv.URL)), 0o644)

	a := startDaemon(t, config)
	appendEvent(t, events, "state.has_leader", "m1")
	appendEvent(t, events, "state.is_leaderless", "")
	waitFor(t, "the first attempt", func() bool { return len(rcv.seen()) >= 1 }, a)
	// The receiver has the request a moment before leaderhook has the
	// answer: wait until the journal counts the attempt.
	waitFor(t, "the journal to count the first attempt", func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "state", "pending.log"))
		return err == nil && strings.Contains(string(data), `"attempts":1`)
	}, a)
	a.kill9(t) // mid-retry: the next attempt is due in 0.5–1.5 s (1 s, jittered)

	appendEvent(t, events, "state.has_leader", "m1") // the cluster recovers while leaderhook is down
	b := startDaemon(t, config)
	waitFor(t, "the resumed delivery and the resolve", func() bool {
		n := 0
		for _, r := range rcv.seen() {
			if r.code == 200 {
				n++
			}
		}
		return n == 2
	})
	reqs := rcv.seen()
	firingID := reqs[0].id
	var firing, resolved []request
	for _, r := range reqs {
		if r.status == "firing" {
			firing = append(firing, r)
		} else {
			resolved = append(resolved, r)
		}
	}
	if len(firing) != 3 {
		t.Errorf("firing attempts %+v, want 500, 500, 200", firing)
	}
	for _, r := range firing {
		if r.id != firingID {
			t.Errorf("attempt with webhook-id %s, want %s for every attempt across the restart", r.id, firingID)
		}
	}
	if len(resolved) != 1 || resolved[0].id == firingID {
		t.Errorf("resolves %+v, want exactly one, with its own delivery id", resolved)
	}

	// Leaderless again, inside the cooldown: suppressed, not sent.
	appendEvent(t, events, "state.is_leaderless", "")
	waitFor(t, "the suppression", func() bool { return strings.Contains(b.logs(), `"reason":"cooldown"`) })
	// The end of a delivery reaches the journal just after the receiver's
	// answer (a crash in between sends it again, as at least once
	// allows): wait for it, so that the count below is exact.
	waitFor(t, "the journal to show both deliveries done", func() bool { return journalSettled(t, filepath.Join(dir, "state")) })
	b.kill9(t) // mid-cooldown

	c := startDaemon(t, config)
	appendEvent(t, events, "state.has_leader", "m1")
	appendEvent(t, events, "state.is_leaderless", "")
	waitFor(t, "the second suppression", func() bool { return strings.Contains(c.logs(), `"reason":"cooldown"`) })
	c.stop(t)
	if n := len(rcv.seen()); n != 4 {
		t.Errorf("the receiver got %d requests, want 4 (3 attempts of the firing, 1 resolve): %+v", n, rcv.seen())
	}
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if !strings.Contains(string(audit), `"delivery_id":"`+firingID+`","attempt":3,"outcome":"ok"`) {
		t.Errorf("the audit log does not show the third attempt of %s succeeding:\n%s", firingID, audit)
	}
}

// TestSIGTERMDrains: SIGTERM with an action in flight (a receiver taking
// a second to answer) finishes the delivery within the drain timeout and
// exits 0.
func TestSIGTERMDrains(t *testing.T) {
	rcv := &receiver{}
	inFlight := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight <- struct{}{}
		time.Sleep(time.Second)
		rcv.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, nil, 0o644)
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: c1
    stabilize: 0s
    source: {type: events, file: %s}
actions:
  hook: {type: webhook, url: %s/hook}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`, dir, events, srv.URL)), 0o644)
	d := startDaemon(t, config)
	readyz := d.baseURL(t) + "/readyz"
	if code, body := get(t, readyz); code != 200 {
		t.Errorf("readyz once running: %d %s", code, body)
	}
	appendEvent(t, events, "state.has_leader", "m1")
	appendEvent(t, events, "state.is_leaderless", "")
	<-inFlight
	d.cmd.Process.Signal(syscall.SIGTERM)
	// Draining: still answering, but no longer ready, so that a load
	// balancer sends events elsewhere.
	waitFor(t, "readyz to say shutting down", func() bool {
		code, body := get(t, readyz)
		return code == 503 && strings.Contains(body, "shutting down")
	}, d)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, d.logs())
	}
	if len(rcv.seen()) != 1 {
		t.Errorf("delivered %d, want 1", len(rcv.seen()))
	}
	if !strings.Contains(d.logs(), "leaderhook stopped") {
		t.Errorf("no clean stop:\n%s", d.logs())
	}
	// The operator sees what is running, and why the stop takes a while.
	if l := d.logs(); !strings.Contains(l, `"watching":"c1 (events)"`) ||
		!strings.Contains(l, `"msg":"stopping: delivering what is queued","queued":0,"drain_timeout":"10s"`) {
		t.Errorf("the log lacks the clusters watched or the drain:\n%s", l)
	}
}

// journalSettled reports whether every delivery journaled in stateDir is
// marked done.
func journalSettled(t *testing.T, stateDir string) bool {
	data, err := os.ReadFile(filepath.Join(stateDir, "pending.log"))
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		var l struct{ Op, ID string }
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		open[l.ID] = l.Op == "pending"
	}
	for _, pending := range open {
		if pending {
			return false
		}
	}
	return true
}

// TestReloadRestartsChangedSources: a reload that points a cluster at
// another events file follows the new file at once; a cluster whose source
// did not change keeps its reader.
func TestReloadRestartsChangedSources(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := t.TempDir()
	first, second, other := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "other.jsonl")
	for _, f := range []string{first, second, other} {
		os.WriteFile(f, nil, 0o644)
	}
	config := filepath.Join(dir, "rules.yaml")
	write := func(c1File string) {
		os.WriteFile(config, []byte(fmt.Sprintf(`
server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: c1, stabilize: 0s, source: {type: events, file: %s}}
  - {name: c2, stabilize: 0s, source: {type: events, file: %s}}
actions:
  hook: {type: webhook, url: %s/hook}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`, dir, c1File, other, srv.URL)), 0o644)
	}
	write(first)
	d := startDaemon(t, config)
	appendEvent(t, first, "state.has_leader", "m1")
	appendEvent(t, other, "state.has_leader", "m1")
	waitFor(t, "both files read", func() bool { return strings.Count(d.logs(), `"msg":"cluster state"`) >= 2 }, d)

	write(second)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(d.logs(), "event source restarted") }, d)
	if strings.Count(d.logs(), "event source restarted") != 1 {
		t.Errorf("only c1's source changed:\n%s", d.logs())
	}
	appendEvent(t, first, "state.is_leaderless", "") // no longer followed
	appendEvent(t, second, "state.has_leader", "m1")
	appendEvent(t, second, "state.is_leaderless", "")
	appendEvent(t, other, "state.is_leaderless", "")
	waitFor(t, "a delivery for each cluster", func() bool { return len(rcv.seen()) >= 2 }, d)
	d.stop(t)
	if n := len(rcv.seen()); n != 2 {
		t.Errorf("%d deliveries, want 2 (c1 from the new file, c2 unchanged)\n%s", n, d.logs())
	}
}
