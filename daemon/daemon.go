// Package daemon is `leaderhook run`: it owns the event sources, the
// decisions, the delivery journal and dispatch, the state directory,
// reloads and the HTTP API.
//
// An event's way, start to end:
//
//  1. A source (a polled status endpoint, a followed file, stdin) hands
//     members' events to the decision goroutine (pipeline.Driver.Run);
//     POST /v1/events decides on its own goroutine, under the same lock
//     (Driver.Call): one decision at a time touches the cluster views and
//     the rule engine. The driver also wakes itself when time alone
//     makes something due (a leaderless threshold, a stabilization period,
//     a schedule). The flight recorder writes each event, as dated, and
//     each passing of time to state_dir before the driver decides on it
//     (recorder.go).
//  2. Each rule firing or resolve becomes one delivery per action. The
//     dispatcher writes each delivery to the journal (pending.log), then
//     queues it for the action's workers; nothing waits for a delivery.
//     An ingest request is answered 202 only after this step.
//  3. Workers make attempts with retries, audit each one, and journal the
//     delivery's end. After a crash the journal's pending deliveries are
//     resumed with their ids.
//  4. A saver writes the views and the engine's memory to state.log after
//     changes, so that a restart neither fires again inside a cooldown nor
//     forgets an outage's true start.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/audit"
	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/metrics"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/store"
)

// DefaultStateDir is where state lives unless state_dir says otherwise.
const DefaultStateDir = "./leaderhook-state"

// Options configure a Daemon.
type Options struct {
	// ConfigPath is the file reloads read; the daemon watches it.
	ConfigPath string
	// DryRun evaluates everything but executes no action: it logs what
	// each action would send.
	DryRun bool
	// DrainTimeout bounds how long Run keeps delivering what is queued
	// after its context ends.
	DrainTimeout time.Duration
	Stdin        io.Reader // for sources that read stdin
	Log          *slog.Logger
	Version      string // for leaderhook_build_info
	Clock        clock.Clock
}

// Daemon is a running leaderhook: New, then Run until its context ends,
// then Close.
type Daemon struct {
	opts     Options
	log      *slog.Logger
	stateDir string
	store    *store.Dir
	metrics  *metrics.Metrics
	audit    *audit.File // nil without audit_log
	history  *historyKeeper
	disp     *dispatch.Dispatcher
	driver   *pipeline.Driver
	decision *decisions
	events   chan event.Event
	sources  *sources
	saver    *saver
	recorder *flightRecorder // nil when off
	api      *api.Server
	listener net.Listener
	http     *http.Server
	group    *group     // in a group of nodes (ha:); nil alone
	render   *renderLog // in a dry run, instead of a dispatcher

	resume     []dispatch.Delivery  // pending at the last stop, resumed by Run
	skewLogged map[string]time.Time // by cluster and member; on the decision goroutine
	ingested   recent               // events taken over HTTP, to know one sent again; with the driver held

	reloadMu  sync.Mutex // one reload at a time
	configMod time.Time  // of the config file when last read
	mu        sync.Mutex
	cfg       *config.Config // in force
	running   context.Context
	taking    bool // the pipeline takes events: ready
	closed    bool
}

// New prepares a daemon for cfg: it opens the state directory and resumes
// what it holds, builds the pipeline and the actions, and binds the HTTP
// listener. Nothing runs before Run.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	d := &Daemon{opts: withDefaults(opts), cfg: cfg, events: make(chan event.Event, 4096), configMod: modTime(opts.ConfigPath)}
	d.log = d.opts.Log
	d.stateDir = cfg.StateDir
	if d.stateDir == "" {
		d.stateDir = DefaultStateDir
	}
	if err := d.open(cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func withDefaults(o Options) Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Stdin == nil {
		o.Stdin = strings.NewReader("")
	}
	return o
}

