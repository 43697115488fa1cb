// Command peers measures leaderhook against the tools operators would wire
// together otherwise, in one run on one machine, all on 127.0.0.1:
//
//   - event → webhook delivered: leaderhook (ingest → rule → webhook) vs
//     Prometheus Alertmanager (POST /api/v2/alerts → webhook receiver,
//     group_wait 0s, one group per alert) vs a bare Go HTTP→HTTP relay;
//   - event → program started: leaderhook's shell action vs adnanh/webhook
//     vs a bare Go HTTP→exec relay, all starting the same program;
//
// each one at a time (p50/p90/p99) and under load (8 concurrent senders for
// 10 s: accepted/s, delivered/s, lost, p99, RSS and CPU of the server after),
// plus leaderhook's idle RSS and CPU. The same sink (a Go HTTP server here,
// stamping receive times) receives everything. Results go to a JSON file and
// to the tables between the markers in BENCHMARKS.md.
//
//	go run ./bench/peers -bin ./bin/leaderhook
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/internal/procstat"
)

const senders = 8

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-stamp": // the exec'd program: tell the sink it started
			http.Post("http://"+os.Args[3]+"/started?id="+os.Args[2], "text/plain", nil)
			return
		case "-relay-http":
			relayHTTP(os.Args[2], os.Args[3])
			return
		case "-relay-exec":
			relayExec(os.Args[2], os.Args[3])
			return
		}
	}
	bin := flag.String("bin", "./bin/leaderhook", "leaderhook binary")
	n := flag.Int("n", 1000, "events one at a time")
	load := flag.Duration("load", 10*time.Second, "duration of the load phase")
	out := flag.String("o", "bench/peers/results.json", "results file")
	md := flag.String("md", "BENCHMARKS.md", "file whose marked section gets the tables")
	only := flag.String("only", "", "measure only the systems whose name contains this (no tables written)")
	flag.Parse()
	for _, p := range []string{"prometheus-alertmanager", "webhook"} {
		if _, err := exec.LookPath(p); err != nil {
			log.Fatalf("%s is not installed: make bench installs Debian's prometheus-alertmanager and webhook", p)
		}
	}
	dir, err := os.MkdirTemp("", "leaderhook-peers")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, _ := os.Executable()
	s := newSink()

	var results []result
	webhookPath := []system{
		leaderhookSystem(*bin, dir, s, false),
		alertmanagerSystem(dir, s),
		{name: "bare Go HTTP→HTTP relay", start: func() (*exec.Cmd, string) {
			addr := freeAddr()
			return exec.Command(self, "-relay-http", addr, s.addr), addr
		}, send: bareSend},
	}
	execPath := []system{
		leaderhookSystem(*bin, dir, s, true),
		adnanhSystem(dir, s, self),
		{name: "bare Go HTTP→exec relay", start: func() (*exec.Cmd, string) {
			addr := freeAddr()
			return exec.Command(self, "-relay-exec", addr, s.addr), addr
		}, send: bareSend},
	}
	for _, group := range []struct {
		kind    string
		systems []system
	}{{"webhook", webhookPath}, {"exec", execPath}} {
		for _, sys := range group.systems {
			if !strings.Contains(sys.name, *only) {
				continue
			}
			r := measure(sys, s, *n, *load)
			r.Path = group.kind
			results = append(results, r)
			log.Printf("%-28s %s", sys.name, r.summary())
		}
	}
	if *only != "" {
		return
	}
	idle := idleLeaderhook(*bin, dir, s)
	report := map[string]any{"machine": machine(), "results": results, "idle": idle, "when": time.Now().UTC()}
	data, _ := json.MarshalIndent(report, "", "  ")
	os.WriteFile(*out, data, 0o644)
	writeTables(*md, results, idle)
}

// sink receives everything and stamps it.
type sink struct {
	addr string
	mu   sync.Mutex
	got  map[string]time.Time
}

