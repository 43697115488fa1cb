package tests

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

// mountSmallDisk mounts a tmpfs of size at dir for the test: a disk the
// test can fill. It needs root (or sudo without a password); the test
// fails without, rather than skip.
func mountSmallDisk(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir}
	if os.Geteuid() != 0 {
		args = append([]string{"sudo", "-n"}, args...)
	}
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("mounting a small tmpfs for the full-disk test (needs root or passwordless sudo): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		umount := []string{"umount", "-l", dir}
		if os.Geteuid() != 0 {
			umount = append([]string{"sudo", "-n"}, umount...)
		}
		exec.Command(umount[0], umount[1:]...).Run()
	})
}

// fill writes to path until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// gatedReceiver fails every request until opened, and records the leader
// ids of the notifications it took.
type gatedReceiver struct {
	mu      sync.Mutex
	open    bool
	leaders map[string]bool
}

func (g *gatedReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n struct {
		State struct {
			LeaderID string `json:"leader_id"`
		} `json:"state"`
	}
	json.NewDecoder(r.Body).Decode(&n)
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	g.leaders[n.State.LeaderID] = true
}

func (g *gatedReceiver) got(leader string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.leaders[leader]
}

func (g *gatedReceiver) isOpen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *gatedReceiver) setOpen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
}

// TestFullDiskLosesNothingAcknowledged: with state_dir on a full disk,
// ingest answers 503 (nothing is acknowledged that a crash could lose),
// /readyz is not ready and leaderhook_crash_safe is 0; once there is room
// again it takes events again. After kill -9, every event that got a 202
// is delivered.
func TestFullDiskLosesNothingAcknowledged(t *testing.T) {
	rcv := &gatedReceiver{leaders: map[string]bool{}}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	mountSmallDisk(t, stateDir, "512k")
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook", retry: {max_attempts: 1000, initial_backoff: 100ms, max_backoff: 200ms}}
rules:
  - {name: changed, when: 'type == "state.has_leader"', actions: [hook]}
`, stateDir, hook.URL)), 0o644)
	a := startDaemon(t, config)
	base := a.baseURL(t)
	events := base + "/v1/events?cluster=ziti"
	post(t, events, "", ev("c1", "state.has_leader", "baseline"))
	var acknowledged []string
	send := func(leader string) int {
		code, _ := post(t, events, "", ev("c1", "state.has_leader", leader))
		if code == 202 {
			acknowledged = append(acknowledged, leader)
		}
		return code
	}
	for i := range 5 {
		if code := send(fmt.Sprint("before-", i)); code != 202 {
			t.Fatalf("with room on the disk: %d", code)
		}
	}

	fill(t, filepath.Join(stateDir, "filler"))
	refused := 0
	for i := range 20 {
		if send(fmt.Sprint("full-", i)) == 503 {
			refused++
		}
	}
	if refused == 0 {
		t.Error("every event was acknowledged with the journal's disk full")
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "journal") {
		t.Errorf("readyz with the disk full: %d %s", code, body)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, "leaderhook_crash_safe 0") {
		t.Error("leaderhook_crash_safe is not 0 with the disk full")
	}

	os.Remove(filepath.Join(stateDir, "filler"))
	waitFor(t, "the journal to be written again", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 }, a)
	for i := range 5 {
		if code := send(fmt.Sprint("after-", i)); code != 202 {
			t.Errorf("with room again: %d", code)
		}
	}
	a.kill9(t)

	rcv.setOpen()
	b := startDaemon(t, config)
	for _, leader := range acknowledged {
		waitFor(t, "the acknowledged change to "+leader, func() bool { return rcv.got(leader) }, b)
	}
}

// evAt is ev stamped at a time of the sender's choosing.
func evAt(src, typ, leader string, at time.Time) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`, src, at.UTC().Format(time.RFC3339Nano), typ, extra)
}

