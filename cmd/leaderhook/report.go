package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/daemon"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/report"
	"github.com/leaderhook/leaderhook/rules"
)

type reportOptions struct {
	config, cluster, format string
	stateDir                string
	from, to, period        string
	reorder                 time.Duration
	flap                    report.Flapping
}

func reportCmd(e *env) *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report -c FILE [--from TIME] [--to TIME] [--period day|week] [--format text|json] {EVENTS.jsonl... | --state-dir DIR}",
		Short: "Availability of each cluster's leader over recorded events",
		Long:  reportHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == (o.stateDir == "") {
				return errors.New("name the recorded event files, or --state-dir of a daemon, not both")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, files []string) error { return e.report(o, files) },
	}
	reportFlags(cmd, &o)
	return cmd
}

// reportFlags registers report's flags into o.
func reportFlags(cmd *cobra.Command, o *reportOptions) {
	configFlag(cmd, &o.config)
	f := cmd.Flags()
	f.StringVar(&o.cluster, "cluster", "", "cluster the events belong to (required when the config has several); of a flight recording, the one to report (default: all)")
	f.StringVar(&o.format, "format", "text", "output: text or json (one object per line)")
	f.StringVar(&o.from, "from", "", "start of the period, e.g. 2026-11-24T13:56:00Z or 2026-11-24 (default: the first event, or a flight recording's restored state)")
	f.StringVar(&o.to, "to", "", "end of the period (default: the last event)")
	f.StringVar(&o.period, "period", "", "split the period: day or week")
	f.StringVar(&o.stateDir, "state-dir", "", "report on the flight recording in a daemon's state_dir")
	f.IntVar(&o.flap.Changes, "flap-changes", 3, "leader changes that make flapping")
	f.DurationVar(&o.flap.Window, "flap-window", 10*time.Minute, "within this long")
	f.DurationVar(&o.reorder, "reorder-window", event.DefaultReorderWindow, "how far out of timestamp order a line may be within one file")
}

// reportHelp is report's long help: what each figure means.
const reportHelp = `Replay recorded cluster events as 'leaderhook replay' does (same files, same
detector, on a virtual clock; no action runs) and print, per cluster, how long it
went without a leader:

  availability  the share of the time watched with a leader: 1 - leaderless /
                (period - not watched)
  leaderless    the outages' total
  not watched   the part of the period before the cluster's state was first known
                (a cluster added to the config later, members not heard from yet),
                and, on a flight recording, the time leaderhook itself was down
                (from its stop, or its last line before a crash, to its next start):
                neither with a leader nor without; "none" when all of it
  outages       each time without a leader: from the loss's true start (replay's
                "leaderless since") to the announcement of a leader. The longest is
                marked. A gap shorter than the cluster's stabilize is not an outage:
                the detector does not announce it.
  changes       a leader replacing another (the same leader back is none), by kind:
                failover, transfer, unknown
  elections     for each loss that ended in the period: from its true start to the
                announcement of the next leader (another or the same), whole even
                if the loss began before the period. p50 and p99 by nearest rank,
                and max. A loss already there when the recording starts, or not
                ended, has none.
  flapping      spans in which at least --flap-changes changes fall within
                --flap-window, as a rule 'leader_changes(duration("10m")) >= 3'
                counts them: from the first change to the last

--state-dir reports on what a running (or stopped) daemon took in: the flight
recording in its state_dir (inputs.1.jsonl, then inputs.jsonl), replayed as replay
does. A flight recording can also be named as EVENTS. It names each event's
cluster: every cluster in it is reported, or only the one --cluster names.

The period is the recording's span, first event to last (a flight recording: from
the start or checkpoint whose state knew a cluster, if earlier, to the last time it
recorded), or the part of it within --from and --to: nothing is known outside it. --period splits it at midnight (week:
Monday) in the config's timezone (default UTC), in which times are shown. An outage
crossing a bound is cut there and marked: "began earlier", "no leader yet at the end".

--format json prints one object per line, per cluster and period: cluster, from, to,
leaderless_ms, unwatched_ms, availability (a fraction; null if nothing was watched), outages [{start, end, duration_ms,
clipped_start, clipped_end}], changes {total, failover, transfer, unknown},
election_ms {count, p50, p99, max: null without elections}, flapping [{start, end,
changes}].

Exit status: 0, or 1 if the config is invalid, nothing could be reported, or any
input line was rejected (each is reported on stderr with its file and line number).`

