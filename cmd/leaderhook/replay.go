package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/audit"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/timeline"
)

type replayOptions struct {
	config      string
	cluster     string
	format      string
	extend      time.Duration
	reorder     time.Duration
	execute     bool
	showActions bool
}

func replayCmd(e *env) *cobra.Command {
	var o replayOptions
	cmd := &cobra.Command{
		Use:   "replay -c FILE [--cluster NAME] [--format text|json|html] EVENTS.jsonl...",
		Short: "Dry-run the rules over recorded events on a virtual clock",
		Long: `Replay recorded cluster events (OpenZiti cluster event JSON, one object per line,
or what 'leaderhook record' wrote) through the same detector and rule engine as the
daemon, on a virtual clock, and print every leader change and every rule outcome at
the exact instant it would have happened. Nothing is sent and nothing is executed.

Give one file per cluster member (e.g. one per OpenZiti controller): they are merged
by timestamp. '-' reads standard input. Lines a few seconds out of order within a
file are put in order (see --reorder-window); one further out of order is named on
stderr with its file and line, and applied at the replay's clock, as the daemon
dates a late event on arrival.

The virtual clock stops at the last event; --extend lets it run on from there, to
see what would fire if nothing else happened. The first thing time alone would
still decide (within a day) is named on stderr, with the --extend that shows it.

A flight recording of 'leaderhook run' (state_dir/inputs.1.jsonl, then
state_dir/inputs.jsonl) is replayed as the daemon took it: its files one after the
other, each start of the daemon from the state it resumed from, events at the times
the daemon dated them, and time passing as far as the daemon's last decision:
there the virtual clock stops, and --extend counts from there. --cluster is not
needed: each event names its cluster.

--format html writes an incident report, one self-contained page that loads
nothing: a lane per member with what it reported, the cluster as leaderhook
derived it, every rule outcome on the same time axis, details on hover.

Exit status: 0, or 1 if the config is invalid or any input line was rejected (each
rejected line is reported on stderr with its file and line number).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if !cmd.Flags().Changed("show-actions") {
				o.showActions = o.format == "text"
			}
			return e.replay(o, files)
		},
	}
	configFlag(cmd, &o.config)
	cmd.Flags().StringVar(&o.cluster, "cluster", "", "cluster the events belong to (required when the config has several)")
	cmd.Flags().StringVar(&o.format, "format", "text", "output: text (a readable timeline), json (one object per line) or html (an incident report)")
	cmd.Flags().DurationVar(&o.extend, "extend", 0, "keep the virtual clock running this long after the replay stops (the last event; a flight recording: the daemon's last decision)")
	cmd.Flags().DurationVar(&o.reorder, "reorder-window", event.DefaultReorderWindow, "how far out of timestamp order a line may be within one file")
	cmd.Flags().BoolVar(&o.execute, "execute", false, "run the actions for real (webhooks are sent, scripts run), as fast as the replay goes")
	cmd.Flags().BoolVar(&o.showActions, "show-actions", false, "show what each action would send (default: on for --format text)")
	return cmd
}

func (e *env) replay(o replayOptions, files []string) error {
	if o.format != "text" && o.format != "json" && o.format != "html" {
		return fmt.Errorf("--format %q: want text, json or html", o.format)
	}
	cfg, ok := e.loadConfig(o.config)
	if !ok {
		return exitError{1}
	}
	recording, err := isRecording(files)
	if err != nil {
		return err
	}
	cluster := "" // a flight recording names each event's cluster, as the daemon took it
	if !recording {
		if cluster, err = pickCluster(cfg, o.cluster); err != nil {
			return err
		}
	}
	out := timeline.NewText(e.stdout)
	if o.format == "json" {
		out = timeline.NewJSON(e.stdout)
	}
	report := newReport(cfg, cluster, o)
	if report != nil {
		if recording {
			return errors.New("--format html takes members' event files, not a flight recording")
		}
		out = timeline.NewText(io.Discard) // counts for the summary
	}
	sink, closeSink, err := e.newReplaySink(cfg, out, o, report)
	if err != nil {
		return err
	}
	defer closeSink()
	if recording {
		return e.replayRecording(cfg, sink, out, files, o.extend)
	}
	driver, err := pipeline.New(cfg, cluster, sink, e.log)
	if err != nil {
		return err
	}
	// Nothing is delivered on the virtual clock (--execute delivers on
	// the real one): every action succeeds as it fires.
	driver.AssumeDelivered()
	return e.replayEvents(cfg, driver, out, files, o, report)
}

// newReplaySink returns the sink of a replay; with --execute it hands
// firings to a dispatcher, which the returned func closes.
func (e *env) newReplaySink(cfg *config.Config, out *timeline.Writer, o replayOptions, report *incidentReport) (*replaySink, func(), error) {
	// No state_dir: what the actions keep (open alerts, messages to
	// edit) is the replay's own, and a daemon's is neither overwritten
	// nor taken over.
	targets, err := pipeline.Targets(cfg, "", nil, e.log)
	if err != nil {
		return nil, nil, err
	}
	sink := &replaySink{out: out, targets: targets, show: o.showActions && report == nil, report: report}
	if !o.execute {
		return sink, func() {}, nil
	}
	disp, closeAudit, err := e.dispatcher(cfg, targets, report.auditor())
	if err != nil {
		return nil, nil, err
	}
	sink.submit = disp
	return sink, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := disp.Close(ctx); err != nil {
			fmt.Fprintln(e.stderr, "leaderhook: deliveries unfinished:", err)
		}
		closeAudit()
	}, nil
}

// replayEvents replays event files, merged by timestamp.
func (e *env) replayEvents(cfg *config.Config, driver *pipeline.Driver, out *timeline.Writer, files []string, o replayOptions, report *incidentReport) error {
	readers, merged, closeAll, err := e.openAll(files, o.reorder, inConfig(cfg))
	if err != nil {
		return err
	}
	defer closeAll()
	var n int
	var first, last time.Time
	for {
		ev, err := merged.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			first = ev.Time
		}
		n++
		if ev.Time.After(last) { // a late event is applied at the clock's time
			last = ev.Time
		}
		if err := driver.Handle(ev); err != nil {
			fmt.Fprintf(e.stderr, "leaderhook: %s: %v\n", ev, err)
		}
		report.members(ev.Time, driver)
	}
	if o.extend > 0 {
		driver.AdvanceTo(driver.Now().Add(o.extend)) // the last event's time: a late one is applied at the clock's
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if err := report.write(e.stdout, driver.Now()); err != nil {
		return err
	}
	rejected, ignored := 0, 0
	for _, r := range readers {
		rejected += r.Rejected
		ignored += r.Ignored
	}
	r := replayed{n: n, first: first, last: last, late: driver.Late, rejected: rejected, ignored: ignored, end: driver.Now()}
	r.next = lookAhead(cfg, driver)
	return e.replaySummary(r, out.Counts)
}

// openAll opens the event files (- for stdin) and merges them in time
// order, each read a batch ahead; check refuses lines as malformed ones.
func (e *env) openAll(files []string, reorder time.Duration, check func(event.Event) error) ([]*event.Reader, event.Source, func(), error) {
	var readers []*event.Reader
	var sources []event.Source
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	var unknown event.UnknownTypes // across the files, as the daemon's across its inputs
	for _, name := range files {
		r, closeFn, err := e.openEvents(name, reorder)
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		r.Check = check
		r.OnSkip = func(le *event.LineError) { tellUnknownType(e.stderr, &unknown, le) }
		pre := event.Prefetch(r)
		closers = append(closers, func() { pre.Close(); closeFn() })
		readers = append(readers, r)
		sources = append(sources, pre)
	}
	return readers, event.Merge(sources...), closeAll, nil
}

// tellUnknownType names on w an event skipped for an eventType unknown to
// leaderhook, once per type as the daemon logs it, and reports whether le
// is such an event.
func tellUnknownType(w io.Writer, unknown *event.UnknownTypes, le *event.LineError) bool {
	var t *event.UnknownTypeError
	if !errors.As(le.Err, &t) {
		return false
	}
	if unknown.First(t.Type) {
		fmt.Fprintf(w, "%v (the daemon skips it too; told once per eventType)\n", le)
	}
	return true
}

// replayed is what a replay went through.
type replayed struct {
	n           int // events
	first, last time.Time
	late        int       // events beyond the reorder window, applied late
	rejected    int       // malformed lines
	ignored     int       // lines skipped (event.ErrSkipped)
	end         time.Time // where the virtual clock stopped
	next        foreseen  // what time alone would have decided after end
}

// lookAheadFor is how far past its end a replay looks for what time alone
// would still decide.
const lookAheadFor = 24 * time.Hour

// foreseen is the first state or outcome a copy of a driver produces.
type foreseen struct {
	at   time.Time
	what string
}

func (f *foreseen) State(ev event.Event) {
	if f.what != "" {
		return
	}
	f.at, f.what = ev.Time, fmt.Sprintf("%s on %s", ev.Type, ev.Cluster)
	switch ev.Type {
	case event.Leaderless:
		f.what = "LEADER LOST on " + ev.Cluster
	case event.HasLeader:
		f.what = fmt.Sprintf("leader %q on %s", ev.LeaderID, ev.Cluster)
	}
}

func (f *foreseen) Outcome(o rules.Outcome) {
	if f.what == "" {
		f.at, f.what = o.Time, fmt.Sprintf("rule %s %s", o.Rule, o.Kind)
	}
}

// lookAhead lets time pass on a copy of the driver, with no more events,
// and returns the first thing it decides within lookAheadFor: a recording
// that ends during an outage must not read as one where nothing more
// would have happened.
func lookAhead(cfg *config.Config, driver *pipeline.Driver) foreseen {
	var f foreseen
	engine, views, err := pipeline.Engine(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return f
	}
	engine.AssumeDelivered = true // as the replay's own engine
	probe := pipeline.NewDriver(engine, nil, "", &f)
	probe.Reset(engine, views, driver.Image())
	limit := driver.Now().Add(lookAheadFor)
	// Each turn takes one deadline: a schedule that decides nothing
	// every minute of the day is many turns, but no endless loop.
	for f.what == "" {
		at, ok := probe.Deadline()
		if !ok || at.After(limit) {
			break
		}
		probe.AdvanceTo(at)
	}
	return f
}

// replaySummary tells on stderr what a replay went through; malformed
// lines make it exit 1.
func (e *env) replaySummary(r replayed, c timeline.Counts) error {
	if r.next.what != "" {
		fmt.Fprintf(e.stderr, "leaderhook: the replay stops at %s; with no more events, %s at %s: --extend %s shows it\n",
			r.end.Format(time.RFC3339Nano), r.next.what, r.next.at.Format(time.RFC3339Nano), extendFor(r.next.at.Sub(r.end)))
	}
	fmt.Fprintf(e.stderr, "replayed %d events", r.n)
	if r.n > 0 {
		fmt.Fprintf(e.stderr, " from %s to %s (%s)", r.first.Format(time.RFC3339), r.last.Format(time.RFC3339), r.last.Sub(r.first).Round(time.Millisecond))
	}
	fmt.Fprintf(e.stderr, ": %d state changes, %d fired, %d resolved, %d suppressed", c.States, c.Fired, c.Resolved, c.Suppressed)
	if r.ignored > 0 {
		fmt.Fprintf(e.stderr, "; %d events skipped (another namespace, or an eventType leaderhook does not know)", r.ignored)
	}
	if r.late > 0 {
		fmt.Fprintf(e.stderr, "; %d events beyond --reorder-window applied late", r.late)
	}
	fmt.Fprintln(e.stderr)
	if r.rejected > 0 {
		fmt.Fprintf(e.stderr, "leaderhook: %d malformed lines rejected (listed above)\n", r.rejected)
		return exitError{1}
	}
	return nil
}

func (e *env) openEvents(name string, window time.Duration) (*event.Reader, func(), error) {
	var in io.Reader = e.stdin
	closeFn := func() {}
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, fmt.Errorf("events: %w", err)
		}
		in = f
		closeFn = func() { f.Close() }
	}
	r := event.NewReader(in, name, window)
	r.OnError = func(le *event.LineError) { fmt.Fprintf(e.stderr, "%v (line skipped)\n", le) }
	r.OnLate = func(le *event.LineError) {
		// The daemon too takes an event that comes after later ones when it
		// comes: a replay that set it in its place would decide otherwise.
		fmt.Fprintf(e.stderr, "%v: applied at the replay's clock, as the daemon dates a late event on arrival\n", le)
	}
	return r, closeFn, nil
}

// inConfig refuses an event that names a cluster the config does not
// have: it could not be replayed, and a replay that left it out must not
// pass for one where nothing happened. It runs on the readers' goroutines.
func inConfig(cfg *config.Config) func(event.Event) error {
	known := make(map[string]bool, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		known[c.Name] = true
	}
	return func(ev event.Event) error {
		if ev.Cluster != "" && !known[ev.Cluster] {
			return fmt.Errorf("cluster %q is not in the config", ev.Cluster)
		}
		return nil
	}
}

// extendFor is the shortest --extend in whole seconds that reaches d.
func extendFor(d time.Duration) time.Duration {
	c := d.Truncate(time.Second)
	if c < d {
		c += time.Second
	}
	return max(c, time.Second)
}

func pickCluster(cfg *config.Config, name string) (string, error) {
	names := make([]string, 0, len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		if c.Name == name {
			return name, nil
		}
		names = append(names, c.Name)
	}
	sort.Strings(names)
	if name != "" {
		return "", fmt.Errorf("--cluster %q is not in the config (clusters: %v)", name, names)
	}
	if len(names) == 1 {
		return names[0], nil
	}
	return "", fmt.Errorf("the config has %d clusters: say which one the events belong to with --cluster (one of %v)", len(names), names)
}

// replaySink writes the timeline, shows what actions would do, and with
// --execute hands firings to the dispatcher.
type replaySink struct {
	out     *timeline.Writer
	targets map[string]dispatch.Target
	show    bool
	submit  pipeline.Submitter
	report  *incidentReport // --format html
}

func (r *replaySink) State(ev event.Event) {
	r.out.State(ev)
	r.report.state(ev)
}

func (r *replaySink) Outcome(o rules.Outcome) {
	r.out.Outcome(o)
	r.report.outcome(o)
	if o.Kind == rules.Suppressed || len(o.Actions) == 0 {
		return
	}
	n := pipeline.Notification(o, r.submit == nil)
	if r.show {
		for _, nr := range pipeline.Render(r.targets, n, o.Actions) {
			r.out.Action(o, nr.Action, nr.Rendering, nr.Error)
		}
	}
	if r.submit != nil {
		r.submit.Submit(n, o.Actions)
	}
}

// dispatcher returns a dispatcher writing the configured audit log, and
// telling also (may be nil) of every record.
func (e *env) dispatcher(cfg *config.Config, targets map[string]dispatch.Target, also dispatch.Auditor) (*dispatch.Dispatcher, func(), error) {
	opts := dispatch.Options{Targets: targets, Log: e.log, Audit: also}
	closeAudit := func() {}
	if cfg.AuditLog != "" {
		a, err := audit.Open(cfg.AuditLog, e.log, nil)
		if err != nil {
			return nil, nil, err
		}
		opts.Audit = a
		if also != nil {
			opts.Audit = auditors{a, also}
		}
		closeAudit = func() { a.Close() }
	}
	return dispatch.New(opts), closeAudit, nil
}