// TestMemberClockAheadDoesNotBlind: a member whose clock is 10 minutes,
// or 80 years, ahead does not move leaderhook's time: the next real loss
// is announced after its stabilize period, the skew is counted for that
// member, and a restart is not blind either.
func TestMemberClockAheadDoesNotBlind(t *testing.T) {
	for _, ahead := range []time.Duration{10 * time.Minute, 80 * 365 * 24 * time.Hour} {
		t.Run(ahead.String(), func(t *testing.T) {
			rcv := &receiver{}
			hook := httptest.NewServer(rcv)
			defer hook.Close()
			dir := t.TempDir()
			config := filepath.Join(dir, "rules.yaml")
			os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: ziti, members: [c1, c2, c3], stabilize: 1s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}
`, dir, hook.URL)), 0o644)
			a := startDaemon(t, config)
			events := a.baseURL(t) + "/v1/events?cluster=ziti"
			post(t, events, "", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1"))
			post(t, events, "", evAt("c3", "state.has_leader", "c1", time.Now().Add(ahead)))
			post(t, events, "", ev("c2", "state.is_leaderless", "")+"\n"+ev("c3", "state.is_leaderless", ""))
			waitFor(t, "the loss, announced after stabilize", func() bool { return len(rcv.seen()) == 1 }, a)
			_, metrics := get(t, a.baseURL(t)+"/metrics")
			if !strings.Contains(metrics, `leaderhook_events_skewed_total{cluster="ziti",source="c3"} 1`) ||
				!strings.Contains(metrics, `leaderhook_cluster_has_leader{cluster="ziti"} 0`) {
				t.Errorf("metrics lack the skew of c3 or the loss:\n%s", grepLines(metrics, "ziti"))
			}
			a.kill9(t)

			b := startDaemon(t, config)
			events = b.baseURL(t) + "/v1/events?cluster=ziti"
			post(t, events, "", ev("c1", "state.has_leader", "c1")+"\n"+ev("c2", "state.has_leader", "c1"))
			waitFor(t, "the resolve after the restart", func() bool { return len(rcv.seen()) == 2 }, b)
			post(t, events, "", ev("c1", "state.is_leaderless", "")+"\n"+ev("c2", "state.is_leaderless", ""))
			waitFor(t, "the next loss, after the restart", func() bool { return len(rcv.seen()) == 3 }, b)
		})
	}
}

// TestSlowClientsAreBounded: 2,000 clients that send part of a request
// and then nothing (as slowly as can be) hold neither unbounded memory nor
// unbounded file descriptors, and other clients are still served; a
// request without its token is refused before its body is read.
func TestSlowClientsAreBounded(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0", ingest_token: t0k3n}
state_dir: %s/state
clusters:
  - {name: ziti, source: {type: events, http: true}}
rules: []
`, dir)), 0o644)
	d := startDaemon(t, config)
	addr := strings.TrimPrefix(d.baseURL(t), "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range 2000 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		partial := "GET /v1/state HTTP/1.1\r\nHost: leaderhook\r\nX-Slow: " // headers never end
		if i%2 == 0 {
			partial = "POST /v1/events?cluster=ziti HTTP/1.1\r\nHost: leaderhook\r\nAuthorization: Bearer t0k3n\r\nContent-Length: 100000\r\n\r\n{" // a body never sent
		}
		if _, err := c.Write([]byte(partial)); err != nil {
			t.Fatal(err)
		}
	}
	pid := d.cmd.Process.Pid
	if fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); len(fds) > 1024+64 {
		t.Errorf("%d file descriptors open with 2,000 slow clients; the connection limit is 1,024", len(fds))
	}
	if rss := rssKB(t, pid); rss > 200*1024 {
		t.Errorf("RSS %d kB with 2,000 slow clients", rss)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(d.baseURL(t) + "/healthz")
	if err != nil {
		t.Fatalf("another client during the flood: %v", err)
	}
	resp.Body.Close()

	// A request without the token gets its 401 without sending its body.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("POST /v1/events?cluster=ziti HTTP/1.1\r\nHost: leaderhook\r\nContent-Length: 100000\r\n\r\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(status, " 403 ") && !strings.Contains(status, " 401 ") {
		t.Errorf("a request without the token, its body unsent: %q %v, want 401 at once", status, err)
	}
}

