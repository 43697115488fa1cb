// Command daemon measures `leaderhook run` as a service, against floors
// measured in the same run by this program itself:
//
//   - polling: N clusters of 3 members polled every second (rqlite preset)
//     against a local fake status server: CPU share and RSS of the daemon,
//     vs a bare Go poller doing the same requests;
//
//   - ingest: POST /v1/events on loopback, one at a time (p50, p99) and
//     from concurrent senders (events/s), vs a bare Go HTTP server that
//     decodes the same bodies. Senders behave as clients should: told 503,
//     they wait what Retry-After asks and send the same event again.
//
//     go run ./bench/daemon -bin ./bin/leaderhook
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
	"github.com/leaderhook/leaderhook/internal/procstat"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-floor-poll" {
		floorPoll(os.Args[2], atoi(os.Args[3]))
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "-floor-ingest" {
		floorIngest(os.Args[2])
		return
	}
	bin := flag.String("bin", "./bin/leaderhook", "leaderhook binary")
	clusters := flag.Int("clusters", 1000, "clusters to poll")
	measure := flag.Duration("measure", 30*time.Second, "how long to measure CPU")
	md := flag.String("md", "BENCHMARKS.md", "file whose daemon sections get the tables (empty: none)")
	out := flag.String("o", "bench/daemon/results.json", "results file")
	flag.Parse()
	dir, err := os.MkdirTemp("", "leaderhook-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	when := time.Now()
	poll := measurePoll(*bin, dir, *clusters, *measure)
	ingest := measureIngest(*bin, dir)
	result := map[string]any{"machine": benchdoc.Machine(), "when": when.UTC(), "poll": poll, "ingest": ingest}
	if err := benchdoc.WriteJSON(*out, result); err != nil {
		log.Fatal(err)
	}
	if *md == "" {
		return
	}
	if err := benchdoc.Replace(*md, "daemon-poll", poll.section(when)); err != nil {
		log.Fatal(err)
	}
	if err := benchdoc.Replace(*md, "daemon-ingest", ingest.section()); err != nil {
		log.Fatal(err)
	}
}

type pollResult struct {
	Clusters  int     `json:"clusters"`
	CPU       float64 `json:"cpu_percent"`
	RSS       float64 `json:"rss_mb"`
	Peak      float64 `json:"peak_rss_mb"`
	FloorCPU  float64 `json:"floor_cpu_percent"`
	FloorRSS  float64 `json:"floor_rss_mb"`
	FloorPeak float64 `json:"floor_peak_rss_mb"`
}

// measurePoll runs leaderhook polling clusters, then the bare poller, each
// alone: CPU share over d after a warm-up, and RSS.
func measurePoll(bin, dir string, clusters int, d time.Duration) pollResult {
	status := fakeStatus()
	fmt.Printf("polling %d clusters x 3 members every 1s (%d requests/s) on loopback, measured over %s\n", clusters, clusters*3, d)
	r := pollResult{Clusters: clusters}
	r.CPU, r.RSS, r.Peak = measureProcess(exec.Command(bin, "run", "-c", pollConfig(dir, status, clusters), "--log-level", "error"), d)
	r.FloorCPU, r.FloorRSS, r.FloorPeak = measureProcess(exec.Command(os.Args[0], "-floor-poll", status, strconv.Itoa(clusters)), d)
	fmt.Printf("  leaderhook run : %5.1f%% of one core, RSS %5.1f MB (peak %5.1f MB)\n", r.CPU, r.RSS, r.Peak)
	fmt.Printf("  floor (bare Go): %5.1f%% of one core, RSS %5.1f MB (peak %5.1f MB)\n", r.FloorCPU, r.FloorRSS, r.FloorPeak)
	return r
}

func (r pollResult) section(when time.Time) string {
	return fmt.Sprintf(`%s

| %d clusters × 3 members, polled every second | CPU (one core = 100%%) | RSS | peak RSS |
|---|---|---|---|
| `+"`leaderhook run`"+` (1 rule, state saved on change) | %.1f%% | %.1f MB | %.1f MB |
| peer: bare Go poller | %.1f%% | %.1f MB | %.1f MB |
| ratio | %.2f× | %.2f× | |

Targets: ≤ 25%% of one core — %s; ≤ 150 MB — %s.
`, benchdoc.Header(benchdoc.Machine(), when), r.Clusters, r.CPU, r.RSS, r.Peak, r.FloorCPU, r.FloorRSS, r.FloorPeak,
		r.CPU/r.FloorCPU, r.RSS/r.FloorRSS, verdict(r.CPU <= 25), verdict(r.Peak <= 150))
}

