// Command gotest runs the Go benchmarks of the rule engine, the dispatcher
// and the raft observer, and writes their tables into BENCHMARKS.md (the
// engine, dispatch and raft sections), each with its peer and a line on its
// target computed from the run.
//
//	go run ./bench/gotest
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

// results maps a benchmark's name to its runs, each a map from unit
// ("ns/op", "allocs/op", "p99-µs", ...) to value.
type results map[string][]map[string]float64

var line = regexp.MustCompile(`^(Benchmark\w+)-\d+\s+\d+\s+(.*)$`)

func run(res results, args ...string) {
	cmd := exec.Command("go", append([]string{"test", "-run", "^$"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	os.Stdout.Write(out)
	if err != nil {
		log.Fatalf("go test %s: %v", strings.Join(args, " "), err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		r := map[string]float64{}
		for i := 0; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				r[fields[i+1]] = v
			}
		}
		res[m[1]] = append(res[m[1]], r)
	}
}

// span is "min–max" of a unit over a benchmark's runs, formatted by f.
func (res results) span(name, unit string, f func(float64) string) string {
	var vs []float64
	for _, r := range res[name] {
		vs = append(vs, r[unit])
	}
	if len(vs) == 0 {
		return "n/a"
	}
	lo, hi := slices.Min(vs), slices.Max(vs)
	if f(lo) == f(hi) {
		return f(lo)
	}
	return f(lo) + "–" + f(hi)
}

func (res results) median(name, unit string) float64 {
	var vs []float64
	for _, r := range res[name] {
		vs = append(vs, r[unit])
	}
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func main() {
	md := flag.String("md", "BENCHMARKS.md", "file whose engine, dispatch and raft sections get the tables")
	flag.Parse()
	res := results{}
	when := time.Now()
	count := strconv.Itoa(runs)
	run(res, "-bench", "EngineObserve|NaiveExpr|DriverHandle", "-benchmem", "-count", count, "./rules", "./pipeline")
	run(res, "-bench", "DispatchWebhook|BarePost", "-benchtime", fmt.Sprintf("%dx", deliveries), "-count", count, "./actions/webhook")
	run(res, "-bench", "RaftDetection", "-benchtime", fmt.Sprintf("%dx", transfers), "./detector")
	sections := map[string]string{
		"engine":   res.engineSection(when),
		"dispatch": res.dispatchSection(),
		"raft":     res.raftSection(),
	}
	for _, name := range []string{"engine", "dispatch", "raft"} {
		fmt.Print(sections[name])
		if err := benchdoc.Replace(*md, name, sections[name]); err != nil {
			log.Fatal(err)
		}
	}
}

// How much each benchmark runs: runs of the engine and dispatch benchmarks,
// deliveries per dispatch run (a p99 over its slowest fifty), leadership
// transfers of the raft cluster.
const runs, deliveries, transfers = 3, 5000, 200

// whole formats a figure as a whole number: its column names the unit.
func whole(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// engineSection judges the cost per member event, what sources deliver. A
// cluster state change runs every rule and comes a few times a minute at
// most: its cost is shown beside bare expr-lang, not judged.
func (res results) engineSection(when time.Time) string {
	handle, observe := res.median("BenchmarkDriverHandle", "ns/op"), res.median("BenchmarkEngineObserve", "ns/op")
	return fmt.Sprintf(`%s Dispatch and raft below: same run; %d runs of each benchmark.

| benchmark: one op is | ns/op | allocs/op |
|---|---|---|
| `+"`DriverHandle`"+`: one member event through the cluster view, and the 50 rules when the state changes | **%s** | %s |
| `+"`EngineObserve`"+`: one cluster state change, 50 rules with edges, cooldowns, mute windows, timers | %s | %s |
| `+"`NaiveExpr`"+` (peer): the same 50 conditions through `+"`expr.Run`"+`, nothing else | %s | %s |

Target ≤ 2 µs per member event: %s (%.2f µs). Per state change, no target: %.2f µs, %.2f× the peer.
`, benchdoc.Header(benchdoc.Machine(), when), runs,
		res.span("BenchmarkDriverHandle", "ns/op", whole), res.span("BenchmarkDriverHandle", "allocs/op", whole),
		res.span("BenchmarkEngineObserve", "ns/op", whole), res.span("BenchmarkEngineObserve", "allocs/op", whole),
		res.span("BenchmarkNaiveExpr", "ns/op", whole), res.span("BenchmarkNaiveExpr", "allocs/op", whole),
		verdict(handle <= 2000), handle/1000, observe/1000, observe/res.median("BenchmarkNaiveExpr", "ns/op"))
}

func (res results) dispatchSection() string {
	return fmt.Sprintf(`| path, %d deliveries one at a time | p50 µs | p99 µs |
|---|---|---|
| leaderhook: queue → worker → payload → signature → POST | %s | %s |
| peer: bare `+"`http.Post`"+` of the same payload | %s | %s |
| ratio (medians) | %.1f× | %.1f× |

No target: a fixed cost per delivery, shown beside the peer.
`, deliveries, res.span("BenchmarkDispatchWebhook", "p50-µs", whole), res.span("BenchmarkDispatchWebhook", "p99-µs", whole),
		res.span("BenchmarkBarePost", "p50-µs", whole), res.span("BenchmarkBarePost", "p99-µs", whole),
		res.median("BenchmarkDispatchWebhook", "p50-µs")/res.median("BenchmarkBarePost", "p50-µs"),
		res.median("BenchmarkDispatchWebhook", "p99-µs")/res.median("BenchmarkBarePost", "p99-µs"))
}

func (res results) raftSection() string {
	const rd = "BenchmarkRaftDetection"
	p99 := res.median(rd, "overhead-p99-µs")
	return fmt.Sprintf(`| %d transfers: from the transfer asked for, to | p50 µs | p99 µs |
|---|---|---|
| raft observes the new leader (an observer's filter stamps it) | %s | %s |
| raft signals the new leader's `+"`LeaderCh`"+` (peer) | %s | %s |
| `+"`RaftSource`"+` emits `+"`state.has_leader`"+` | %s | %s |
| **overhead**: observation → event, per transfer | **%s** | **%s** |

Target ≤ 1 ms overhead at p99: %s (%s µs).
`, transfers, res.span(rd, "observed-p50-µs", whole), res.span(rd, "observed-p99-µs", whole),
		res.span(rd, "leaderch-p50-µs", whole), res.span(rd, "leaderch-p99-µs", whole),
		res.span(rd, "event-p50-µs", whole), res.span(rd, "event-p99-µs", whole),
		res.span(rd, "overhead-p50-µs", whole), res.span(rd, "overhead-p99-µs", whole),
		verdict(p99 <= 1000), whole(p99))
}