func (e *env) report(o reportOptions, files []string) error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("--format %q: want text or json", o.format)
	}
	cfg, ok := e.loadConfig(o.config)
	if !ok {
		return exitError{1}
	}
	loc := cfg.Location()
	from, err := report.ParseTime(o.from, loc)
	if err != nil {
		return fmt.Errorf("--from %q: %w", o.from, err)
	}
	to, err := report.ParseTime(o.to, loc)
	if err != nil {
		return fmt.Errorf("--to %q: %w", o.to, err)
	}
	if o.stateDir != "" {
		files = recordingFiles(o.stateDir)
	}
	rec, err := e.reportedStates(cfg, o, files)
	if err != nil {
		return err
	}
	figs, err := figures(rec, from, to, o, loc)
	if err != nil {
		return err
	}
	write := report.WriteText
	if o.format == "json" {
		write = report.WriteJSON
	}
	if err := write(e.stdout, figs, loc); err != nil {
		return err
	}
	if rec.rejected > 0 {
		fmt.Fprintf(e.stderr, "leaderhook: %d malformed lines rejected (listed above)\n", rec.rejected)
		return exitError{1}
	}
	return nil
}

// figures computes every cluster's figures over each period.
func figures(rec replayedStates, from, to time.Time, o reportOptions, loc *time.Location) ([]report.Figures, error) {
	if rec.first.IsZero() { // no event, nor a flight recording's state restored
		return nil, errors.New("no events in the recording")
	}
	whole, err := report.Bounds(rec.first, rec.last, from, to)
	if err != nil {
		return nil, err
	}
	periods, err := report.Split(whole, o.period, loc)
	if err != nil {
		return nil, err
	}
	histories := report.Histories(rec.states, rec.down)
	if len(histories) == 0 {
		return nil, errors.New("the events made no cluster state: are they the cluster's members' reports?")
	}
	var out []report.Figures
	for _, h := range histories {
		for _, p := range periods {
			out = append(out, h.Figures(p, o.flap))
		}
	}
	return out, nil
}

// replayedStates is what a replay for a report keeps.
type replayedStates struct {
	states      []event.Event
	down        []report.Span // the daemon's downtimes, in a flight recording
	n, rejected int
	first, last time.Time
}

// reportedStates replays files for a report. Event files are one
// cluster's: --cluster's, needed when the config has several. A flight
// recording names each event's cluster, as replay takes it: --cluster
// picks one of them, and without it every cluster is reported.
func (e *env) reportedStates(cfg *config.Config, o reportOptions, files []string) (replayedStates, error) {
	recording, err := isRecording(files)
	if err != nil {
		return replayedStates{}, err
	}
	if !recording {
		cluster, err := pickCluster(cfg, o.cluster)
		if err != nil {
			return replayedStates{}, err
		}
		return e.replayStates(cfg, cluster, files, o.reorder)
	}
	if o.cluster == "" {
		return e.replayRecordedStates(cfg, files)
	}
	if _, err := pickCluster(cfg, o.cluster); err != nil {
		return replayedStates{}, err
	}
	rec, err := e.replayRecordedStates(cfg, files)
	if err != nil {
		return rec, err
	}
	rec.states = slices.DeleteFunc(rec.states, func(ev event.Event) bool { return ev.Cluster != o.cluster })
	if !rec.first.IsZero() && len(rec.states) == 0 {
		return rec, fmt.Errorf("the recording holds no state of cluster %q", o.cluster)
	}
	return rec, nil
}

