// Command peers measures leaderhook against the tools operators would wire
// together otherwise, in one run on one machine, all on 127.0.0.1:
//
//   - event → webhook delivered: leaderhook (ingest → rule → webhook) vs
//     Prometheus Alertmanager (POST /api/v2/alerts → webhook receiver,
//     group_wait 0s, one group per alert) vs a bare Go HTTP→HTTP relay;
//   - event → program started: leaderhook's shell action vs adnanh/webhook
//     vs a bare Go HTTP→exec relay, all starting the same program;
//
// each one at a time (p50/p90/p99) and under load (8 concurrent senders:
// accepted/s, delivered/s, lost, p99, CPU per delivery, RSS after), plus
// leaderhook's idle RSS and CPU and its RSS with 100 rules and 10 clusters.
// One at a time, leaderhook and the bare relay run side by side and take
// turns in blocks of 100 events, so that the machine's noise falls on both
// alike, and the peers run alone; under load each runs alone, in rounds
// whose order alternates (A B C, then C B A), so that a machine's drift is
// shared. Senders behave as clients should: told 503, they wait what
// Retry-After asks (at most a second) and send the same event again; the
// refusals are counted, and lost means accepted (2xx) but never delivered.
// The same sink (a Go HTTP server here, stamping receive times) receives
// everything. Results go to a JSON file and to the tables between
// the markers in BENCHMARKS.md, with a verdict on each target.
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
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/benchdoc"
	"github.com/leaderhook/leaderhook/internal/procstat"
	"github.com/leaderhook/leaderhook/internal/synth"
)

const senders = 8

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-relay-http":
			relayHTTP(os.Args[2], os.Args[3])
			return
		case "-relay-exec":
			relayExec(os.Args[2], os.Args[3], os.Args[4])
			return
		}
	}
	bin := flag.String("bin", "./bin/leaderhook", "leaderhook binary")
	n := flag.Int("n", 10000, "webhook events one at a time, per system (a p99 over 100 slowest)")
	nExec := flag.Int("n-exec", 2000, "script events one at a time, per system")
	load := flag.Duration("load", 10*time.Second, "duration of each load phase")
	rounds := flag.Int("rounds", 2, "load phases per system, in alternating order")
	idleFor := flag.Duration("idle", 60*time.Second, "how long to measure leaderhook idle")
	out := flag.String("o", "bench/peers/results.json", "results file")
	md := flag.String("md", "BENCHMARKS.md", "file whose marked section gets the tables")
	readme := flag.String("readme", "README.md", "file whose marked section gets the summary")
	only := flag.String("only", "", "measure only these, comma-separated: paths (webhook, exec) and words of systems' names (-only webhook,relay,leaderhook); no files written")
	flag.Parse()
	if err := requirePeers(); err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "leaderhook-peers")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	s := newSink()
	stamp := filepath.Join(dir, "stamp")
	if err := os.WriteFile(stamp, []byte(stampScript), 0o755); err != nil {
		log.Fatal(err)
	}

	start := time.Now()
	report := report{Machine: benchdoc.Machine(), Versions: versions(*bin), When: start.UTC(),
		Settings: fmt.Sprintf("One at a time: %d webhook and %d script events per system, in turns of %d. Under load: %d rounds of %s per system, %d senders",
			*n, *nExec, oneBlock, *rounds, *load, senders)}
	for _, p := range comparedPaths(*bin, dir, self, s, stamp) {
		count := *n
		if p.kind == "exec" {
			count = *nExec
		}
		for _, r := range measurePath(p.picked(*only), s, count, *load, *rounds) {
			r.Path = p.kind
			report.Results = append(report.Results, r)
		}
	}
	if *only != "" {
		return
	}
	report.Footprint = footprint(*bin, dir, s)
	log.Printf("100 rules, 10 clusters: RSS %.1f MB", report.Footprint.RSSMB)
	report.Idle = idleLeaderhook(*bin, dir, s, *idleFor)
	log.Printf("idle over %s: RSS %.1f MB, CPU %.2f%%", *idleFor, report.Idle.RSSMB, report.Idle.CPUPercent)
	report.Duration = time.Since(start).Round(time.Second).String()
	if err := report.write(*out, *md, *readme); err != nil {
		log.Fatal(err)
	}
}