// rssKB reads a process's resident memory from /proc.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestSecondDaemonOnOneStateDir: a second `leaderhook run`, --dry-run
// included, on the state_dir of a running one refuses to start, naming the
// holder's PID, and leaves the first one's files as they were.
func TestSecondDaemonOnOneStateDir(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "http://127.0.0.1:1/hook", retry: {max_attempts: 100, initial_backoff: 1h}}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`, dir)), 0o644)
	first := startDaemon(t, config)
	events := first.baseURL(t) + "/v1/events?cluster=ziti"
	post(t, events, "", ev("c1", "state.has_leader", "c1"))
	post(t, events, "", ev("c1", "state.is_leaderless", ""))
	state := filepath.Join(dir, "state")
	// The first daemon at rest: the firing saved, its delivery's first
	// attempt journaled, the next an hour away.
	waitFor(t, "the first daemon to be at rest", func() bool {
		return strings.Contains(mustRead(t, filepath.Join(state, "state.log")), `"fired":true`) &&
			strings.Contains(mustRead(t, filepath.Join(state, "pending.log")), `"attempts":1`)
	}, first)
	// Stopped, the first daemon still holds the state_dir, and writes
	// nothing more (a save that a change already asked for, say) while the
	// others try: whatever changes is theirs.
	if err := first.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer first.cmd.Process.Signal(syscall.SIGCONT)
	before := snapshotDir(t, state)
	for _, args := range [][]string{{"run", "-c", config}, {"run", "-c", config, "--dry-run"}} {
		_, stderr, code := run(t, nil, args...)
		if want := fmt.Sprintf("in use by leaderhook PID %d", first.cmd.Process.Pid); code == 0 || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, %q; want a refusal saying %q", args, code, stderr, want)
		}
	}
	if after := snapshotDir(t, state); after != before {
		t.Errorf("the refused daemons changed the state_dir:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshotDir sums up a directory's files: names, sizes and contents.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Fprintf(&b, "%s:%d:%x ", e.Name(), len(data), sha256.Sum256(data))
	}
	return b.String()
}

// idReceiver records, per leader id in the payload, the webhook-ids it was
// sent under, and fails every third request when flaky.
type idReceiver struct {
	mu         sync.Mutex
	flaky      bool
	n          int
	sinceReset int
	ids        map[string]map[string]bool // leader → webhook-ids answered 2xx
}

func newIDReceiver(flaky bool) *idReceiver {
	return &idReceiver{flaky: flaky, ids: map[string]map[string]bool{}}
}

func (r *idReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n struct {
		State struct {
			LeaderID string `json:"leader_id"`
		} `json:"state"`
	}
	json.NewDecoder(req.Body).Decode(&n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	r.sinceReset++
	if r.flaky && r.n%3 == 0 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if r.ids[n.State.LeaderID] == nil {
		r.ids[n.State.LeaderID] = map[string]bool{}
	}
	r.ids[n.State.LeaderID][req.Header.Get("webhook-id")] = true
}

// attempts counts the requests since resetAttempts.
func (r *idReceiver) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sinceReset
}

func (r *idReceiver) resetAttempts() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sinceReset = 0
}

func (r *idReceiver) idsOf(leader string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids[leader])
}

const changeConfig = `server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook", retry: {max_attempts: 1000, initial_backoff: 50ms, max_backoff: 200ms}}
rules:
  - {name: changed, when: 'type == "state.has_leader"', actions: [hook]}