func newSink() *sink {
	s := &sink{addr: freeAddr(), got: map[string]time.Time{}}
	go http.ListenAndServe(s.addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		id := r.URL.Query().Get("id")
		if id == "" {
			id = extractID(body)
		}
		s.mu.Lock()
		if _, dup := s.got[id]; !dup {
			s.got[id] = now
		}
		s.mu.Unlock()
	}))
	waitTCP(s.addr)
	return s
}

// extractID finds the event id in a delivered body: leaderhook's leader
// id, or Alertmanager's alert label.
func extractID(body []byte) string {
	var lh struct {
		State struct {
			LeaderID string `json:"leader_id"`
		} `json:"state"`
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	json.Unmarshal(body, &lh)
	if lh.State.LeaderID != "" {
		return lh.State.LeaderID
	}
	if len(lh.Alerts) > 0 {
		return lh.Alerts[0].Labels["id"]
	}
	return string(bytes.TrimSpace(body))
}

func (s *sink) reset() {
	s.mu.Lock()
	s.got = map[string]time.Time{}
	s.mu.Unlock()
}

func (s *sink) when(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.got[id]
	return t, ok
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// system is one way to turn an event into a delivery.
type system struct {
	name  string
	start func() (*exec.Cmd, string)
	// send posts event id (for sender lane) and reports whether it was accepted.
	send func(c *http.Client, addr string, lane int, id string) bool
}

func leaderhookSystem(bin, dir string, s *sink, shell bool) system {
	name := "leaderhook (webhook action)"
	action := fmt.Sprintf(`{type: webhook, url: "http://%s/hook", retry: {max_attempts: 3, initial_backoff: 100ms}}`, s.addr)
	if shell {
		name = "leaderhook (shell action)"
		self, _ := os.Executable()
		action = fmt.Sprintf(`{type: shell, command: [%s, -stamp, "{{ .LeaderID }}", %s], concurrency: 8}`, self, s.addr)
	}
	return system{name: name, start: func() (*exec.Cmd, string) {
		addr := freeAddr()
		var b strings.Builder
		fmt.Fprintf(&b, "server: {listen: %q, max_body_bytes: 65536}\nstate_dir: %s/state-%d\nclusters:\n", addr, dir, time.Now().UnixNano())
		for i := range senders {
			fmt.Fprintf(&b, "  - {name: c%d, stabilize: 0s, members: [m], source: {type: events, http: true}}\n", i)
		}
		fmt.Fprintf(&b, "actions:\n  out: %s\nrules:\n  - {name: changed, when: 'type == \"state.has_leader\"', actions: [out]}\n", action)
		path := filepath.Join(dir, "leaderhook.yaml")
		os.WriteFile(path, []byte(b.String()), 0o644)
		return exec.Command(bin, "run", "-c", path, "--log-level", "error"), addr
	}, send: func(c *http.Client, addr string, lane int, id string) bool {
		ev := fmt.Sprintf(`{"namespace":"cluster","event_src_id":"m","timestamp":%q,"eventType":"state.has_leader","leaderId":%q}`,
			time.Now().UTC().Format(time.RFC3339Nano), id)
		return post(c, fmt.Sprintf("http://%s/v1/events?cluster=c%d", addr, lane), ev)
	}}
}

func alertmanagerSystem(dir string, s *sink) system {
	return system{name: "Prometheus Alertmanager", start: func() (*exec.Cmd, string) {
		addr := freeAddr()
		cfg := fmt.Sprintf(`route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: sink
    webhook_configs:
      - url: http://%s/alertmanager
        send_resolved: false
`, s.addr)
		path := filepath.Join(dir, "alertmanager.yml")
		os.WriteFile(path, []byte(cfg), 0o644)
		data := filepath.Join(dir, fmt.Sprintf("am-%d", time.Now().UnixNano()))
		return exec.Command("prometheus-alertmanager", "--config.file", path, "--storage.path", data,
			"--web.listen-address", addr, "--cluster.listen-address=", "--log.level=error"), addr
	}, send: func(c *http.Client, addr string, lane int, id string) bool {
		alert := fmt.Sprintf(`[{"labels":{"alertname":"leaderless","id":%q},"startsAt":%q}]`, id, time.Now().UTC().Format(time.RFC3339Nano))
		return post(c, "http://"+addr+"/api/v2/alerts", alert)
	}}
}

func adnanhSystem(dir string, s *sink, self string) system {
	return system{name: "adnanh/webhook", start: func() (*exec.Cmd, string) {
		addr := freeAddr()
		hooks := fmt.Sprintf(`[{"id": "run", "execute-command": %q, "pass-arguments-to-command": [
  {"source": "string", "name": "-stamp"}, {"source": "payload", "name": "id"}, {"source": "string", "name": %q}]}]`, self, s.addr)
		path := filepath.Join(dir, "hooks.json")
		os.WriteFile(path, []byte(hooks), 0o644)
		host, port, _ := net.SplitHostPort(addr)
		return exec.Command("webhook", "-hooks", path, "-ip", host, "-port", port), addr
	}, send: func(c *http.Client, addr string, lane int, id string) bool {
		return post(c, "http://"+addr+"/hooks/run", fmt.Sprintf(`{"id":%q}`, id))
	}}
}

func bareSend(c *http.Client, addr string, lane int, id string) bool {
	return post(c, "http://"+addr+"/?id="+id, id)
}

func post(c *http.Client, url, body string) bool {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

type result struct {
	Path       string  `json:"path"`
	System     string  `json:"system"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	OneLost    int     `json:"one_at_a_time_lost"` // refused or not delivered within 5 s
	Accepted   float64 `json:"load_accepted_per_s"`
	Delivered  float64 `json:"load_delivered_per_s"`
	Lost       int     `json:"load_lost"`
	LoadP99ms  float64 `json:"load_p99_ms"`
	RSSMB      float64 `json:"rss_after_mb"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

func (r result) summary() string {
	return fmt.Sprintf("p50 %.2fms p90 %.2fms p99 %.2fms (%d lost) | load %.0f/s accepted, %.0f/s delivered, %d lost, p99 %.1fms, RSS %.0fMB",
		r.P50ms, r.P90ms, r.P99ms, r.OneLost, r.Accepted, r.Delivered, r.Lost, r.LoadP99ms, r.RSSMB)
}

func measure(sys system, s *sink, n int, load time.Duration) result {
	cmd, addr := sys.start()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatalf("%s: %v", sys.name, err)
	}
	defer stop(cmd)
	waitTCP(addr)
	c := &http.Client{Timeout: 10 * time.Second}
	r := result{System: sys.name}
	// Warm up: leaderhook takes each cluster's first state as its baseline
	// (nothing fires for it), and every system opens its connections.
	for lane := range senders {
		sys.send(c, addr, lane, fmt.Sprintf("warm-%d", lane))
	}
	time.Sleep(500 * time.Millisecond)

	// One at a time: wait for each delivery before the next event.
	s.reset()
	var lat []time.Duration
	for i := range n {
		id := fmt.Sprintf("one-%d", i)
		start := time.Now()
		if !sys.send(c, addr, i%senders, id) {
			r.OneLost++
			continue
		}
		delivered := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if at, ok := s.when(id); ok {
				lat = append(lat, at.Sub(start))
				delivered = true
				break
			}
			time.Sleep(20 * time.Microsecond)
		}
		if !delivered {
			r.OneLost++
		}
	}
	r.P50ms, r.P90ms, r.P99ms = pct(lat, 50), pct(lat, 90), pct(lat, 99)

	// Under load: 8 senders for the load period, then a few seconds to settle.
	s.reset()
	var accepted atomic.Int64
	var mu sync.Mutex
	sent := map[string]time.Time{}
	deadline := time.Now().Add(load)
	var wg sync.WaitGroup
	for lane := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("load-%d-%d", lane, i)
				start := time.Now()
				if sys.send(c, addr, lane, id) {
					accepted.Add(1)
					mu.Lock()
					sent[id] = start
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	// Let what was accepted arrive: until nothing new for 3 s (at most 60 s).
	for last, quiet, limit := s.count(), time.Now(), time.Now().Add(60*time.Second); time.Since(quiet) < 3*time.Second && time.Now().Before(limit); {
		time.Sleep(100 * time.Millisecond)
		if n := s.count(); n != last {
			last, quiet = n, time.Now()
		}
	}
	var loadLat []time.Duration
	delivered := 0
	for id, start := range sent {
		if at, ok := s.when(id); ok {
			delivered++
			loadLat = append(loadLat, at.Sub(start))
		}
	}
	r.Accepted = float64(accepted.Load()) / load.Seconds()
	r.Delivered = float64(delivered) / load.Seconds()
	r.Lost = int(accepted.Load()) - delivered
	r.LoadP99ms = pct(loadLat, 99)
	r.RSSMB, _ = procstat.Memory(cmd.Process.Pid)
	cpu, _ := procstat.CPU(cmd.Process.Pid)
	r.CPUSeconds = cpu.Seconds()
	return r
}

// stop ends a system the way an init system would: SIGTERM, then SIGKILL.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)*p/100, len(d)-1)]) / float64(time.Millisecond)
}

type idleResult struct {
	RSSMB      float64 `json:"rss_mb"`
	CPUPercent float64 `json:"cpu_percent"`
}

func idleLeaderhook(bin, dir string, s *sink) idleResult {
	sys := leaderhookSystem(bin, dir, s, false)
	cmd, addr := sys.start()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer stop(cmd)
	waitTCP(addr)
	cpu := procstat.Share(cmd.Process.Pid, 60*time.Second)
	rss, _ := procstat.Memory(cmd.Process.Pid)
	return idleResult{RSSMB: rss, CPUPercent: cpu}
}

// relayHTTP is the floor of event → webhook: forward each POST to the sink.
func relayHTTP(addr, sinkAddr string) {
	c := &http.Client{}
	log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := c.Post("http://"+sinkAddr+"/relay?"+r.URL.RawQuery, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		resp.Body.Close()
	})))
}