// requirePeers checks that the tools compared with are installed.
func requirePeers() error {
	for _, p := range []string{"prometheus-alertmanager", "webhook"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s is not installed (make bench installs Debian's prometheus-alertmanager and webhook): %w", p, err)
		}
	}
	return nil
}

// write puts the report in the results file, its tables in md's peers
// section and its summary in readme's bench-summary section.
func (rep report) write(out, md, readme string) error {
	if err := benchdoc.WriteJSON(out, rep); err != nil {
		return err
	}
	tables := rep.tables()
	fmt.Print(tables)
	if err := benchdoc.Replace(md, "peers", tables); err != nil {
		return err
	}
	return benchdoc.Replace(readme, "bench-summary", rep.summary())
}

// comparedPath is one way from an event to its effect, and the systems
// compared on it.
type comparedPath struct {
	kind    string // webhook or exec
	systems []system
}

// picked is the path's systems that -only takes.
func (p comparedPath) picked(only string) []system {
	var systems []system
	for _, sys := range p.systems {
		if selected(only, p.kind, sys.name) {
			systems = append(systems, sys)
		}
	}
	return systems
}

// comparedPaths are event → webhook delivered and event → program started
// (stamp), each through leaderhook, the peer operators use, and a bare Go
// relay run from this program (self).
func comparedPaths(bin, dir, self string, s *sink, stamp string) []comparedPath {
	return []comparedPath{
		{"webhook", []system{
			leaderhookSystem(bin, dir, s, ""),
			alertmanagerSystem(dir, s),
			{name: "bare Go HTTP→HTTP relay", start: func() (*exec.Cmd, string) {
				addr := freeAddr()
				return exec.Command(self, "-relay-http", addr, s.addr), addr
			}, request: bareRequest},
		}},
		{"exec", []system{
			leaderhookSystem(bin, dir, s, stamp),
			adnanhSystem(dir, s, stamp),
			{name: "bare Go HTTP→exec relay", start: func() (*exec.Cmd, string) {
				addr := freeAddr()
				return exec.Command(self, "-relay-exec", addr, stamp, s.addr), addr
			}, request: bareRequest},
		}},
	}
}

// sink receives everything and stamps it.
type sink struct {
	addr    string
	mu      sync.Mutex
	got     map[string]time.Time
	waiters map[string]chan time.Time
}