// open builds everything New promises, in the order each part needs the
// others.
func (d *Daemon) open(cfg *config.Config) error {
	st, err := store.Open(d.stateDir)
	if err != nil {
		return err
	}
	d.store = st
	for _, note := range st.Notes() {
		d.log.Warn("state_dir: recovered", "note", note)
	}
	// Not an error of the delivery whose end triggered it: the journal is
	// whole, and only grows until a later try succeeds.
	st.OnCompactionFailure(func(err error) { d.log.Warn("journal compaction failed, will retry", "err", err) })
	saved, pending, err := st.Load()
	if err != nil {
		return err
	}
	d.metrics = metrics.New(d.queueDepth, nil)
	d.metrics.BuildInfo(d.opts.Version)
	d.metrics.CrashSafe(func() bool { return st.CrashSafe() == nil })
	if err := d.openAudit(cfg); err != nil {
		return err
	}
	if err := d.openHistory(cfg); err != nil {
		return err
	}
	if err := d.openPipeline(cfg, saved, pending); err != nil {
		return err
	}
	positions := &positionBook{files: saved.Files}
	if d.group != nil {
		positions = newGroupPositionBook(saved.Files)
	}
	d.sources = &sources{out: d.events, stdin: d.opts.Stdin, positions: positions, log: d.log, onReject: d.metrics.Rejected,
		skips: &skipLog{log: d.log, count: d.metrics.Skipped}}
	d.saver = newSaver(st, d.driver, d.call, d.sources.positions, d.stateDir, d.log)
	d.saver.failed = d.metrics.StateWriteFailed
	if d.group == nil {
		d.saver.drain = d.takeQueuedHeld
	}
	d.driver.OnChange = d.saver.changed
	d.api = d.newAPI()
	d.api.SetLimits(limitsOf(cfg))
	if err := d.listen(cfg); err != nil {
		return err
	}
	if d.group != nil {
		// Poll sources run where the group's decisions are made; the
		// others on every node, which hands their events to the group.
		d.sources.include = func(c detector.Cluster) bool { return !isPoll(c) }
		d.api.Group = d.group.apiHandlers()
		if err := d.group.join(); err != nil {
			return err
		}
		d.metrics.Group(d.group.metrics)
	}
	return nil
}

// listen binds server.listen: HTTPS with server.tls, whose certificate is
// read again when renewed, plain HTTP without.
func (d *Daemon) listen(cfg *config.Config) error {
	tlsConfig, err := cfg.Server.TLS.Server()
	if err != nil {
		return fmt.Errorf("server.tls: %w", err)
	}
	listener, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	d.listener = netutil.LimitListener(listener, maxConnections)
	if tlsConfig != nil {
		d.listener = tls.NewListener(d.listener, tlsConfig)
	}
	return nil
}

func (d *Daemon) openAudit(cfg *config.Config) error {
	if cfg.AuditLog == "" {
		return nil
	}
	a, err := audit.Open(cfg.AuditLog, d.log, func(error) { d.metrics.AuditWriteFailed() })
	if err != nil {
		return err
	}
	d.audit = a
	return nil
}