// replayStates runs the events of one cluster through the detector as
// replay does and keeps the state events.
func (e *env) replayStates(cfg *config.Config, cluster string, files []string, reorder time.Duration) (replayedStates, error) {
	var rec replayedStates
	driver, err := pipeline.New(cfg, cluster, stateSink{&rec.states}, e.log)
	if err != nil {
		return rec, err
	}
	readers, merged, closeAll, err := e.openAll(files, reorder, inConfig(cfg))
	if err != nil {
		return rec, err
	}
	defer closeAll()
	for {
		ev, err := merged.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rec, err
		}
		if rec.n == 0 {
			rec.first = ev.Time
		}
		rec.n++
		if ev.Time.After(rec.last) { // a late line is applied at the clock's time
			rec.last = ev.Time
		}
		if err := driver.Handle(ev); err != nil {
			fmt.Fprintf(e.stderr, "leaderhook: %s: %v\n", ev, err)
		}
	}
	for _, r := range readers {
		rec.rejected += r.Rejected
	}
	return rec, nil
}

// stateSink keeps the state events and ignores the rules' outcomes.
type stateSink struct{ states *[]event.Event }

func (s stateSink) State(ev event.Event)  { *s.states = append(*s.states, ev) }
func (s stateSink) Outcome(rules.Outcome) {}

// recordingFiles are the flight recording's files in a state_dir, oldest
// first.
func recordingFiles(stateDir string) []string {
	var files []string
	for _, name := range []string{daemon.OldInputsFile, daemon.InputsFile} {
		path := filepath.Join(stateDir, name)
		if _, err := os.Stat(path); err == nil {
			files = append(files, path)
		}
	}
	if len(files) == 0 {
		files = []string{filepath.Join(stateDir, daemon.InputsFile)} // its absence is the error
	}
	return files
}

// replayRecordedStates replays a flight recording as replay does and
// keeps the state events.
func (e *env) replayRecordedStates(cfg *config.Config, files []string) (replayedStates, error) {
	var rec replayedStates
	var restoredAt time.Time // the first start or checkpoint that knew a cluster's state
	r := &recordingReplay{cfg: cfg, sink: stateSink{&rec.states}, log: e.log, stderr: e.stderr}
	r.restored = func(at time.Time, state *daemon.RecordedState, restart bool) {
		if restoredAt.IsZero() && knowsACluster(state) {
			restoredAt = at
		}
		rec.states = restoredStates(rec.states, at, state, restart)
	}
	r.down = func(from, to time.Time) { rec.down = append(rec.down, report.Span{Start: from, End: to}) }
	for _, name := range files {
		if err := r.file(name); err != nil {
			return rec, err
		}
	}
	r.warn()
	rec.n, rec.first, rec.last, rec.rejected = r.events, r.first, r.last, r.rejected
	// The daemon knew its clusters' states from the start (or checkpoint)
	// it restored them from, though no member reported until later, or
	// at all in a quiet recording: the period begins there.
	if !restoredAt.IsZero() && (rec.first.IsZero() || restoredAt.Before(rec.first)) {
		rec.first = restoredAt
		rec.last = later(rec.last, restoredAt)
	}
	// A loss announced by time alone (stabilize passed, a silent member
	// presumed down) comes after the last event: the period runs to the
	// last time the daemon recorded.
	if !rec.first.IsZero() && r.reached.After(rec.last) {
		rec.last = r.reached
	}
	return rec, nil
}

// knowsACluster reports whether a recorded state holds a cluster's state.
func knowsACluster(state *daemon.RecordedState) bool {
	for _, view := range state.Views {
		if view.Known {
			return true
		}
	}
	return false
}

// restoredStates adds to states, as baselines dated at, the states a
// replay was restored from, for the clusters states says nothing of yet:
// the state in force where the recording begins (an outage already under
// way, a leader) is known to the daemon, not announced again. Of a
// cluster already seen, the replay's own states go on, unless the daemon
// was down before (restart): then each cluster's state is the restored
// one.
func restoredStates(states []event.Event, at time.Time, state *daemon.RecordedState, restart bool) []event.Event {
	seen := map[string]bool{}
	for _, ev := range states {
		seen[ev.Cluster] = !restart
	}
	names := make([]string, 0, len(state.Views))
	for name, st := range state.Views {
		if st.Known && !seen[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		st := state.Views[name]
		ev := event.Event{Source: event.DetectorSource, Time: at, Cluster: name, Type: event.HasLeader, LeaderID: st.LeaderID,
			PreviousLeaderID: st.PreviousLeaderID, Since: st.Since, Baseline: true}
		if st.LeaderID == "" {
			ev.Type = event.Leaderless
		}
		states = append(states, ev)
	}
	return states
}
