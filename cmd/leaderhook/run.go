package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/audit"
	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/metrics"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/store"
)

type runOptions struct {
	config string
	dryRun bool
	drain  time.Duration
}

func runCmd(e *env) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run -c FILE [--dry-run]",
		Short: "Watch the clusters and run the rules' actions (the daemon)",
		Long: `Run the daemon: read each cluster's events, keep its view of the leader, evaluate the
rules on every change and when time makes them true, and deliver the actions.

State (cooldowns, firing rules, each cluster's leader and leaderless-since, pending
deliveries, read positions of followed files) is kept in state_dir and survives a
restart, kill -9 included: nothing fires twice inside its cooldown, an interrupted
delivery resumes with the same delivery id, and a cluster that recovered while
leaderhook was down gets its resolve.

SIGTERM or SIGINT: stop reading, deliver what is queued for up to --drain-timeout,
save the state, exit 0. Undelivered notifications stay pending for the next start.

--dry-run evaluates everything but executes no action: it logs what each action
would send (URL, headers, body, argv, env; secrets redacted).

CPU: Go code runs on one CPU (faster notifications, less CPU), on all while scripts
run and for a second after, and for a second whenever one CPU was used to 90% or
more while events came in over HTTP. GOMAXPROCS in the environment overrides this.

Memory: the Go heap may grow to three times its live data between collections
(GOGC=200): 5-8 MB more than Go's default, for 8-9% less CPU per notification
under load. GOGC in the environment overrides this.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			daemonGC()
			return e.daemon(ctx, o)
		},
	}
	configFlag(cmd, &o.config)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "execute no action; log what each would send")
	cmd.Flags().DurationVar(&o.drain, "drain-timeout", 10*time.Second, "on shutdown, how long to keep delivering what is queued")
	return cmd
}

// Ingest over HTTP answers once the deliveries its events caused for the
// cluster are made (first attempts), if that takes at most ingestSettle:
// a quick notification then does not compete with the sender's next
// request for the CPU. After that it paces the sender to the speed at which its
// cluster's deliveries go out: the answer waits while one of the cluster's
// queues holds more than ingestBacklog deliveries waiting, so that a flood
// cannot build a queue (each waiting delivery is latency), while slower
// actions (scripts) keep running concurrently. ingestPaceLimit bounds the
// whole wait: events are always decided at once, and a hung receiver
// delays an answer by that much at most.
const (
	ingestSettle    = 20 * time.Millisecond
	ingestBacklog   = 2
	ingestPaceLimit = time.Second
)

// saveEvery bounds how often a burst of changes is saved to state.log: the
// first change after a quiet spell is saved at once, later ones together
// at most this often.
const saveEvery = 50 * time.Millisecond

// daemon is `leaderhook run`.
func (e *env) daemon(ctx context.Context, o runOptions) error {
	cfg, ok := e.loadConfig(o.config)
	if !ok {
		return exitError{1}
	}
	log := e.log
	stateDir := cfg.StateDir
	if stateDir == "" {
		stateDir = "./leaderhook-state"
	}
	st, err := store.Open(stateDir)
	if err != nil {
		return err
	}
	defer st.Close()
	st.OnError = func(err error) { log.Error("delivery journal", "state_dir", stateDir, "err", err) }
	saved, pending, err := st.Load()
	if err != nil {
		return err
	}
	targets, err := pipeline.Targets(cfg, nil)
	if err != nil {
		return err
	}
	cpus := newProcs()
	cpus.start()
	defer cpus.stop()
	var disp *dispatch.Dispatcher
	queueDepth := func() float64 { return 0 }
	m := metrics.New(func() float64 { return queueDepth() }, nil)
	auditors := teeAudit{m}
	if cfg.AuditLog != "" {
		a, err := audit.Open(cfg.AuditLog)
		if err != nil {
			return err
		}
		defer a.Close()
		auditors = append(auditors, a)
	}
	var submit pipeline.Submitter
	if o.dryRun {
		submit = &renderLog{targets: targets, log: log}
	} else {
		disp = dispatch.New(dispatch.Options{Targets: cpus.wrap(targets), Journal: st, Audit: auditors, Log: log})
		queueDepth = func() float64 { return float64(disp.QueueDepth()) }
		disp.Resume(pending)
		if len(pending) > 0 {
			log.Info("resuming deliveries interrupted by the last stop", "count", len(pending))
		}
		submit = disp
	}
	sink := &pipeline.Dispatching{Next: teeSink{logSink{log}, m}, To: submit, DryRun: o.dryRun,
		OnError: func(err error) { log.Error("delivery not queued", "err", err) }}
	driver, err := pipeline.New(cfg, "", sink, log)
	if err != nil {
		return err
	}
	driver.Restore(saved.Engine, saved.Views)
	driver.OnEvent = m.Event
	for _, c := range cfg.Clusters {
		knownMetrics(m, c.Name, saved.Views[c.Name])
	}
	// Calls into the driver from other goroutines (the saver, HTTP
	// handlers) end when Run does, or when startup fails before it runs.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runCall := func(f func()) error { return driver.Call(runCtx, f) }

	positions := &positionBook{files: saved.Files}
	// Each change only marks the state dirty. A saver goroutine then asks
	// the decision goroutine for a snapshot (driver.Call) and writes it:
	// a burst of changes costs one snapshot and one write, and no firing
	// waits for either. The journal of deliveries writes behind, and
	// each save writes it first (store.Dir).
	var snapshot atomic.Pointer[store.State]
	dirty := make(chan struct{}, 1)
	saverDone := make(chan struct{})
	writeLatest := func() {
		if s := snapshot.Load(); s != nil {
			if err := st.Save(*s); err != nil {
				log.Error("cannot save state", "state_dir", stateDir, "err", err)
			}
		}
	}
	take := func() {
		engineState, views := driver.Snapshot()
		snapshot.Store(&store.State{SavedAt: time.Now(), Engine: engineState, Views: views, Files: positions.snapshot()})
	}
	go func() {
		defer close(saverDone)
		for range dirty {
			if err := runCall(take); err != nil {
				continue // shutting down: flush() saves the final state
			}
			writeLatest()
			time.Sleep(saveEvery)
		}
	}()
	save := func() {
		select {
		case dirty <- struct{}{}:
		default: // a save is pending and will see this change
		}
	}
	flush := func() { // on the way out: synchronously
		take()
		writeLatest()
	}
	driver.OnChange = save
	flush()
	// The saver ends on every way out, startup failures included.
	stopSaver := sync.OnceFunc(func() { stopRun(); close(dirty); <-saverDone })
	defer stopSaver()

	events := make(chan event.Event, 4096)
	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	sources := &sourceSet{e: e, ctx: srcCtx, out: events, positions: positions}
	live := &liveConfig{cfg: cfg}
	applyConfig := func() error {
		// The problems go into the error, not to stderr as at startup:
		// the log record (JSON under systemd) and the answer to
		// POST /-/reload then carry them.
		next, res, err := config.Load(o.config)
		if res != nil {
			for _, w := range res.Warnings {
				log.Warn("config warning", "warning", w.String())
			}
		}
		if err != nil {
			m.Reloaded(false)
			return fmt.Errorf("%w\nthe running config is unchanged", err)
		}
		engine, views, err := pipeline.Engine(next, log)
		if err == nil {
			var nextTargets map[string]dispatch.Target
			if nextTargets, err = pipeline.Targets(next, nil); err == nil {
				err = runCall(func() { driver.Replace(engine, views) })
				if err == nil && disp != nil {
					disp.SetTargets(cpus.wrap(nextTargets))
				}
			}
		}
		if err != nil {
			m.Reloaded(false)
			return err
		}
		// After the views: events of a new cluster find its view.
		if err := sources.apply(next); err != nil {
			log.Error("reload: event sources", "err", err)
		}
		for _, c := range next.Clusters {
			if !slices.ContainsFunc(live.get().Clusters, func(o detector.Cluster) bool { return o.Name == c.Name }) {
				m.Unknown(c.Name)
			}
		}
		live.set(next)
		m.Reloaded(true)
		log.Info("config reloaded", "rules", len(next.Rules), "actions", len(next.Actions))
		return nil
	}
	// Every way of reloading (SIGHUP, the file changing, POST /-/reload)
	// logs a refusal with its reasons here.
	reload := func() error {
		err := applyConfig()
		if err != nil {
			log.Error("reload refused", "err", err)
		}
		return err
	}

	var sourcesUp atomic.Bool // for /readyz
	srv := &api.Server{
		Token:   cfg.Server.IngestToken,
		MaxBody: int64(cfg.Server.MaxBodyBytes),
		Accepts: func(cluster string) bool {
			for _, c := range live.get().Clusters {
				if c.Name == cluster && c.Source.Type == detector.SourceEvents && c.Source.HTTP {
					return true
				}
			}
			return false
		},
		Ingest: func(reqCtx context.Context, cluster string, evs []event.Event) error {
			cpus.ingesting()
			if disp != nil && len(evs) > disp.MaxBatch() {
				return fmt.Errorf("%w: %d events; send at most %d per request (half the smallest action queue)", api.ErrTooManyEvents, len(evs), disp.MaxBatch())
			}
			if disp != nil && disp.Crowded(cluster, len(evs)) {
				// Refused, not dropped: the sender keeps the events and
				// retries.
				return fmt.Errorf("%w: the deliveries of cluster %s are backed up (an action queue would be more than half full)", api.ErrBusy, cluster)
			}
			// The events are decided before the answer, at once, in time
			// order with everything else: once the sender has its 202,
			// what they fired has succeeded or is journaled.
			var made []dispatch.Tracked
			take := func() { driver.Take(evs...) }
			if disp != nil {
				take = func() { made = disp.Tracking(cluster, func() { driver.Take(evs...) }) }
			}
			if err := runCall(take); err != nil {
				return fmt.Errorf("%w: shutting down", api.ErrBusy)
			}
			if disp == nil {
				return nil
			}
			deadline := time.Now().Add(ingestPaceLimit)
			if len(made) > 0 {
				// Let the deliveries just queued start on this CPU before
				// this goroutine goes on to wait for them: the
				// notification is what is urgent.
				runtime.Gosched()
				settle := time.NewTimer(ingestSettle)
				defer settle.Stop()
			settling:
				for _, t := range made {
					select {
					case <-t.Made:
					case <-settle.C:
						break settling
					case <-reqCtx.Done():
						break settling
					}
				}
				// The journal writes behind: what did not succeed yet
				// (or the fallbacks of what failed) must be in it before
				// the sender may forget the events.
				if !allSucceeded(made) {
					if err := st.Flush(); err != nil {
						log.Error("journal write failed; deliveries continue without crash safety", "cluster", cluster, "err", err)
					}
				}
				if reqCtx.Err() != nil {
					return nil
				}
			}
			if disp.Backlogged(cluster, ingestBacklog) {
				ctx, cancel := context.WithDeadline(reqCtx, deadline)
				defer cancel()
				_ = disp.Pace(ctx, cluster, ingestBacklog)
			}
			return nil
		},
		State: func() any {
			// Live, not as last saved: an operator asking wants now.
			s := snapshot.Load()
			var live store.State
			if runCall(func() { live.Engine, live.Views = driver.Snapshot() }) == nil {
				live.SavedAt = s.SavedAt
				s = &live
			}
			depth := 0
			if disp != nil {
				depth = disp.QueueDepth()
			}
			return map[string]any{"saved_at": s.SavedAt, "clusters": s.Views, "rules": s.Engine.Clusters, "queue_depth": depth}
		},
		Rejected: func(cluster string) { m.Rejected(cluster, "http") },
		Reload:   reload,
		Ready: func() error {
			switch {
			case ctx.Err() != nil:
				return errors.New("shutting down")
			case !sourcesUp.Load():
				return errors.New("starting: event sources not yet started")
			}
			return nil
		},
		Gatherer: prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { m.Tick(time.Now()); return m.Registry.Gather() }),
		Log:      log,
	}
	listener, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	httpServer := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go httpServer.Serve(listener)
	defer httpServer.Close()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go watchReloads(ctx, o.config, hup, reload, log)

	e.onReject = func(cluster, input string) { m.Rejected(cluster, input) }
	if err := sources.apply(cfg); err != nil {
		return err
	}
	sourcesUp.Store(true)
	names := make([]string, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		names[i] = c.Name + " (" + c.Source.Type + ")"
	}
	log.Info("leaderhook running", "clusters", len(cfg.Clusters), "rules", len(cfg.Rules), "actions", len(cfg.Actions),
		"state_dir", stateDir, "listen", listener.Addr().String(), "dry_run", o.dryRun, "watching", strings.Join(names, ", "))
	runErr := driver.Run(ctx, events, clock.Real{})
	if disp != nil {
		// The drain can take --drain-timeout: say what is happening.
		log.Info("stopping: delivering what is queued", "queued", disp.QueueDepth(), "drain_timeout", o.drain.String())
	}
	stopRun()
	stopSources()
	sources.wait()
	stopSaver()
	flush()
	if disp != nil {
		drainCtx, cancel := context.WithTimeout(context.Background(), o.drain)
		defer cancel()
		if err := disp.Close(drainCtx); err != nil {
			log.Warn("shutdown: deliveries still pending; they resume at the next start", "err", err)
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	httpServer.Shutdown(shutdownCtx)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	log.Info("leaderhook stopped")
	return nil
}

// allSucceeded reports whether every tracked delivery has been made and
// its first attempt succeeded.
func allSucceeded(tracked []dispatch.Tracked) bool {
	for _, t := range tracked {
		select {
		case <-t.Made:
			if !t.Succeeded() {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// watchReloads reloads on SIGHUP and when the config file changes.
func watchReloads(ctx context.Context, path string, hup <-chan os.Signal, reload func() error, log *slog.Logger) {
	last := modTime(path)
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = reload() // logs a refusal itself
			last = modTime(path)
		case <-ticker.C:
			if mt := modTime(path); !mt.Equal(last) {
				last = mt
				log.Info("config file changed; reloading", "file", path)
				_ = reload() // logs a refusal itself
			}
		}
	}
}

func modTime(path string) time.Time {
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}

// liveConfig is the config in force, read by HTTP handlers.
type liveConfig struct {
	mu  sync.Mutex
	cfg *config.Config
}

func (l *liveConfig) get() *config.Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

func (l *liveConfig) set(c *config.Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = c
}

// teeAudit hands each audit record to several auditors.
type teeAudit []dispatch.Auditor

func (t teeAudit) Record(r dispatch.Record) {
	for _, a := range t {
		a.Record(r)
	}
}

// teeSink hands each record to several sinks.
type teeSink []pipeline.Sink

func (t teeSink) State(ev event.Event) {
	for _, s := range t {
		s.State(ev)
	}
}

func (t teeSink) Outcome(o rules.Outcome) {
	for _, s := range t {
		s.Outcome(o)
	}
}

// startSources starts one goroutine per event source.
func (e *env) startSources(ctx context.Context, cfg *config.Config, out chan<- event.Event, positions *positionBook, wg *sync.WaitGroup) error {
	stdinTaken := ""
	for _, c := range cfg.Clusters {
		if c.Source.Stdin {
			if stdinTaken != "" {
				return fmt.Errorf("clusters %s and %s both read stdin: only one can", stdinTaken, c.Name)
			}
			stdinTaken = c.Name
		}
		if err := e.startCluster(ctx, c, out, positions, wg); err != nil {
			return err
		}
	}
	return nil
}

// startCluster starts the event sources of one cluster.
func (e *env) startCluster(ctx context.Context, c detector.Cluster, out chan<- event.Event, positions *positionBook, wg *sync.WaitGroup) error {
	reject := func(le *event.LineError) {
		e.log.Warn("event rejected", "cluster", c.Name, "err", le.Error())
		if e.onReject != nil {
			e.onReject(c.Name, le.Name)
		}
	}
	src := c.Source
	var runners []func() error
	switch src.Type {
	case detector.SourcePoll:
		preset, err := detector.NewPreset(src)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		client, err := detector.NewClient(src.CAFile)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		ps := &detector.PollSource{Cluster: c.Name, Members: src.Members, Preset: preset, Interval: src.Interval,
			Timeout: src.Timeout, Client: client, Log: e.log}
		runners = append(runners, func() error { return ps.Run(ctx, out) })
	case detector.SourceRaft:
		return fmt.Errorf("cluster %s: a raft source observes a hashicorp/raft node inside a Go program (detector.RaftSource); `leaderhook run` cannot reach one: use poll or events", c.Name)
	}
	if src.File != "" {
		fs := &detector.FileSource{Path: src.File, Cluster: c.Name, Start: positions.get(src.File), Log: e.log,
			OnReject: reject, OnPosition: func(p detector.Position) { positions.set(src.File, p) }}
		fs.Prepare()
		runners = append(runners, func() error { return fs.Run(ctx, out) })
	}
	if src.Stdin {
		rs := &detector.ReaderSource{R: e.stdin, Name: "stdin", Cluster: c.Name, OnReject: reject}
		runners = append(runners, func() error { return rs.Run(ctx, out) })
	}
	for _, run := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(); err != nil && !errors.Is(err, context.Canceled) {
				e.log.Error("event source stopped", "cluster", c.Name, "err", err)
			}
		}()
	}
	return nil
}

// sourceSet runs the daemon's event sources cluster by cluster, so that a
// reload restarts only those whose definition changed. A followed file
// resumes where it was; stdin, read once, is never restarted.
type sourceSet struct {
	e         *env
	ctx       context.Context
	out       chan<- event.Event
	positions *positionBook

	mu      sync.Mutex
	running map[string]*clusterSources
}

type clusterSources struct {
	source detector.Source
	stop   context.CancelFunc
	done   sync.WaitGroup
}

// apply makes the running sources those of cfg.
func (s *sourceSet) apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[string]*clusterSources{}
	}
	want := make(map[string]detector.Cluster, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		want[c.Name] = c
	}
	for name, r := range s.running {
		c, ok := want[name]
		if ok && reflect.DeepEqual(c.Source, r.source) {
			continue
		}
		if r.source.Stdin {
			s.e.log.Warn("reload: stdin is read once; restart leaderhook to change the source of this cluster", "cluster", name)
			continue
		}
		r.stop()
		r.done.Wait()
		delete(s.running, name)
		if ok {
			s.e.log.Info("event source restarted", "cluster", name)
		}
	}
	for _, c := range cfg.Clusters {
		if _, ok := s.running[c.Name]; ok {
			continue
		}
		ctx, stop := context.WithCancel(s.ctx)
		r := &clusterSources{source: c.Source, stop: stop}
		if err := s.e.startCluster(ctx, c, s.out, s.positions, &r.done); err != nil {
			stop()
			return err
		}
		s.running[c.Name] = r
	}
	return nil
}

// wait waits for every source to end once the set's context is done.
func (s *sourceSet) wait() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.running {
		r.done.Wait()
	}
}

// positionBook holds the read positions of followed files.
type positionBook struct {
	mu    sync.Mutex
	files map[string]detector.Position
}

func (p *positionBook) get(path string) detector.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.files[path]
}

func (p *positionBook) set(path string, pos detector.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.files == nil {
		p.files = map[string]detector.Position{}
	}
	p.files[path] = pos
}

func (p *positionBook) snapshot() map[string]detector.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]detector.Position, len(p.files))
	for k, v := range p.files {
		out[k] = v
	}
	return out
}

// logSink logs state changes and rule outcomes.
type logSink struct{ log *slog.Logger }

// Both check the level first: building the attributes allocates, for
// nothing at --log-level warn or error.
func (l logSink) State(ev event.Event) {
	if !l.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	l.log.Info("cluster state", "cluster", ev.Cluster, "event_type", ev.Type, "leader_id", ev.LeaderID,
		"previous_leader_id", ev.PreviousLeaderID, "since", ev.Since, "baseline", ev.Baseline)
}

func (l logSink) Outcome(o rules.Outcome) {
	if !l.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	l.log.Info("rule "+o.Kind, "cluster", o.Cluster, "rule", o.Rule, "reason", o.Reason, "actions", o.Actions,
		"leader_id", o.LeaderID, "leaderless_for", o.LeaderlessFor, "trigger", o.Trigger)
}

// knownMetrics shows a cluster's saved state in the metrics at startup, or
// that its state is not known yet.
func knownMetrics(m *metrics.Metrics, cluster string, saved detector.State) {
	if !saved.Known {
		m.Unknown(cluster)
		return
	}
	ev := event.Event{Cluster: cluster, Type: event.Leaderless, Time: time.Now(), Since: saved.Since, Baseline: true}
	if saved.LeaderID != "" {
		ev.Type, ev.LeaderID = event.HasLeader, saved.LeaderID
	}
	m.State(ev)
}
