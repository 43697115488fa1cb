// Command ha measures leaderhook's high-availability group (ha:) on
// 127.0.0.1, with three `leaderhook run` nodes and one webhook receiver
// that stamps each request as it arrives:
//
//   - failover to page: in each round a member reports a leader, then
//     none, to a follower; the group's leader is killed (kill -9) at once,
//     so that the page, due ruleDelay after the loss, falls to a new
//     leader. Measured from the kill: until a survivor says it leads the
//     group, and until the page arrives; the failover delay is the latter
//     less the rule's own wait (due − kill). The killed node is started
//     again and the group agrees on a leader before the next round. The
//     target, a failover delay at most twice raft's election timeout, is
//     read from hashicorp/raft's DefaultConfig, which the group runs with.
//   - ingest: POST /v1/events, one event per request, from one sender and
//     from concurrent senders, for a fixed time each: to one process
//     without ha: (answered once journaled), and to the group's leader and
//     a follower (answered once committed by a majority).
//
// Results go to a JSON file and between the ha markers of BENCHMARKS.md.
//
//	make build && go run ./bench/ha -bin ./bin/leaderhook
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

type options struct {
	bin, out, md, from string
	rounds, senders    int
	load               time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "./bin/leaderhook", "leaderhook binary")
	flag.IntVar(&o.rounds, "rounds", 10, "kills of the group's leader")
	flag.DurationVar(&o.load, "load", 5*time.Second, "duration of each ingest run")
	flag.IntVar(&o.senders, "senders", 8, "concurrent senders of the concurrent ingest runs")
	flag.StringVar(&o.out, "o", "bench/ha/results.json", "results file; empty: none")
	flag.StringVar(&o.md, "md", "BENCHMARKS.md", "file whose ha section gets the table; empty: none")
	flag.StringVar(&o.from, "from", "", "measure nothing: write the table from this results file of an earlier run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		slog.Error("bench/ha failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.from != "" {
		return rewrite(o.from, o.md)
	}
	if _, err := exec.LookPath(o.bin); err != nil {
		return fmt.Errorf("%s is missing (make build builds it): %w", o.bin, err)
	}
	dir, err := os.MkdirTemp("", "leaderhook-ha")
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	start := time.Now()
	rep, err := measure(ctx, o, dir)
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, dir)
	}
	rep.When, rep.Duration = start.UTC(), time.Since(start).Round(time.Second).String()
	fmt.Print(rep.section())
	if err := rep.write(o.out, o.md); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// rewrite writes the table of an earlier run's results.
func rewrite(from, md string) error {
	var rep report
	if err := benchdoc.ReadJSON(from, &rep); err != nil {
		return err
	}
	fmt.Print(rep.section())
	return rep.write("", md)
}

// measure runs the ingest runs of one process alone, then starts the
// group for its ingest runs and its failovers.
func measure(ctx context.Context, o options, dir string) (report, error) {
	rep := report{Machine: benchdoc.Machine(), Raft: defaultRaftTimers(), RuleDelay: ruleDelay.Seconds(),
		Load: o.load.String(), Senders: o.senders}
	recv, err := startReceiver()
	if err != nil {
		return rep, err
	}
	defer recv.close()
	alone, err := measureAlone(ctx, o, dir, recv.url)
	if err != nil {
		return rep, err
	}
	rep.Ingest = append(rep.Ingest, alone)
	g, err := startGroup(ctx, o.bin, dir, recv.url)
	defer g.stop()
	if err != nil {
		return rep, err
	}
	rows, err := g.measureIngest(ctx, o)
	rep.Ingest = append(rep.Ingest, rows...)
	if err != nil {
		return rep, err
	}
	rep.Rounds, err = g.failovers(ctx, o.rounds, recv)
	return rep, err
}
