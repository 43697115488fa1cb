package daemon

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/metrics"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

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

// logSink logs state changes and rule outcomes.
type logSink struct{ log *slog.Logger }

// Both check the level first: building the attributes is wasted at
// --log-level warn or error.
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
	// at: when the decision is dated, which a catch-up after a restart
	// logs later.
	l.log.Info("rule "+o.Kind, "cluster", o.Cluster, "rule", o.Rule, "reason", o.Reason, "actions", o.Actions,
		"leader_id", o.LeaderID, "leaderless_for", o.LeaderlessFor, "trigger", o.Trigger, "at", o.Time)
}

// renderLog is the Submitter of a dry run: it logs what each action would
// send and sends nothing.
type renderLog struct {
	log     *slog.Logger
	mu      sync.Mutex
	targets map[string]dispatch.Target
}

// setTargets takes the actions of a reloaded config; as with a dispatcher,
// those it no longer has stay known.
func (r *renderLog) setTargets(targets map[string]dispatch.Target) {
	r.mu.Lock()
	defer r.mu.Unlock()
	merged := make(map[string]dispatch.Target, len(r.targets)+len(targets))
	maps.Copy(merged, r.targets)
	maps.Copy(merged, targets)
	r.targets = merged
}

func (r *renderLog) Submit(n actions.Notification, names []string) error {
	r.mu.Lock()
	targets := r.targets
	r.mu.Unlock()
	for _, nr := range pipeline.Render(targets, n, names) {
		r.log.Info("dry run: action not executed", "rule", n.Rule, "cluster", n.Cluster, "status", n.Status,
			"action", nr.Action, "method", nr.Method, "url", nr.URL, "headers", nr.Headers, "body", nr.Body,
			"argv", nr.Argv, "env", nr.Env, "error", nr.Error)
	}
	return nil
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
