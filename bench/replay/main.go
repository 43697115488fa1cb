// Command replay measures `leaderhook replay` on a generated recording of
// 1,000,000 events with 50 rules: wall time and peak RSS of the child
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
	if err := os.WriteFile(config, []byte(rulesYAML(50)), 0o644); err != nil {
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

// generate writes n events of a 3-member cluster: steady reports and peer
// chatter, with a leader killed every 30 s (followers notice, elect a new
// leader, the old one restarts) and a quorum loss every tenth time.
func generate(path string, n int) (size int64, changes int) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	members := []string{"ctrl1", "ctrl2", "ctrl3"}
	t := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	leader := 0
	written := 0
	emit := func(src, typ, extra string) {
		if written >= n {
			return
		}
		fmt.Fprintf(w, `{"namespace":"cluster","event_src_id":"%s","timestamp":"%s","eventType":"%s"%s}`+"\n",
			src, t.Format(time.RFC3339Nano), typ, extra)
		written++
	}
	peer := func(id string) string { return fmt.Sprintf(`,"peers":[{"id":"%s","addr":"tls:127.0.0.1:6262"}]`, id) }
	for cycle := 0; written < n; cycle++ {
		// 30 s of steady chatter: connects and membership reports.
		for i := 0; i < 20 && written < n; i++ {
			t = t.Add(1500 * time.Millisecond)
			m := members[i%3]
			emit(m, "peer.connected", peer(members[(i+1)%3]))
			emit(m, "members.changed", `,"index":10,"peers":[{"id":"ctrl1"},{"id":"ctrl2"},{"id":"ctrl3"}]`)
		}
		old := members[leader]
		next := (leader + 1 + cycle%2) % 3
		quorum := cycle%10 == 9
		for i, m := range members {
			if i != leader {
				t = t.Add(time.Millisecond)
				emit(m, "peer.disconnected", peer(old))
			}
		}
		gap := 4 * time.Second
		if quorum {
			gap = 75 * time.Second
		}
		t = t.Add(gap)
		for i, m := range members {
			if i != leader {
				emit(m, "state.is_leaderless", "")
			}
		}
		t = t.Add(5 * time.Millisecond)
		emit(members[next], "leadership.gained", "")
		for _, m := range members {
			if m != old {
				t = t.Add(time.Millisecond)
				emit(m, "state.has_leader", fmt.Sprintf(`,"leaderId":"%s"`, members[next]))
			}
		}
		t = t.Add(1500 * time.Millisecond)
		emit(old, "state.is_leaderless", "") // the old leader restarts
		t = t.Add(100 * time.Millisecond)
		emit(old, "state.has_leader", fmt.Sprintf(`,"leaderId":"%s"`, members[next]))
		leader = next
		changes++
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return st.Size(), changes
}

// rulesYAML is a config with n rules of the kinds operators write.
func rulesYAML(n int) string {
	s := `clusters:
  - name: bench
    source: {type: events, stdin: true}
actions:
  note: {type: webhook, url: "http://127.0.0.1:9/unused"}
windows:
  sunday: {schedule: "0 2 * * SUN", duration: 2h}
rules:
`
	kinds := []string{
		`type == "state.is_leaderless" && leaderless_for >= duration("%ds")`,
		`type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id && %d > 0`,
		`leader_changes(duration("%dm")) >= 3`,
		`leaderless && leaderless_for > duration("%ds")`,
		`!leaderless && leader_for >= duration("%dm")`,
	}
	for i := range n {
		k := kinds[i%len(kinds)]
		s += fmt.Sprintf("  - name: rule-%02d\n    when: '%s'\n    actions: [note]\n    cooldown: 1m\n", i, fmt.Sprintf(k, 5+i))
		if i%7 == 0 {
			s += "    mute: [sunday]\n"
		}
	}
	return s
}