// openPipeline builds the actions, the dispatcher (or, in a dry run, what
// logs instead) and the driver, and resumes the saved state.
func (d *Daemon) openPipeline(cfg *config.Config, saved store.State, pending []dispatch.Delivery) error {
	targets, err := pipeline.Targets(cfg, d.stateDir, nil, d.log)
	if err != nil {
		return err
	}
	var submit pipeline.Submitter
	switch {
	case d.opts.DryRun:
		d.render = &renderLog{targets: targets, log: d.log}
		submit = d.render
	case cfg.HA.Enabled():
		// The group's log holds the state and the pending deliveries: it
		// replays them once the node joins.
		d.group = newGroup(d, *cfg.HA, targets)
		submit = d.group
		d.warnJournalLeftAlone(pending)
		saved, pending = store.State{Files: saved.Files}, nil
	default:
		d.disp = dispatch.New(dispatch.Options{Targets: targets, Journal: d.store, Audit: d.auditors(), Log: d.log, OnRetry: d.history.retrying,
			OnDone: d.delivered, Fallbacks: d.fallbackMemory()})
		d.resume = pending
		raiseSeq(&saved.Engine, pending)
		fenceSaved(d.disp, saved.Engine.Clusters)
		submit = d.disp
	}
	d.decision = &decisions{log: d.log, notJournaled: d.metrics.NotJournaled}
	sink := &pipeline.Dispatching{Next: teeSink{logSink{d.log}, d.metrics, d.history}, To: submit, DryRun: d.opts.DryRun, OnError: d.decision.failed}
	d.driver, err = pipeline.New(cfg, "", sink, d.log)
	if err != nil {
		return err
	}
	// One instant for the resume and the flight recorder's start, so that
	// a replay of the recording resumes as the daemon did.
	now := d.opts.Clock.Now().Round(0)
	resumed := d.restore(saved, now)
	d.driver.OnEvent = d.metrics.Event
	d.driver.MaxSkew = cfg.ClockSkew()
	d.driver.OnSkew = d.skewed
	for _, c := range cfg.Clusters {
		knownMetrics(d.metrics, c.Name, saved.Views[c.Name])
	}
	if err := d.startRecorder(cfg, resumed, now); err != nil {
		return err
	}
	d.takeLostEnds(now)
	return nil
}

// warnJournalLeftAlone tells of the deliveries pending in the journal of
// a run without ha: the group's log does not hold them, so the group does
// not resume them. They stay in the journal, for a run alone.
func (d *Daemon) warnJournalLeftAlone(pending []dispatch.Delivery) {
	if len(pending) == 0 {
		return
	}
	ids := make([]string, len(pending))
	for i, del := range pending {
		ids[i] = del.ID
	}
	d.log.Warn("deliveries pending from a run without ha: are not resumed by the group, whose log does not hold them; "+
		"they stay in the journal, and resume if this node runs without ha: again",
		"journal", filepath.Join(d.stateDir, "pending.log"), "count", len(pending), "delivery_ids", strings.Join(ids, ","))
}

// auditors are where each delivery attempt is recorded.
func (d *Daemon) auditors() dispatch.Auditor {
	auditors := teeAudit{d.metrics, d.history}
	if d.audit != nil {
		auditors = append(auditors, d.audit)
	}
	return auditors
}

// newSources is a set of sources for the clusters include picks (all if
// nil), which ends with ctx.
func (d *Daemon) newSources(ctx context.Context, include func(detector.Cluster) bool) *sources {
	s := d.sources
	return &sources{ctx: ctx, out: s.out, stdin: s.stdin, positions: s.positions, log: s.log, onReject: s.onReject, skips: s.skips, include: include}
}

func (d *Daemon) queueDepth() float64 {
	if d.disp == nil {
		return 0
	}
	return float64(d.disp.QueueDepth())
}

// Addr is the address the HTTP API listens on.
func (d *Daemon) Addr() string { return d.listener.Addr().String() }

