// Command replay measures `leaderhook replay` on a generated recording of
// 1,000,000 events (internal/synth) with the 50 rules of synth.Rules: wall time and peak RSS of the child
// process, against a floor measured in the same run: a bare Go program's
// work of reading and JSON-decoding the same lines.
//
//	go run ./bench/replay -bin ./bin/leaderhook -events 1000000
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/benchdoc"
	"github.com/leaderhook/leaderhook/internal/synth"
)

func main() {
	bin := flag.String("bin", "./bin/leaderhook", "leaderhook binary")
	n := flag.Int("events", 1_000_000, "events to generate")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	md := flag.String("md", "BENCHMARKS.md", "file whose replay section gets the table (empty: none)")
	out := flag.String("o", "bench/replay/results.json", "results file")
	flag.Parse()
	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "leaderhook-bench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	events := filepath.Join(work, "events.jsonl")
	config := filepath.Join(work, "rules.yaml")
	size, changes := generate(events, *n)
	if err := os.WriteFile(config, []byte("clusters:\n  - name: ziti-prod\n    labels: {env: prod}\n    source: {type: events, stdin: true}\n"+
		"actions:\n  note: {type: webhook, url: \"http://127.0.0.1:9/unused\"}\n"+synth.RulesYAML(50)), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("recording: %d events, %.1f MB, %d leader changes; 50 rules\n", *n, float64(size)/1e6, changes)

	floorWall, floorRSS := measure(exec.Command(os.Args[0], "-floor", events))
	wall, rss := measure(exec.Command(*bin, "replay", "-c", config, "--format", "json", events))
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	table := fmt.Sprintf(`%s

| run: %d events (%.0f MB, %d leader changes), 50 rules | wall | peak RSS |
|---|---|---|
| `+"`leaderhook replay --format json`"+` | **%.2f s** (%.0fk events/s) | **%.1f MB** |
| peer: bare Go reading and `+"`encoding/json`"+`-decoding the same lines | %.2f s | %.1f MB |
| ratio | %.2f× | %.2f× |

Targets: ≤ 3 s — %s; ≤ 100 MB peak RSS — %s.
`, benchdoc.Header(benchdoc.Machine(), time.Now()), *n, float64(size)/1e6, changes,
		wall.Seconds(), float64(*n)/wall.Seconds()/1000, float64(rss)/1024, floorWall.Seconds(), float64(floorRSS)/1024,
		wall.Seconds()/floorWall.Seconds(), float64(rss)/float64(floorRSS), verdict(wall <= 3*time.Second), verdict(rss <= 100*1024))
	fmt.Print(table)
	result := map[string]any{"machine": benchdoc.Machine(), "when": time.Now().UTC(), "events": *n, "rules": 50,
		"recording_mb": float64(size) / 1e6, "leader_changes": changes,
		"wall_s": wall.Seconds(), "peak_rss_mb": float64(rss) / 1024, "floor_wall_s": floorWall.Seconds(), "floor_peak_rss_mb": float64(floorRSS) / 1024}
	if err := benchdoc.WriteJSON(*out, result); err != nil {
		log.Fatal(err)
	}
	if *md != "" {
		if err := benchdoc.Replace(*md, "replay", table); err != nil {
			log.Fatal(err)
		}
	}
}

func init() {
	// The floor runs as a child of this same program, so that its RSS is
	// measured the same way.
	if len(os.Args) == 3 && os.Args[1] == "-floor" {
		floor(os.Args[2])
		os.Exit(0)
	}
}

// measure runs cmd with its output discarded and returns its wall time and
// peak RSS in KiB.
func measure(cmd *exec.Cmd) (time.Duration, int64) {
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatalf("%v: %v", cmd.Args, err)
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, ru.Maxrss
}

func floor(path string) {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev struct {
		Namespace, Source, Timestamp, Type, LeaderID string
		Peers                                        []struct{ ID string }
	}
	n := 0
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			log.Fatal(err)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Timestamp); err != nil {
			log.Fatal(err)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
}

// generate writes synth.Recording as JSONL.
func generate(path string, n int) (size int64, changes int) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	changes = synth.Recording(n, func(ev event.Event) {
		data, err := ev.MarshalJSON()
		if err != nil {
			log.Fatal(err)
		}
		w.Write(data)
		w.WriteByte('\n')
	})
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	f.Close()
	return st.Size(), changes
}
