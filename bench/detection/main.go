// Command detection measures how soon each way of watching etcd notifies
// that its leader is gone, on real three-member clusters on 127.0.0.1
// (Debian's etcd-server, default timers):
//
//   - etcd's own view, the reference: each member asked for its status
//     (POST /v3/maintenance/status) every 50 ms, stamped when a survivor
//     first names the new leader, or first says it has none;
//   - leaderhook: `leaderhook run` with the cookbook's etcd.yaml, read
//     from docs/cookbook.md (only members, state_dir and listen filled in);
//   - Prometheus + Alertmanager, tuned: a 1 s scrape and evaluation,
//     `for: 0s`, on etcd_server_has_leader and the leader changes seen;
//   - Prometheus + Alertmanager with etcd's own alert rules (its mixin,
//     rendered with the mixin's defaults) and a 30 s scrape.
//
// All of them notify one receiver here, which stamps each arrival and
// reads which pipeline sent it and what it says: no leader, a new leader,
// or neither (a resolve, too many changes). On the main cluster, leader
// kills (kill -9 of the leader) and quorum losses (kill -9 of the leader
// and a follower) alternate; the killed members are restarted after a
// fixed time, and the next kill waits for a healthy cluster and quiet
// pipelines. The mixin waits a minute before it says anything, so it
// watches clusters of its own, run alongside: on each, a leader kill, then
// a quorum loss that stays down until the mixin notified it. Those quorum
// losses are spread over its scrape interval.
//
// A notification belongs to the last round of its cluster killed before
// it arrived. Per pipeline and kind of round: kill → first notification
// of that kind (min / median / max) and the rounds missed; duplicates are
// the later notifications of that kind in a round; false ones say "no
// leader" in a leader kill (its restart included), "a new leader" while
// quorum is lost, or either outside any round. A leaderhook firing that
// reaches both of its actions is one notification; an Alertmanager
// message is one per cluster and claim, however many alerts it carries.
//
// Results go to a JSON file and between the detection markers of
// BENCHMARKS.md, with a verdict on each of leaderhook's targets.
//
//	go run ./bench/detection -bin ./bin/leaderhook
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

type options struct {
	bin, cookbook, out, md, from string
	n                            int
	mixin                        bool
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "./bin/leaderhook", "leaderhook binary")
	flag.StringVar(&o.cookbook, "cookbook", "docs/cookbook.md", "document whose etcd.yaml leaderhook runs")
	flag.IntVar(&o.n, "n", 5, "leader kills and quorum losses, each, per pipeline")
	flag.BoolVar(&o.mixin, "mixin", true, "measure etcd's mixin rules too (their quorum losses take minutes)")
	flag.StringVar(&o.out, "o", "bench/detection/results.json", "results file; empty: none")
	flag.StringVar(&o.md, "md", "BENCHMARKS.md", "file whose detection section gets the table; empty: none")
	flag.StringVar(&o.from, "from", "", "measure nothing: write the table from this results file of an earlier run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	if o.from != "" {
		return rewrite(o.from, o.md)
	}
	for _, p := range []string{"etcd", "prometheus", "prometheus-alertmanager", o.bin} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s is missing (make build bench-deps installs what this needs): %w", p, err)
		}
	}
	dir, err := os.MkdirTemp("", "leaderhook-detection")
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	start := time.Now()
	b, err := setUp(ctx, o, dir)
	var rounds []round
	if err == nil {
		rounds, err = b.measure(ctx, o.n)
	}
	b.tearDown()
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, dir)
	}
	rep := b.report(rounds, start, o)
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

// bench is everything a run starts.
type bench struct {
	recv      *receiver
	main      *cluster
	mixin     []*cluster
	ref       *watcher
	lh        *leaderhook
	tuned     *prometheus
	mixinProm *prometheus
	am        *process
	cancel    context.CancelFunc
}

func setUp(ctx context.Context, o options, dir string) (*bench, error) {
	b := &bench{}
	var err error
	if b.recv, err = startReceiver(); err != nil {
		return b, err
	}
	if err := b.startClusters(ctx, dir, o); err != nil {
		return b, err
	}
	amAddr := ""
	if b.am, amAddr, err = startAlertmanager(ctx, dir, b.recv); err != nil {
		return b, err
	}
	b.tuned = &prometheus{pipeline: pipeTuned, interval: time.Second, rules: tunedRules, clusters: []*cluster{b.main}}
	proms := []*prometheus{b.tuned}
	if o.mixin {
		b.mixinProm = &prometheus{pipeline: pipeMixin, interval: 30 * time.Second, rules: mixinRules, clusters: b.mixin}
		proms = append(proms, b.mixinProm)
	}
	for _, p := range proms {
		if err := p.start(ctx, dir, amAddr); err != nil {
			return b, err
		}
	}
	if b.lh, err = startLeaderhook(ctx, dir, o.bin, o.cookbook, b.main, b.recv); err != nil {
		return b, err
	}
	watchCtx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	b.ref = watch(watchCtx, b.main, 50*time.Millisecond)
	return b, nil
}

// startClusters starts the main cluster and, with the mixin, one cluster
// per round pair for it, and waits until each has a leader.
func (b *bench) startClusters(ctx context.Context, dir string, o options) error {
	names := []string{"main"}
	for i := 1; o.mixin && i <= o.n; i++ {
		names = append(names, fmt.Sprintf("mixin%d", i))
	}
	for _, name := range names {
		c, err := startCluster(dir, name)
		if err != nil {
			return err
		}
		if name == "main" {
			b.main = c
		} else {
			b.mixin = append(b.mixin, c)
		}
	}
	for _, c := range append([]*cluster{b.main}, b.mixin...) {
		if _, err := c.waitAgreed(ctx, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// measure runs the main cluster's rounds and the mixin's side by side.
func (b *bench) measure(ctx context.Context, n int) ([]round, error) {
	var mainRounds, mixinRounds []round
	var mainErr, mixinErr error
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() { mainRounds, mainErr = b.mainRounds(ctx, n) })
	if b.mixinProm != nil {
		wg.Go(func() { mixinRounds, mixinErr = b.mixinRounds(ctx, start) })
	}
	wg.Wait()
	if mainErr != nil {
		return nil, mainErr
	}
	return append(mainRounds, mixinRounds...), mixinErr
}

func (b *bench) report(rounds []round, start time.Time, o options) report {
	notes := b.recv.notesOf()
	main := roundsOf(rounds, b.main.name)
	rep := report{Machine: benchdoc.Machine(), Versions: versions(o.bin), When: start.UTC(),
		Duration: time.Since(start).Round(time.Second).String(), N: o.n, Rounds: rounds, Notes: notes,
		Scores: []score{referenceScore(main), scoreOf(pipeLeaderhook, main, notes), scoreOf(pipeTuned, main, notes)}}
	if b.mixinProm != nil {
		var names []string
		for _, c := range b.mixin {
			names = append(names, c.name)
		}
		rep.Scores = append(rep.Scores, scoreOf(pipeMixin, roundsOf(rounds, names...), notes))
	}
	return rep
}

func (b *bench) tearDown() {
	if b.cancel != nil {
		b.cancel()
	}
	if b.lh != nil {
		b.lh.proc.stop()
	}
	for _, p := range []*prometheus{b.tuned, b.mixinProm} {
		if p != nil && p.proc != nil {
			p.proc.stop()
		}
	}
	if b.am != nil {
		b.am.stop()
	}
	for _, c := range append([]*cluster{b.main}, b.mixin...) {
		if c != nil {
			c.stop()
		}
	}
	if b.recv != nil {
		b.recv.srv.Close()
	}
}