type ingestResult struct {
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Rate      float64       `json:"events_per_s"`
	Refused   int64         `json:"refused"`
	FloorP50  time.Duration `json:"floor_p50_ns"`
	FloorP99  time.Duration `json:"floor_p99_ns"`
	FloorRate float64       `json:"floor_events_per_s"`
}

// ingestEvents and ingestSenders: one at a time (a p99 over the fifty
// slowest), then concurrent senders for ingestLoad.
const (
	ingestEvents  = 5000
	ingestSenders = 8
	ingestLoad    = 5 * time.Second
)

// measureIngest runs leaderhook taking events over HTTP, then the bare
// server, each alone, one at a time and from concurrent senders.
func measureIngest(bin, dir string) ingestResult {
	fmt.Println("ingest: POST /v1/events on loopback")
	var r ingestResult
	addr := freeAddr()
	lh := exec.Command(bin, "run", "-c", ingestConfig(dir, addr), "--log-level", "error")
	lh.Stderr = os.Stderr
	if err := lh.Start(); err != nil {
		log.Fatal(err)
	}
	waitUp(addr)
	r.P50, r.P99 = sequential("http://"+addr+"/v1/events?cluster=c", ingestEvents)
	r.Rate, r.Refused = concurrent("http://"+addr+"/v1/events?cluster=c", ingestSenders, ingestLoad)
	lh.Process.Kill()
	lh.Wait()

	faddr := freeAddr()
	floor := exec.Command(os.Args[0], "-floor-ingest", faddr)
	if err := floor.Start(); err != nil {
		log.Fatal(err)
	}
	waitUp(faddr)
	r.FloorP50, r.FloorP99 = sequential("http://"+faddr+"/v1/events?cluster=c", ingestEvents)
	r.FloorRate, _ = concurrent("http://"+faddr+"/v1/events?cluster=c", ingestSenders, ingestLoad)
	floor.Process.Kill()
	floor.Wait()
	fmt.Printf("  leaderhook     : one at a time p50 %s p99 %s; %d senders %.0f events/s, %d refused\n", r.P50, r.P99, ingestSenders, r.Rate, r.Refused)
	fmt.Printf("  floor (bare Go): one at a time p50 %s p99 %s; %d senders %.0f events/s\n", r.FloorP50, r.FloorP99, ingestSenders, r.FloorRate)
	return r
}