func newSink() *sink {
	s := &sink{addr: freeAddr(), got: map[string]time.Time{}, waiters: map[string]chan time.Time{}}
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
			if w := s.waiters[id]; w != nil {
				w <- now
				delete(s.waiters, id)
			}
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

// expect returns a channel that receives the time id arrives. The one at a
// time phase blocks on it rather than polling, so that the sender's
// process takes no CPU from the system measured while it waits.
func (s *sink) expect(id string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	s.waiters[id] = ch
	s.mu.Unlock()
	return ch
}

// forget drops the wait for id.
func (s *sink) forget(id string) {
	s.mu.Lock()
	delete(s.waiters, id)
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
	// request is the POST that carries event id for sender lane. It is
	// built before the clock starts: what is measured is the system.
	request func(addr string, lane int, id string) (url, body string)
	// alone: one at a time, the system runs by itself instead of taking
	// turns with the others, as it would be measured by itself: a peer
	// busy on its own timers would otherwise slow the pair's turns.
	alone bool
}

func leaderhookConfig(dir, listen, action string, clusters int, members, rules string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server: {listen: %q, max_body_bytes: 1048576}\nstate_dir: %s/state-%d\nclusters:\n", listen, dir, time.Now().UnixNano())
	for i := range clusters {
		fmt.Fprintf(&b, "  - {name: c%d, labels: {env: prod}, stabilize: 0s, members: [%s], source: {type: events, http: true}}\n", i, members)
	}
	fmt.Fprintf(&b, "actions:\n  note: %s\n%s", action, rules)
	path := filepath.Join(dir, fmt.Sprintf("leaderhook-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	return path
}

// stampScript is the program every exec path starts: a bash script, as
// failover scripts usually are, that tells the sink it started.
const stampScript = `#!/bin/bash
# stamp ID HOST:PORT
exec 3<>"/dev/tcp/${2%:*}/${2##*:}" || exit 1
printf 'POST /started?id=%s HTTP/1.1\r\nHost: sink\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" >&3
read -r -u 3 _
`

// leaderhookSystem is leaderhook with a webhook action, or with a shell
// action running stamp if it is set.
func leaderhookSystem(bin, dir string, s *sink, stamp string) system {
	name := "leaderhook (webhook action)"
	action := fmt.Sprintf(`{type: webhook, url: "http://%s/hook", retry: {max_attempts: 3, initial_backoff: 100ms}}`, s.addr)
	if stamp != "" {
		name = "leaderhook (shell action)"
		action = fmt.Sprintf(`{type: shell, command: [%s, "{{ .LeaderID }}", %s], concurrency: 8}`, stamp, s.addr)
	}
	const rule = "rules:\n  - {name: changed, when: 'type == \"state.has_leader\"', actions: [note]}\n"
	return system{name: name, start: func() (*exec.Cmd, string) {
		addr := freeAddr()
		path := leaderhookConfig(dir, addr, action, senders, "ctrl1", rule)
		return exec.Command(bin, "run", "-c", path, "--log-level", "error"), addr
	}, request: func(addr string, lane int, id string) (string, string) {
		ev := fmt.Sprintf(`{"namespace":"cluster","event_src_id":"ctrl1","timestamp":%q,"eventType":"state.has_leader","leaderId":%q}`,
			time.Now().UTC().Format(time.RFC3339Nano), id)
		return fmt.Sprintf("http://%s/v1/events?cluster=c%d", addr, lane), ev
	}}
}

func alertmanagerSystem(dir string, s *sink) system {
	return system{name: "Prometheus Alertmanager", alone: true, start: func() (*exec.Cmd, string) {
		addr := freeAddr()
		cfg := fmt.Sprintf(`route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 5m
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
	}, request: func(addr string, lane int, id string) (string, string) {
		alert := fmt.Sprintf(`[{"labels":{"alertname":"leaderless","id":%q},"startsAt":%q}]`, id, time.Now().UTC().Format(time.RFC3339Nano))
		return "http://" + addr + "/api/v2/alerts", alert
	}}
}

func adnanhSystem(dir string, s *sink, stamp string) system {
	return system{name: "adnanh/webhook", alone: true, start: func() (*exec.Cmd, string) {
		addr := freeAddr()
		hooks := fmt.Sprintf(`[{"id": "run", "execute-command": %q, "pass-arguments-to-command": [
  {"source": "payload", "name": "id"}, {"source": "string", "name": %q}]}]`, stamp, s.addr)
		path := filepath.Join(dir, "hooks.json")
		os.WriteFile(path, []byte(hooks), 0o644)
		host, port, _ := net.SplitHostPort(addr)
		return exec.Command("webhook", "-hooks", path, "-ip", host, "-port", port), addr
	}, request: func(addr string, lane int, id string) (string, string) {
		return "http://" + addr + "/hooks/run", fmt.Sprintf(`{"id":%q}`, id)
	}}
}

func bareRequest(addr string, lane int, id string) (string, string) {
	return "http://" + addr + "/?id=" + id, id
}

// maxRetryWait caps the wait a Retry-After asks of a sender: a sender that
// waits longer measures its own idleness.
const maxRetryWait = time.Second

// sendPolitely sends one event as a well-behaved client does: a 503 takes
// nothing, so the sender waits what Retry-After asks (at most
// maxRetryWait) and sends the same event again, while there is time before
// deadline. It returns whether the event was accepted (2xx) and how many
// times it was refused (503s). Any other answer ends the attempt.
func sendPolitely(c *http.Client, url, body string, deadline time.Time) (accepted bool, refusals int) {
	for {
		resp, err := c.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return false, refusals
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return resp.StatusCode/100 == 2, refusals
		}
		refusals++
		wait := retryAfter(resp.Header.Get("Retry-After"))
		if time.Now().Add(wait).After(deadline) {
			return false, refusals
		}
		time.Sleep(wait)
	}
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped at
// maxRetryWait, which is also the wait when the header is missing.
func retryAfter(header string) time.Duration {
	wait := maxRetryWait
	if secs, err := strconv.Atoi(header); err == nil {
		wait = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(header); err == nil {
		wait = time.Until(at)
	}
	return max(0, min(wait, maxRetryWait))
}

type result struct {
	Path      string  `json:"path"`
	System    string  `json:"system"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	OneLost   int     `json:"one_at_a_time_lost"` // one at a time or warming up: never accepted, or not delivered within oneWait
	Accepted  float64 `json:"load_accepted_per_s"`
	Delivered float64 `json:"load_delivered_per_s"`
	Refused   int     `json:"refused"`                  // 503 answers, each followed by the same event again
	Lost      int     `json:"load_lost"`                // accepted but never delivered
	LoadP99ms float64 `json:"load_p99_ms"`              // from the event's first POST, waits after refusals included
	CPUus     float64 `json:"load_cpu_us_per_delivery"` // the server's CPU time under load, per delivery
	RSSMB     float64 `json:"rss_after_mb"`             // the highest after a phase
}

// running is a system being measured, with what its rounds have gathered.
type running struct {
	system
	tag  string // in event ids: unique in the run, URL-safe
	seq  int    // events sent, for ids
	cmd  *exec.Cmd
	addr string
	r    result

	lat, loadLat []time.Duration
	accepted     int
	delivered    int
	acceptTime   time.Duration // load phases
	deliverTime  time.Duration // load phases until their last delivery
	cpu          time.Duration
}

// measurePath measures the systems of one path. One at a time, leaderhook
// and the bare relay run side by side and take turns in blocks of events
// (oneAtATime), so that the machine's noise falls on both alike. The peers
// (Alertmanager, adnanh/webhook) run alone, in two halves, one before and
// one after the pair, each half a fresh process as when measured by
// themselves. Under load each
// system runs alone, in rounds whose order alternates (A B C, C B A, ...),
// so that a machine's drift is shared; each round starts the system, warms
// it, runs one load phase and stops it.
func measurePath(systems []system, s *sink, n int, load time.Duration, rounds int) []result {
	rs := make([]*running, len(systems))
	for i, sys := range systems {
		rs[i] = &running{system: sys, tag: fmt.Sprintf("s%d", systemSeq.Add(1)), r: result{System: sys.name}}
	}
	var alone, together []*running
	for _, r := range rs {
		if r.alone {
			alone = append(alone, r)
		} else {
			together = append(together, r)
		}
	}
	for _, r := range alone {
		oneAtATime([]*running{r}, s, n/2)
	}
	oneAtATime(together, s, n)
	for _, r := range alone {
		oneAtATime([]*running{r}, s, n-n/2)
	}
	for round := range rounds {
		order := slices.Clone(rs)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, r := range order {
			c := startWarm(r, s)
			loadPhase(r, s, round, load)
			retire(r, c)
		}
	}
	var out []result
	for _, r := range rs {
		res := r.r
		res.P50ms, res.P90ms, res.P99ms = pct(r.lat, 50), pct(r.lat, 90), pct(r.lat, 99)
		res.Accepted = float64(r.accepted) / r.acceptTime.Seconds()
		res.Delivered = float64(r.delivered) / r.deliverTime.Seconds()
		res.LoadP99ms = pct(r.loadLat, 99)
		if r.delivered > 0 {
			res.CPUus = float64(r.cpu.Microseconds()) / float64(r.delivered)
		}
		log.Printf("%-28s %s", res.System, res.summary())
		out = append(out, res)
	}
	return out
}

var systemSeq atomic.Int32

// nextID is a new event id for r, unique in the run.
func (r *running) nextID(kind string) string {
	r.seq++
	return fmt.Sprintf("%s-%s-%d", kind, r.tag, r.seq)
}

// startWarm starts r's system and warms it up, unmeasured: leaderhook
// takes each cluster's first state as its baseline (nothing fires for it);
// then 200 events one at a time open the system's connections and grow
// its heap to its working size. Events lost there count as lost too. It
// returns the client that warmed it, with connections of its own.
func startWarm(r *running, s *sink) *http.Client {
	var addr string
	r.cmd, addr = r.start()
	r.addr = addr
	r.cmd.Stderr = os.Stderr
	if err := r.cmd.Start(); err != nil {
		fatalf("%s: %v", r.name, err)
	}
	started.Store(r.cmd, true)
	waitTCP(addr)
	c := newClient()
	for lane := range senders {
		url, body := r.request(addr, lane, r.nextID("base"))
		accepted, refusals := sendPolitely(c, url, body, time.Now().Add(oneWait))
		r.r.Refused += refusals
		if !accepted {
			r.r.OneLost++
		}
	}
	time.Sleep(500 * time.Millisecond)
	for i := range 200 {
		if _, ok := sendOne(r, s, c, r.nextID("warm"), i%senders); !ok {
			r.r.OneLost++
		}
	}
	return c
}

// newClient is a sender's HTTP client, with a connection pool of its own:
// closing its idle connections touches no other system's.
func newClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
}

// started holds the systems' processes still running, for fatalf.
var started sync.Map // *exec.Cmd → true

// fatalf stops the systems still running, then exits with the message.
func fatalf(format string, args ...any) {
	started.Range(func(cmd, _ any) bool {
		cmd.(*exec.Cmd).Process.Kill()
		return true
	})
	log.Fatalf(format, args...)
}

// oneBlock is how many events one at a time a system takes in a row before
// another's turn.
const oneBlock = 100

// oneAtATime starts the systems, sends each n events one at a time, each
// after the previous one arrived, in blocks that take turns in a shuffled
// order, and stops them. A stretch of noise on the machine longer than a
// block falls on every system alike, a shorter one on either as likely. Between its blocks a system is stopped (SIGSTOP): what it
// does on its own timers (leaderhook saves its state and flushes its
// journal, every runtime collects) then happens in its own blocks, not in
// the other's. Every event counts, the first of a block too: it comes
// after a pause, as real events do.
func oneAtATime(rs []*running, s *sink, n int) {
	if len(rs) == 0 {
		return
	}
	clients := make([]*http.Client, len(rs))
	for i, r := range rs {
		clients[i] = startWarm(r, s)
	}
	pause := func(r *running, sig syscall.Signal) {
		if len(rs) > 1 {
			r.cmd.Process.Signal(sig)
		}
	}
	for _, r := range rs {
		pause(r, syscall.SIGSTOP)
	}
	order := rand.New(rand.NewPCG(1, 2)) // the same in every run
	counted := make([]int, len(rs))
	for slices.Min(counted) < n {
		for _, j := range order.Perm(len(rs)) {
			r, size := rs[j], min(oneBlock, n-counted[j])
			if size == 0 {
				continue
			}
			pause(r, syscall.SIGCONT)
			time.Sleep(2 * time.Millisecond) // let it wake and run its timers
			for k := range size {
				if d, ok := sendOne(r, s, clients[j], r.nextID("one"), k%senders); ok {
					r.lat = append(r.lat, d)
				} else {
					r.r.OneLost++
				}
			}
			pause(r, syscall.SIGSTOP)
			counted[j] += size
		}
	}
	for i, r := range rs {
		pause(r, syscall.SIGCONT)
		retire(r, clients[i])
	}
}

// retire ends a phase of r's system: its RSS is noted and it is stopped.
func retire(r *running, c *http.Client) {
	c.CloseIdleConnections()
	rss, _ := procstat.Memory(r.cmd.Process.Pid)
	r.r.RSSMB = max(r.r.RSSMB, rss)
	stop(r.cmd)
}

// oneWait is how long an event sent one at a time may take to be accepted
// and to arrive before it counts as lost.
const oneWait = 5 * time.Second

// sendOne sends event id and waits for it to arrive: its latency, or
// false if it was not accepted or did not arrive within oneWait.
func sendOne(r *running, s *sink, c *http.Client, id string, lane int) (time.Duration, bool) {
	url, body := r.request(r.addr, lane, id)
	arrived := s.expect(id)
	start := time.Now()
	accepted, refusals := sendPolitely(c, url, body, start.Add(oneWait))
	r.r.Refused += refusals
	if !accepted {
		s.forget(id)
		return 0, false
	}
	select {
	case at := <-arrived:
		return at.Sub(start), true
	case <-time.After(oneWait - time.Since(start)):
		s.forget(id)
		return 0, false
	}
}

// loadPhase runs the senders against one system for the load period, then
// waits for what was accepted to arrive: until nothing new for 3 s, at
// most 60 s.
func loadPhase(r *running, s *sink, round int, load time.Duration) {
	cpuBefore, _ := procstat.CPU(r.cmd.Process.Pid)
	var accepted, refused atomic.Int64
	var mu sync.Mutex
	sent := map[string]time.Time{}
	begin := time.Now()
	deadline := begin.Add(load)
	var wg sync.WaitGroup
	for lane := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			defer c.CloseIdleConnections()
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("load-%s-%d-%d-%d", r.tag, round, lane, i)
				url, body := r.request(r.addr, lane, id)
				start := time.Now()
				ok, refusals := sendPolitely(c, url, body, deadline)
				refused.Add(int64(refusals))
				if ok {
					accepted.Add(1)
					mu.Lock()
					sent[id] = start
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for last, quiet, limit := s.count(), time.Now(), time.Now().Add(60*time.Second); time.Since(quiet) < 3*time.Second && time.Now().Before(limit); {
		time.Sleep(100 * time.Millisecond)
		if n := s.count(); n != last {
			last, quiet = n, time.Now()
		}
	}
	cpuAfter, _ := procstat.CPU(r.cmd.Process.Pid)
	r.cpu += cpuAfter - cpuBefore
	r.acceptTime += load
	r.accepted += int(accepted.Load())
	r.r.Refused += int(refused.Load())
	// Delivered/s counts the time until the last delivery: a system that
	// answers at once and works through a backlog later is not faster.
	span := load
	for id, start := range sent {
		if at, ok := s.when(id); ok {
			r.delivered++
			r.loadLat = append(r.loadLat, at.Sub(start))
			span = max(span, at.Sub(begin))
		} else {
			r.r.Lost++
		}
	}
	r.deliverTime += span
}

func (r result) summary() string {
	return fmt.Sprintf("p50 %.2fms p90 %.2fms p99 %.2fms (%d lost) | load %.0f/s accepted, %.0f/s delivered, %d lost, p99 %.1fms, %.0fµs CPU each, RSS %.0fMB",
		r.P50ms, r.P90ms, r.P99ms, r.OneLost, r.Accepted, r.Delivered, r.Lost, r.LoadP99ms, r.CPUus, r.RSSMB)
}

// stop ends a system the way an init system would: SIGTERM, then SIGKILL.
func stop(cmd *exec.Cmd) {
	defer started.Delete(cmd)
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
	Over       string  `json:"over"`
}

func idleLeaderhook(bin, dir string, s *sink, d time.Duration) idleResult {
	sys := leaderhookSystem(bin, dir, s, "")
	cmd, addr := sys.start()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	started.Store(cmd, true)
	defer stop(cmd)
	waitTCP(addr)
	cpu := procstat.Share(cmd.Process.Pid, d)
	rss, _ := procstat.Memory(cmd.Process.Pid)
	return idleResult{RSSMB: rss, CPUPercent: cpu, Over: d.String()}
}

type footprintResult struct {
	Rules    int     `json:"rules"`
	Clusters int     `json:"clusters"`
	Events   int     `json:"events"`
	RSSMB    float64 `json:"rss_mb"`
	PeakMB   float64 `json:"peak_rss_mb"`
}

// footprint is leaderhook's RSS with 100 rules (internal/synth: the kinds
// operators write) over 10 three-member clusters, after each cluster has
// been through the same synthetic history of leader kills and outages.
func footprint(bin, dir string, s *sink) footprintResult {
	const rules, clusters, perCluster = 100, 10, 20000
	addr := freeAddr()
	action := fmt.Sprintf(`{type: webhook, url: "http://%s/footprint"}`, s.addr)
	cmd := exec.Command(bin, "run", "-c", leaderhookConfig(dir, addr, action, clusters, strings.Join(synth.Members, ", "), synth.RulesYAML(rules)), "--log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	started.Store(cmd, true)
	defer stop(cmd)
	waitTCP(addr)
	// The synthetic history, shifted to end now, in batches of 100 taking
	// the clusters in turn, so that time runs forward.
	var evs []event.Event
	synth.Recording(perCluster, func(ev event.Event) { evs = append(evs, ev) })
	shift := time.Since(evs[len(evs)-1].Time)
	c := &http.Client{Timeout: time.Minute}
	for lo := 0; lo < len(evs); lo += 100 {
		var b bytes.Buffer
		for _, ev := range evs[lo:min(lo+100, len(evs))] {
			ev.Time = ev.Time.Add(shift)
			data, _ := ev.MarshalJSON()
			b.Write(append(data, '\n'))
		}
		for i := range clusters {
			url := fmt.Sprintf("http://%s/v1/events?cluster=c%d", addr, i)
			if ok, _ := sendPolitely(c, url, b.String(), time.Now().Add(time.Minute)); !ok {
				fatalf("footprint: leaderhook did not accept a batch for cluster c%d", i)
			}
		}
	}
	time.Sleep(2 * time.Second)
	rss, peak := procstat.Memory(cmd.Process.Pid)
	return footprintResult{Rules: rules, Clusters: clusters, Events: clusters * perCluster, RSSMB: rss, PeakMB: peak}
}

// relayHTTP is the floor of event → webhook: forward each POST to the sink.
func relayHTTP(addr, sinkAddr string) {
	// Connections kept per receiver as leaderhook's webhook client keeps
	// them (net/http keeps 2 by default: 8 senders would open and close).
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
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
func relayExec(addr, stamp, sinkAddr string) {
	log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cmd := exec.Command(stamp, r.URL.Query().Get("id"), sinkAddr)
		if err := cmd.Start(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		go cmd.Wait()
	})))
}

// selected reports whether -only (comma-separated paths and words of names)
// takes the system name on path kind: when -only names paths, the path must
// be one of them; when it names words, the name must contain one of them.
func selected(only, kind, name string) bool {
	if only == "" {
		return true
	}
	var paths, words []string
	for _, w := range strings.Split(only, ",") {
		if w == "webhook" || w == "exec" {
			paths = append(paths, w)
		} else if w != "" {
			words = append(words, w)
		}
	}
	return (len(paths) == 0 || slices.Contains(paths, kind)) &&
		(len(words) == 0 || slices.ContainsFunc(words, func(w string) bool { return strings.Contains(name, w) }))
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
	fatalf("%s did not come up", addr)
}

func versions(bin string) map[string]string {
	first := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).CombinedOutput()
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return map[string]string{
		"leaderhook":   first(bin, "version"),
		"alertmanager": first("prometheus-alertmanager", "--version"),
		"webhook":      first("webhook", "-version"),
		"go":           runtime.Version(),
	}
}

// versionNumber is the word after "version" in a --version line, without
// the build details around it.
func versionNumber(line string) string {
	f := strings.Fields(strings.ReplaceAll(line, ",", " "))
	for i, w := range f {
		if w == "version" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return "unknown"
}

type report struct {
	Machine   string            `json:"machine"`
	Versions  map[string]string `json:"versions"`
	When      time.Time         `json:"when"`
	Duration  string            `json:"duration"`
	Settings  string            `json:"settings"`
	Results   []result          `json:"results"`
	Footprint footprintResult   `json:"footprint"`
	Idle      idleResult        `json:"idle"`
}

func (rep report) find(path, prefix string) result {
	for _, r := range rep.Results {
		if r.Path == path && strings.HasPrefix(r.System, prefix) {
			return r
		}
	}
	return result{}
}

// tables renders the results and the verdict on each target.
func (rep report) tables() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s Go %s, Alertmanager %s, adnanh/webhook %s; the run took %s. %s.\n\n",
		benchdoc.Header(rep.Machine, rep.When), strings.TrimPrefix(rep.Versions["go"], "go"),
		versionNumber(rep.Versions["alertmanager"]), versionNumber(rep.Versions["webhook"]), rep.Duration, rep.Settings)
	for _, path := range []string{"webhook", "exec"} {
		title := map[string]string{"webhook": "Event → webhook delivered", "exec": "Event → program started"}[path]
		fmt.Fprintf(&b, "**%s**\n\n| system | p50 ms | p90 ms | p99 ms | load: accepted/s | delivered/s | p99 ms | CPU µs per delivery | RSS MB | refused | lost |\n|---|---|---|---|---|---|---|---|---|---|---|\n", title)
		for _, r := range rep.Results {
			if r.Path == path {
				fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.0f | %.0f | %.1f | %.0f | %.0f | %d | %d |\n",
					r.System, r.P50ms, r.P90ms, r.P99ms, r.Accepted, r.Delivered, r.LoadP99ms, r.CPUus, r.RSSMB, r.Refused, r.Lost+r.OneLost)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(rep.verdicts())
	return b.String()
}

// verdicts is the table of targets, each met or missed in this run. The
// floors guard against regression. Under load, p99 is information: a
// flood fills the delivery queues until leaderhook refuses events, so it
// measures queueing rather than leaderhook.
func (rep report) verdicts() string {
	lw, am, relay := rep.find("webhook", "leaderhook"), rep.find("webhook", "Prometheus"), rep.find("webhook", "bare")
	ls, ad, exe := rep.find("exec", "leaderhook"), rep.find("exec", "adnanh"), rep.find("exec", "bare")
	lost := func(r result) int { return r.Lost + r.OneLost }
	var b strings.Builder
	b.WriteString("| target | result | |\n|---|---|---|\n")
	row := func(target, result string, ok bool) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", target, result, verdict(ok))
	}
	row("one at a time, webhook p99 ≤ 2× the bare relay's",
		fmt.Sprintf("%.2f vs %.2f ms (%.2f×)", lw.P99ms, relay.P99ms, lw.P99ms/relay.P99ms), lw.P99ms <= 2*relay.P99ms)
	row("one at a time, script p99 ≤ 1.5× the bare exec relay's",
		fmt.Sprintf("%.2f vs %.2f ms (%.2f×)", ls.P99ms, exe.P99ms, ls.P99ms/exe.P99ms), ls.P99ms <= 1.5*exe.P99ms)
	row("under load, webhooks delivered/s ≥ 1.5× Alertmanager's, nothing lost",
		fmt.Sprintf("%.0f vs %.0f/s (%.2f×), %d lost", lw.Delivered, am.Delivered, lw.Delivered/am.Delivered, lost(lw)),
		lw.Delivered >= 1.5*am.Delivered && lost(lw) == 0)
	row("nothing lost, webhooks and scripts",
		fmt.Sprintf("%d and %d (Alertmanager %d, adnanh/webhook %d)", lost(lw), lost(ls), lost(am), lost(ad)), lost(lw)+lost(ls) == 0)
	row("under load, scripts/s ≥ 0.9× the bare exec relay's",
		fmt.Sprintf("%.0f vs %.0f/s (%.2f×)", ls.Delivered, exe.Delivered, ls.Delivered/exe.Delivered), ls.Delivered >= 0.9*exe.Delivered)
	row("RSS after load ≤ 50 MB",
		fmt.Sprintf("%.0f and %.0f MB (Alertmanager %.0f MB)", lw.RSSMB, ls.RSSMB, am.RSSMB), max(lw.RSSMB, ls.RSSMB) <= 50)
	row("idle RSS ≤ 30 MB", fmt.Sprintf("%.1f MB, %.2f%% of a core over %s", rep.Idle.RSSMB, rep.Idle.CPUPercent, rep.Idle.Over), rep.Idle.RSSMB <= 30)
	fmt.Fprintf(&b, "| under load, p99 from an event's first POST | webhooks %.1f ms (Alertmanager %.1f, relay %.1f); scripts %.0f ms (adnanh/webhook %.0f, exec relay %.0f) | information |\n",
		lw.LoadP99ms, am.LoadP99ms, relay.LoadP99ms, ls.LoadP99ms, ad.LoadP99ms, exe.LoadP99ms)
	fp := rep.Footprint
	fmt.Fprintf(&b, "| RSS with %d rules and %d clusters, after %d events | %.1f MB (peak %.1f MB) | information |\n",
		fp.Rules, fp.Clusters, fp.Events, fp.RSSMB, fp.PeakMB)
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// summary is the README's paragraph on performance.
func (rep report) summary() string {
	lw, am, relay := rep.find("webhook", "leaderhook"), rep.find("webhook", "Prometheus"), rep.find("webhook", "bare")
	ls := rep.find("exec", "leaderhook")
	return fmt.Sprintf("Measured by `make bench` on %s; %s. An event becomes a delivered webhook in %.2f ms at p50 "+
		"(p99 %.2f ms, %.1f× a bare Go relay's) and a started script in %.1f ms. Under load leaderhook delivers "+
		"%.0f webhooks/s, %.1f× Prometheus Alertmanager on the same machine, %s. RSS %.0f MB after load, %.0f MB idle. "+
		"Details and the peers' numbers: [BENCHMARKS.md](BENCHMARKS.md).",
		rep.When.Format("2006-01-02"), rep.Machine, lw.P50ms, lw.P99ms, lw.P99ms/relay.P99ms, ls.P50ms,
		lw.Delivered, lw.Delivered/am.Delivered, lostText(lw.Lost+lw.OneLost+ls.Lost+ls.OneLost),
		max(lw.RSSMB, ls.RSSMB), rep.Idle.RSSMB)
}

func lostText(n int) string {
	if n == 0 {
		return "nothing lost"
	}
	return fmt.Sprintf("%d deliveries lost", n)
}
