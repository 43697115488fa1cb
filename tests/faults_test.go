package tests

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