// relayExec is the floor of event → program: start the program per POST.
func relayExec(addr, sinkAddr string) {
	self, _ := os.Executable()
	log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cmd := exec.Command(self, "-stamp", r.URL.Query().Get("id"), sinkAddr)
		if err := cmd.Start(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		go cmd.Wait()
	})))
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitTCP(addr string) {
	for range 500 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("%s did not come up", addr)
}

func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	cores := 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cores = strings.Count(string(data), "processor\t:")
	}
	return fmt.Sprintf("%d cores, %s", cores, cpu)
}

// writeTables replaces the section between the markers in md.
func writeTables(md string, rs []result, idle idleResult) {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s. Generated by `make bench` (`go run ./bench/peers`), %s.\n\n", machine(), time.Now().UTC().Format("2006-01-02"))
	for _, path := range []string{"webhook", "exec"} {
		title := map[string]string{"webhook": "Event → webhook delivered", "exec": "Event → program started"}[path]
		fmt.Fprintf(&b, "**%s**\n\n| system | p50 ms | p90 ms | p99 ms | load: accepted/s | delivered/s | lost | p99 ms | RSS after MB |\n|---|---|---|---|---|---|---|---|---|\n", title)
		for _, r := range rs {
			if r.Path == path {
				fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.0f | %.0f | %d | %.1f | %.0f |\n", r.System, r.P50ms, r.P90ms, r.P99ms, r.Accepted, r.Delivered, r.Lost, r.LoadP99ms, r.RSSMB)
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "leaderhook idle over 60 s: RSS %.1f MB, CPU %.2f%% of one core.\n", idle.RSSMB, idle.CPUPercent)
	data, err := os.ReadFile(md)
	if err != nil {
		log.Print(err)
		return
	}
	const begin, end = "<!-- peers:begin -->", "<!-- peers:end -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		s += "\n" + begin + "\n" + b.String() + end + "\n"
	} else {
		s = s[:i+len(begin)] + "\n" + b.String() + s[j:]
	}
	os.WriteFile(md, []byte(s), 0o644)
	fmt.Print(b.String())
}