// Run serves until ctx ends: the HTTP API, the sources, the decisions, the
// deliveries and the saves. Then it stops reading, takes the events read,
// saves the state, delivers what is queued for up to DrainTimeout (the
// rest stays in the journal for the next start), saves the state again
// and returns.
func (d *Daemon) Run(ctx context.Context) error {
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	d.mu.Lock()
	d.running = runCtx
	d.sources.ctx = runCtx
	d.mu.Unlock()

	d.resumeInterrupted()
	d.http = newHTTPServer(d.api.Handler())
	// In the daemon's log, not on stderr: with server.tls, a client's
	// failed handshake (no certificate, an untrusted CA) is told there.
	d.http.ErrorLog = slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)
	go d.http.Serve(d.listener)
	d.saver.save(d.taken()) // the state as resumed, before anything changes it
	saverDone := make(chan struct{})
	go func() { defer close(saverDone); d.saver.run(runCtx) }()
	go d.watchConfig(runCtx)
	// The journal is repaired until the drain ends: a crash while it runs
	// must not lose what only memory holds.
	repairCtx, stopRepair := context.WithCancel(context.Background())
	defer stopRepair()
	go d.repairJournal(repairCtx)
	beating := make(chan struct{})
	go func() { defer close(beating); d.heartbeats(runCtx) }()
	if err := d.startSources(); err != nil {
		return err
	}
	go d.announceRunning(runCtx)
	var runErr error
	if d.group != nil {
		runErr = d.group.run(runCtx)
	} else {
		runErr = d.driver.Run(runCtx, d.events, d.opts.Clock)
	}
	stopRun()
	<-beating
	d.sources.wait()
	d.takeQueued()
	<-saverDone
	d.store.Repair() // a failing journal holds the final save back; repairJournal logs why
	d.saver.save(d.taken())
	d.drain()
	d.saver.save(d.taken()) // with the ends of the deliveries made in the drain
	stopRepair()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.http.Shutdown(shutdownCtx)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	d.log.Info("leaderhook stopped")
	return nil
}

// resumeInterrupted queues the deliveries the journal holds from the last
// stop, then resolves the firings restored for a rule or cluster the
// config no longer has: after the journal's deliveries, which may hold
// their firings.
func (d *Daemon) resumeInterrupted() {
	if d.disp != nil && len(d.resume) > 0 {
		resume := d.dropOrphans(d.resume, d.store, d.delivered)
		d.log.Info("resuming deliveries interrupted by the last stop", "count", len(resume))
		d.disp.Resume(resume)
	}
	d.driver.Do(func() { d.driver.ResolveRetired(d.opts.Clock.Now().Round(0)) })
}

func (d *Daemon) startSources() error {
	p, err := d.sources.prepare(d.config())
	if err != nil {
		return err
	}
	d.sources.apply(p)
	return nil
}

// announceRunning marks the daemon ready and logs that it runs once its
// driver takes events: a sender that waits for /readyz or the line is
// answered 202 from then on, not 503.
func (d *Daemon) announceRunning(ctx context.Context) {
	for d.call(func() {}) != nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Millisecond):
		}
	}
	d.mu.Lock()
	d.taking = true
	d.mu.Unlock()
	d.logRunning()
}

func (d *Daemon) logRunning() {
	cfg := d.config()
	names := make([]string, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		names[i] = c.Name + " (" + c.Source.Type + ")"
	}
	d.log.Info("leaderhook running", "clusters", len(cfg.Clusters), "rules", len(cfg.Rules), "actions", len(cfg.Actions),
		"state_dir", d.stateDir, "listen", d.Addr(), "tls", cfg.Server.TLS.Enabled(), "dry_run", d.opts.DryRun, "watching", strings.Join(names, ", "))
}

// drain delivers what is queued, for up to DrainTimeout.
func (d *Daemon) drain() {
	if d.disp == nil {
		return
	}
	d.log.Info("stopping: delivering what is queued", "queued", d.disp.QueueDepth(), "drain_timeout", d.opts.DrainTimeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.DrainTimeout)
	defer cancel()
	if err := d.disp.Close(ctx); err != nil {
		d.log.Warn("shutdown: deliveries still pending; they resume at the next start", "err", err)
	}
}

// Close releases what New opened: the listener, the audit log and the
// state directory. Call it after Run has returned, or instead of Run.
func (d *Daemon) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if d.listener != nil {
		d.listener.Close()
	}
	if d.group != nil && d.group.node != nil {
		d.group.node.Close()
	}
	if d.disp != nil { // after Run, a no-op
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		d.disp.Close(stopped)
	}
	d.recorder.close()
	if d.audit != nil {
		d.audit.Close()
	}
	d.history.close()
	if d.store == nil {
		return nil
	}
	err := d.store.Close()
	if err != nil {
		d.log.Error("state_dir: cannot close", "state_dir", d.stateDir, "err", err)
	}
	return err
}