func (r ingestResult) section() string {
	us := func(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
	return fmt.Sprintf(`| server | p50, %d one at a time | p99 | %d senders, %s |
|---|---|---|---|
| `+"`leaderhook run`"+`: decided and journaled before the answer | %s | %s | %.0f events/s (%d refused) |
| peer: bare Go server decoding the body | %s | %s | %.0f events/s |
| ratio | %.2f× | %.2f× | %.2f× |

No target: the cost of a decision per request, shown beside the peer.
`, ingestEvents, ingestSenders, ingestLoad, us(r.P50), us(r.P99), r.Rate, r.Refused, us(r.FloorP50), us(r.FloorP99), r.FloorRate,
		float64(r.P50)/float64(r.FloorP50), float64(r.P99)/float64(r.FloorP99), r.Rate/r.FloorRate)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitUp(addr string) {
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("%s did not come up", addr)
}

// fakeStatus serves rqlite-style /status answers for any member path.
func fakeStatus() string {
	addr := freeAddr()
	go http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"store":{"node_id":"n1","leader":{"node_id":"n1","addr":"127.0.0.1:4002"}}}`)
	}))
	waitUp2(addr)
	return "http://" + addr
}

func waitUp2(addr string) {
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pollConfig(dir, status string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server: {listen: \"127.0.0.1:0\"}\nstate_dir: %s/poll-state\nclusters:\n", dir)
	for i := range n {
		fmt.Fprintf(&b, "  - name: c%d\n    source: {type: poll, preset: rqlite, interval: 1s, members: [%s/c%d/m1, %s/c%d/m2, %s/c%d/m3]}\n", i, status, i, status, i, status, i)
	}
	b.WriteString("actions:\n  note: {type: webhook, url: \"http://127.0.0.1:9/x\"}\nrules:\n  - {name: lost, when: 'leaderless_for >= duration(\"30s\")', actions: [note]}\n")
	path := filepath.Join(dir, "poll.yaml")
	os.WriteFile(path, []byte(b.String()), 0o644)
	return path
}

func ingestConfig(dir, addr string) string {
	path := filepath.Join(dir, "ingest.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`server: {listen: %q}
state_dir: %s/ingest-state
clusters:
  - name: c
    source: {type: events, http: true}
actions:
  note: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - {name: lost, when: 'leaderless_for >= duration("30s")', actions: [note]}
`, addr, dir)), 0o644)
	return path
}

// measureProcess starts cmd, lets it warm up, and returns its CPU share
// (percent of one core) over d, and its RSS and peak RSS in MB.
func measureProcess(cmd *exec.Cmd, d time.Duration) (cpu, rss, peak float64) {
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(5 * time.Second)
	cpu = procstat.Share(cmd.Process.Pid, d)
	rss, peak = procstat.Memory(cmd.Process.Pid)
	return cpu, rss, peak
}

// floorPoll polls the same URLs the same way, and does nothing else.
func floorPoll(status string, n int) {
	client := &http.Client{Timeout: 500 * time.Millisecond}
	for {
		start := time.Now()
		var wg sync.WaitGroup
		for i := range n {
			for m := 1; m <= 3; m++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := client.Get(fmt.Sprintf("%s/c%d/m%d/status", status, i, m))
					if err != nil {
						return
					}
					var v map[string]any
					json.NewDecoder(resp.Body).Decode(&v)
					resp.Body.Close()
				}()
			}
		}
		wg.Wait()
		time.Sleep(time.Second - time.Since(start))
	}
}

// floorIngest accepts events and decodes them, and does nothing else.
func floorIngest(addr string) {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {})
	http.HandleFunc("/v1/events", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		json.NewDecoder(r.Body).Decode(&v)
		w.WriteHeader(http.StatusAccepted)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}

var seq atomic.Int64

func body() []byte {
	i := seq.Add(1)
	return []byte(fmt.Sprintf(`{"namespace":"cluster","event_src_id":"m%d","timestamp":%q,"eventType":"state.has_leader","leaderId":"m1"}`,
		i%3, time.Now().UTC().Format(time.RFC3339Nano)))
}

func sequential(url string, n int) (p50, p99 time.Duration) {
	client := &http.Client{}
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		resp, err := client.Post(url, "application/json", bytes.NewReader(body()))
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			log.Fatalf("status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	return lat[n/2].Round(time.Microsecond), lat[n*99/100].Round(time.Microsecond)
}

// concurrent runs senders that each send one event at a time until d has
// passed: events accepted per second, and the refusals (503) resent.
func concurrent(url string, senders int, d time.Duration) (float64, int64) {
	var accepted, refused atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for time.Now().Before(deadline) {
				ok, refusals := sendPolitely(client, url, body(), deadline)
				refused.Add(int64(refusals))
				if ok {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(accepted.Load()) / d.Seconds(), refused.Load()
}

// maxRetryWait caps the wait a Retry-After asks of a sender: a sender that
// waits longer measures its own idleness.
const maxRetryWait = time.Second

// sendPolitely, as in bench/peers, sends one event as a well-behaved
// client does: a 503 takes nothing, so the sender waits what Retry-After
// asks (at most maxRetryWait) and sends the same event again, while there
// is time before deadline. It returns whether the event was accepted (202)
// and how many times it was refused.
func sendPolitely(client *http.Client, url string, event []byte, deadline time.Time) (accepted bool, refusals int) {
	for {
		resp, err := client.Post(url, "application/json", bytes.NewReader(event))
		if err != nil {
			return false, refusals
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return resp.StatusCode == http.StatusAccepted, refusals
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