`

// TestResentBatchAfterKill9IsOneDelivery: a batch acknowledged, then
// leaderhook killed before it saved its state, then the same batch sent
// again: the firing it decides again has the same delivery id.
func TestResentBatchAfterKill9IsOneDelivery(t *testing.T) {
	rcv := newIDReceiver(false)
	down := &gatedReceiver{leaders: map[string]bool{}} // fails: the delivery stays pending
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !down.isOpen() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rcv.ServeHTTP(w, r)
	}))
	defer hook.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(changeConfig, dir, hook.URL)), 0o644)
	a := startDaemon(t, config)
	events := a.baseURL(t) + "/v1/events?cluster=ziti"
	post(t, events, "", ev("c1", "state.has_leader", "c1"))
	stateLog := filepath.Join(dir, "state", "state.log")
	waitFor(t, "the baseline saved", func() bool {
		return strings.Contains(mustRead(t, stateLog), `"leader_id":"c1"`) || strings.Contains(mustRead(t, stateLog), `"LeaderID":"c1"`)
	}, a)
	beforeBatch := mustRead(t, stateLog)
	batch := ev("c1", "state.has_leader", "c2")
	if code, body := post(t, events, "", batch); code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	a.kill9(t)
	// As if the kill came before the state was saved.
	os.WriteFile(stateLog, []byte(beforeBatch), 0o640)

	down.setOpen()
	b := startDaemon(t, config)
	if code, body := post(t, b.baseURL(t)+"/v1/events?cluster=ziti", "", batch); code != 202 {
		t.Fatalf("the re-sent batch: %d %s", code, body)
	}
	waitFor(t, "the change delivered", func() bool { return rcv.idsOf("c2") > 0 }, b)
	b.stop(t)
	if n := rcv.idsOf("c2"); n != 1 {
		t.Errorf("the change to c2 arrived under %d delivery ids, want 1", n)
	}
}

// TestKill9Loop kills leaderhook with SIGKILL 20 times at different
// moments of a delivery (right after the 202, once the receiver saw an
// attempt, after it got the notification), its receiver failing every
// third request, the sender re-sending its last batch after each restart.
// No acknowledged change is lost, and each arrives under one delivery id.
func TestKill9Loop(t *testing.T) {
	rcv := newIDReceiver(true)
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(changeConfig, dir, hook.URL)), 0o644)
	var acknowledged []string
	last := ev("c1", "state.has_leader", "L0") // the baseline
	for cycle := 1; cycle <= 20; cycle++ {
		d := startDaemon(t, config)
		events := d.baseURL(t) + "/v1/events?cluster=ziti"
		post(t, events, "", last) // what the sender may not know was taken
		leader := fmt.Sprint("L", cycle)
		last = ev("c1", "state.has_leader", leader)
		if code, body := post(t, events, "", last); code != 202 {
			t.Fatalf("cycle %d: %d %s", cycle, code, body)
		}
		acknowledged = append(acknowledged, leader)
		switch cycle % 3 {
		case 1: // at once
		case 2:
			waitFor(t, "an attempt", func() bool { return rcv.attempts() > 0 }, d)
		case 0:
			waitFor(t, "the change delivered", func() bool { return rcv.idsOf(leader) > 0 }, d)
		}
		d.kill9(t)
		rcv.resetAttempts()
	}
	d := startDaemon(t, config)
	for _, leader := range acknowledged {
		waitFor(t, "the change to "+leader, func() bool { return rcv.idsOf(leader) > 0 }, d)
	}
	d.stop(t)
	for _, leader := range acknowledged {
		if n := rcv.idsOf(leader); n != 1 {
			t.Errorf("the change to %s arrived under %d delivery ids, want 1", leader, n)
		}
	}
}

// TestDamagedStateFiles: a changed byte in the middle of pending.log or
// state.log stops leaderhook from starting, with the file, the line and
// what to do; a torn last line is skipped, logged, and the rest resumes.
func TestDamagedStateFiles(t *testing.T) {
	rcv := newIDReceiver(false)
	down := &gatedReceiver{leaders: map[string]bool{}}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !down.isOpen() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rcv.ServeHTTP(w, r)
	}))
	defer hook.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(changeConfig, dir, hook.URL)), 0o644)
	a := startDaemon(t, config)
	events := a.baseURL(t) + "/v1/events?cluster=ziti"
	for _, leader := range []string{"L0", "L1", "L2", "L3"} {
		post(t, events, "", ev("c1", "state.has_leader", leader))
	}
	a.kill9(t)
	pending := filepath.Join(dir, "state", "pending.log")
	good := mustRead(t, pending)

	// One changed byte in the middle.
	i := strings.Index(good, `"L2"`) + 1
	os.WriteFile(pending, []byte(good[:i]+"X"+good[i+1:]), 0o640)
	_, stderr, code := run(t, nil, "run", "-c", config)
	if code == 0 || !regexp.MustCompile(regexp.QuoteMeta(pending)+`:\d+: damaged line`).MatchString(stderr) || !strings.Contains(stderr, "move it away") {
		t.Errorf("start on a damaged pending.log: exit %d, %s", code, stderr)
	}

	// A torn last line: the rest resumes.
	os.WriteFile(pending, []byte(good[:len(good)-10]), 0o640)
	down.setOpen()
	b := startDaemon(t, config)
	waitFor(t, "the deliveries before the torn line", func() bool { return rcv.idsOf("L1") > 0 && rcv.idsOf("L2") > 0 }, b)
	if !strings.Contains(b.logs(), "the last line is torn") {
		t.Errorf("the torn line is not logged:\n%s", b.logs())
	}
}

// TestLateEventDatedOnArrival: an event whose timestamp is older than the
// skew allows is dated when it arrives, not at the cluster's last event.
func TestLateEventDatedOnArrival(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - {name: ziti, members: [c1, c2, c3], stabilize: 0s, source: {type: events, http: true}}
rules: []
`, dir)), 0o644)
	d := startDaemon(t, config)
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	// The last event is dated 2 s ago (within the skew, so it keeps its
	// time); the late ones, a minute ago.
	start := time.Now()
	recent := start.Add(-2 * time.Second)
	post(t, events, "", evAt("c1", "state.has_leader", "c1", recent)+"\n"+evAt("c2", "state.has_leader", "c1", recent)+"\n"+evAt("c3", "state.has_leader", "c1", recent))
	late := start.Add(-time.Minute)
	post(t, events, "", evAt("c2", "state.is_leaderless", "", late)+"\n"+evAt("c3", "state.is_leaderless", "", late))
	var since time.Time
	waitFor(t, "the loss", func() bool {
		_, body := get(t, d.baseURL(t)+"/v1/state")
		var s struct {
			Clusters []struct {
				HasLeader bool      `json:"has_leader"`
				Since     time.Time `json:"since"`
			} `json:"clusters"`
		}
		if json.Unmarshal([]byte(body), &s) != nil || len(s.Clusters) != 1 {
			return false
		}
		since = s.Clusters[0].Since
		return !s.Clusters[0].HasLeader
	}, d)
	if since.Before(start) {
		t.Errorf("the loss is dated %s, before the late events arrived (%s)", since, start)
	}
}
