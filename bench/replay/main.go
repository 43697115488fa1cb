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
	"github.com/leaderhook/leaderhook/internal/synth"
)

func main() {
	bin := flag.String("bin", "./bin/leaderhook", "leaderhook binary")
	n := flag.Int("events", 1_000_000, "events to generate")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
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
	_ = floorRSS
	wall, rss := measure(exec.Command(*bin, "replay", "-c", config, "--format", "json", events))
	fmt.Printf("leaderhook replay: %6.2f s  peak RSS %5.1f MB  (%.0f events/s)\n", wall.Seconds(), float64(rss)/1024, float64(*n)/wall.Seconds())
	fmt.Printf("floor (read+decode):%6.2f s  peak RSS %5.1f MB\n", floorWall.Seconds(), float64(floorRSS)/1024)
	fmt.Printf("ratio to floor: %.2fx time\n", wall.Seconds()/floorWall.Seconds())
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

// rulesYAML writes synth.Rules(n) as a config file.