func (d *Daemon) config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// call runs f with the pipeline held, between the events it takes, while
// Run runs.
func (d *Daemon) call(f func()) error {
	if d.group != nil {
		d.driver.Do(f) // the group drives the pipeline, not its Run
		return nil
	}
	return d.driver.Call(f)
}

// takeQueued takes the events the sources read but Run did not take
// before it stopped: a followed file's saved position is past them, so
// that skipped now they would be skipped at the next start too. A group's
// node hands its inputs to the group, which has stopped: not there.
func (d *Daemon) takeQueued() {
	if d.group != nil {
		return
	}
	d.driver.Do(d.takeQueuedHeld)
}

// takeQueuedHeld takes the events queued now. Call it with the pipeline
// held.
func (d *Daemon) takeQueuedHeld() {
	for {
		select {
		case ev := <-d.events:
			d.driver.Take(ev)
		default:
			return
		}
	}
}

// taken is the state to save, taken with the pipeline held.
func (d *Daemon) taken() store.State {
	var st store.State
	d.driver.Do(func() { st = d.saver.take() })
	return st
}

// dropOrphans returns the deliveries whose action the config still has.
// The others could never be made: each is audited as dropped, logged, and
// ended in the journal, rather than kept pending for good, and ended
// (the dispatcher's OnDone) as a failure, which ends a verification that
// awaits it.
func (d *Daemon) dropOrphans(pending []dispatch.Delivery, journal interface{ Done(id string) error }, ended func(dispatch.Delivery, bool)) []dispatch.Delivery {
	actions := d.config().Actions
	var keep []dispatch.Delivery
	for _, del := range pending {
		if _, ok := actions[del.Action]; ok {
			keep = append(keep, del)
			continue
		}
		why := fmt.Sprintf("action %s is no longer in the config", del.Action)
		d.log.Warn("pending delivery dropped", "delivery_id", del.ID, "rule", del.Notification.Rule, "cluster", del.Notification.Cluster, "reason", why)
		n := del.Notification
		d.auditors().Record(dispatch.Record{Time: d.opts.Clock.Now(), Kind: "dropped", Rule: n.Rule, Status: n.Status, Cluster: n.Cluster,
			Action: del.Action, DeliveryID: del.ID, Fallback: del.Fallback, Detail: why})
		if err := journal.Done(del.ID); err != nil {
			d.log.Error("cannot journal the end of a dropped delivery", "delivery_id", del.ID, "err", err)
		}
		ended(del, false)
	}
	return keep
}

// fallbackMemory is where the dispatcher remembers the fallbacks a firing
// ran, for its resolve: under state_dir, so that a restart keeps it.
func (d *Daemon) fallbackMemory() *actions.Memory {
	m, err := actions.OpenMemory(d.stateDir, dispatch.FallbackMemory)
	if err != nil {
		d.log.Warn("the fallbacks' memory", "err", err)
	}
	return m
}

// repairJournal rewrites the journal once a second while a write has
// failed (a full disk, say), until it works again.
func (d *Daemon) repairJournal(ctx context.Context) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var logged time.Time // the failure is logged once a minute
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if d.store.CrashSafe() == nil {
			continue
		}
		err := d.store.Repair()
		switch {
		case err == nil:
			d.log.Info("delivery journal written again: every pending delivery is safe from a crash")
			logged = time.Time{}
		case time.Since(logged) >= time.Minute:
			d.log.Error("delivery journal cannot be written: deliveries continue, but a crash would lose them; the state is saved once it works again; ingest answers 503", "err", err)
			logged = time.Now()
		}
	}
}

// maxConnections bounds the HTTP API's open connections, and with them its
// file descriptors and memory, whatever clients do: those beyond wait in
// the kernel's queue until a connection ends. Its real clients (members
// or forwarders sending events, Prometheus, people) are a handful.
const maxConnections = 1024

// newHTTPServer bounds how long a client may take: a slow one (one byte at
// a time, on purpose or not) holds a connection a few seconds at most.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
}
