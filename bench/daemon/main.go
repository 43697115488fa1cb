// Command daemon measures `leaderhook run` as a service, against floors
// measured in the same run by this program itself:
//
//   - polling: N clusters of 3 members polled every second (rqlite preset)
//     against a local fake status server: CPU share and RSS of the daemon,
//     vs a bare Go poller doing the same requests;
//
//   - ingest: POST /v1/events on loopback, one at a time (p50, p99) and
//     from 8 concurrent senders (events/s), vs a bare Go HTTP server that
//     decodes the same bodies.
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
	flag.Parse()
	dir, err := os.MkdirTemp("", "leaderhook-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	status := fakeStatus()
	fmt.Printf("polling %d clusters x 3 members every 1s (%d requests/s) on loopback, measured over %s\n", *clusters, *clusters*3, *measure)
	cpu, rss, peak := measureProcess(exec.Command(*bin, "run", "-c", pollConfig(dir, status, *clusters), "--log-level", "error"), *measure)
	fcpu, frss, fpeak := measureProcess(exec.Command(os.Args[0], "-floor-poll", status, strconv.Itoa(*clusters)), *measure)
	fmt.Printf("  leaderhook run : %5.1f%% of one core, RSS %5.1f MB (peak %5.1f MB)\n", cpu, rss, peak)
	fmt.Printf("  floor (bare Go): %5.1f%% of one core, RSS %5.1f MB (peak %5.1f MB)\n", fcpu, frss, fpeak)
	fmt.Printf("  ratio          : %.2fx CPU, %.2fx RSS\n", cpu/fcpu, rss/frss)

	fmt.Println("ingest: POST /v1/events on loopback")
	addr := freeAddr()
	lh := exec.Command(*bin, "run", "-c", ingestConfig(dir, addr), "--log-level", "error")
	lh.Stderr = os.Stderr
	if err := lh.Start(); err != nil {
		log.Fatal(err)
	}
	waitUp(addr)
	p50, p99 := sequential("http://"+addr+"/v1/events?cluster=c", 5000)
	rate := concurrent("http://"+addr+"/v1/events?cluster=c", 8, 5*time.Second)
	lh.Process.Kill()
	lh.Wait()

	faddr := freeAddr()
	floor := exec.Command(os.Args[0], "-floor-ingest", faddr)
	if err := floor.Start(); err != nil {
		log.Fatal(err)
	}
	waitUp(faddr)
	fp50, fp99 := sequential("http://"+faddr+"/v1/events?cluster=c", 5000)
	frate := concurrent("http://"+faddr+"/v1/events?cluster=c", 8, 5*time.Second)
	floor.Process.Kill()
	floor.Wait()
	fmt.Printf("  leaderhook     : one at a time p50 %s p99 %s; 8 senders %.0f events/s\n", p50, p99, rate)
	fmt.Printf("  floor (bare Go): one at a time p50 %s p99 %s; 8 senders %.0f events/s\n", fp50, fp99, frate)
	fmt.Printf("  ratio          : p99 %.2fx, throughput %.2fx\n", float64(p99)/float64(fp99), rate/frate)
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

func concurrent(url string, senders int, d time.Duration) float64 {
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for time.Now().Before(deadline) {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body()))
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / d.Seconds()
}
