// Package metrics defines leaderhook's Prometheus metrics and keeps them up
// to date from the pipeline's sinks and the dispatcher's audit records.
package metrics

import (
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Metrics holds every collector, registered in its own registry.
type Metrics struct {
	Registry *prometheus.Registry

	events       *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	skipped      *prometheus.CounterVec
	transitions  *prometheus.CounterVec
	hasLeader    *prometheus.GaugeVec
	known        *prometheus.GaugeVec
	outcomes     *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	failures     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	reloads      *prometheus.CounterVec
	lastReload   prometheus.Gauge
	reloadOK     prometheus.Gauge
	auditErrors  prometheus.Counter
	historyErrs  prometheus.Counter
	recorderErrs prometheus.Counter
	stateErrs    prometheus.Counter
	notJournaled prometheus.Counter
	skewed       *prometheus.CounterVec
	memberUp     *prometheus.GaugeVec
	memberAge    *prometheus.GaugeVec
	memberError  *prometheus.GaugeVec
	margin       *prometheus.GaugeVec
	isolated     *prometheus.GaugeVec
	buildInfo    *prometheus.GaugeVec
	mu           sync.Mutex
	lossStarted  map[string]time.Time
	sources      map[string]map[string]bool // the source label values in use, by cluster
	leaderlessFn *prometheus.GaugeVec
}

// New registers the metrics. queueDepth and dropped are read at scrape
// time (either may be nil).
func New(queueDepth func() float64, dropped func() float64) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(), lossStarted: map[string]time.Time{}, sources: map[string]map[string]bool{}}
	f := prometheus.WrapRegistererWithPrefix("leaderhook_", m.Registry)
	m.events = counterVec(f, "events_total", "Member events received, by cluster, source (member) and event type.", "cluster", "source", "type")
	m.rejected = counterVec(f, "events_rejected_total", "Malformed events rejected, by cluster and input.", "cluster", "input")
	m.skipped = counterVec(f, "events_skipped_total", "Events skipped, by cluster and input: another namespace, an eventType leaderhook does not know (a newer OpenZiti's), or leaderhook's own state events (event_src_id leaderhook), which only replay takes.", "cluster", "input")
	m.skewed = counterVec(f, "events_skewed_total", "Events whose own timestamp was too far from leaderhook's clock (or behind it), dated on arrival instead, by cluster and source (member).", "cluster", "source")
	m.transitions = counterVec(f, "state_changes_total", "Cluster state changes announced, by cluster and type (baseline excluded).", "cluster", "type")
	m.hasLeader = gaugeVec(f, "cluster_has_leader", "1 when the cluster has a leader that a majority follows.", "cluster")
	m.known = gaugeVec(f, "cluster_known", "1 once the cluster's state is known (from its members or the saved state); until then it has no cluster_has_leader.", "cluster")
	m.leaderlessFn = gaugeVec(f, "cluster_leaderless_seconds", "Seconds since the cluster lost its leader (0 with a leader), as of the last state change or scrape.", "cluster")
	m.memberUp = gaugeVec(f, "member_up", "1 when the member answers (or is not heard from yet since leaderhook started); 0 when it is down or does not answer.", "cluster", "member")
	m.memberAge = gaugeVec(f, "member_report_age_seconds", "Seconds since the member last reported.", "cluster", "member")
	m.memberError = gaugeVec(f, "member_error", "1 for why a member that is not up is not: refused (nothing listens), down (a peer saw it go), timeout, or error.", "cluster", "member", "kind")
	m.margin = gaugeVec(f, "cluster_quorum_margin", "Members that can still fail before the cluster loses its majority; negative once it has. Absent while no member is known.", "cluster")
	m.isolated = gaugeVec(f, "cluster_watcher_isolated", "1 when leaderhook reaches too few members to judge the cluster.", "cluster")
	m.outcomes = counterVec(f, "rule_outcomes_total", "Rule outcomes, by cluster, rule, outcome (fired, resolved, suppressed) and suppression reason.", "cluster", "rule", "outcome", "reason")
	m.attempts = counterVec(f, "action_attempts_total", "Action attempts, by action and outcome (ok, retry, failed).", "action", "outcome")
	m.failures = counterVec(f, "action_failures_total", "Deliveries that failed for good, by action (not those dropped or cancelled because the cluster's state moved on).", "action")
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "action_attempt_duration_seconds", Help: "Duration of action attempts.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}, []string{"action"})
	f.MustRegister(m.latency)
	m.reloads = counterVec(f, "config_reloads_total", "Config reloads (SIGHUP or POST /-/reload; not the load at startup), by result (success, failure).", "result")
	m.lastReload = prometheus.NewGauge(prometheus.GaugeOpts{Name: "config_last_reload_success_timestamp_seconds", Help: "When the config was last loaded successfully."})
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "config_last_reload_successful", Help: "1 when the last reload attempt succeeded."})
	f.MustRegister(m.lastReload, m.reloadOK)
	m.auditErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "audit_write_errors_total", Help: "Audit records that could not be written (the disk failed, or fell too far behind)."})
	m.buildInfo = gaugeVec(f, "build_info", "Always 1; the labels say which leaderhook runs.", "version", "goversion", "revision")
	m.notJournaled = prometheus.NewCounter(prometheus.CounterOpts{Name: "deliveries_not_journaled_total", Help: "Deliveries decided while the journal could not be written: made, but not safe from a crash until the journal is repaired."})
	m.historyErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "history_write_errors_total", Help: "History entries (of the web page's timeline) that could not be written (the disk failed, or fell too far behind)."})
	m.recorderErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "flight_recorder_write_errors_total", Help: "Flight recorder writes that failed; the recorder stops, and starts again a minute later."})
	m.stateErrs = prometheus.NewCounter(prometheus.CounterOpts{Name: "state_write_errors_total", Help: "Saves of the state (state.log) that failed; each is tried again a second later."})
	f.MustRegister(m.auditErrors, m.notJournaled, m.historyErrs, m.recorderErrs, m.stateErrs)
	if queueDepth != nil {
		f.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "action_queue_depth", Help: "Deliveries waiting in the action queues."}, queueDepth))
	}
	if dropped != nil {
		f.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "raft_observations_dropped_total", Help: "Raft observations dropped because leaderhook's buffer was full (corrected by reconcile)."}, dropped))
	}
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The config loaded at startup is the last successful load, but not a
	// reload: counting it would make a restart look like a reload. Both
	// results start at 0, so that increase() sees the first reload.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	m.lastReload.SetToCurrentTime()
	m.reloadOK.Set(1)
	return m
}

func counterVec(r prometheus.Registerer, name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	r.MustRegister(c)
	return c
}

func gaugeVec(r prometheus.Registerer, name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	r.MustRegister(g)
	return g
}

// Event counts a member event.
func (m *Metrics) Event(ev event.Event) {
	m.events.WithLabelValues(ev.Cluster, m.source(ev), ev.Type).Inc()
}

// MaxSources bounds the source label's values per cluster, and the
// members with series. Events name their source freely (event_src_id):
// past the bound, new ones are counted as OtherSource, so that a sender
// cannot grow the series without end.
const MaxSources = 100

// OtherSource is the source label of the sources past MaxSources.
const OtherSource = "other"

func (m *Metrics) source(ev event.Event) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := m.sources[ev.Cluster]
	if seen == nil {
		seen = map[string]bool{}
		m.sources[ev.Cluster] = seen
	}
	if !seen[ev.Source] {
		if len(seen) >= MaxSources {
			return OtherSource
		}
		seen[ev.Source] = true
	}
	return ev.Source
}

// MemberState is one member as a cluster's view last knew it.
type MemberState struct {
	Name       string
	Up         bool
	Kind       string    // why not up: refused, down, timeout or error
	LastReport time.Time // zero before it reported
}

// Members sets the member and cluster health metrics as of now (call
// before a scrape, with every cluster's members).
func (m *Metrics) Members(now time.Time, clusters map[string][]MemberState, health map[string]event.Health) {
	m.memberUp.Reset()
	m.memberAge.Reset()
	m.memberError.Reset()
	for cluster, members := range clusters {
		if len(members) > MaxSources {
			// Members learned from events are as many as the sources a
			// sender names: the same bound as the source label.
			members = slices.SortedFunc(slices.Values(members), func(a, b MemberState) int { return strings.Compare(a.Name, b.Name) })[:MaxSources]
		}
		for _, ms := range members {
			up := 0.0
			if ms.Up {
				up = 1
			} else {
				m.memberError.WithLabelValues(cluster, ms.Name, ms.Kind).Set(1)
			}
			m.memberUp.WithLabelValues(cluster, ms.Name).Set(up)
			if !ms.LastReport.IsZero() {
				m.memberAge.WithLabelValues(cluster, ms.Name).Set(now.Sub(ms.LastReport).Seconds())
			}
		}
	}
	for cluster, h := range health {
		if h.MembersTotal == 0 {
			// No member known yet: a margin would say the majority is gone.
			m.margin.DeleteLabelValues(cluster)
		} else {
			m.margin.WithLabelValues(cluster).Set(float64(h.QuorumMargin()))
		}
		isolated := 0.0
		if h.WatcherIsolated {
			isolated = 1
		}
		m.isolated.WithLabelValues(cluster).Set(isolated)
	}
}

// Skewed counts an event dated on arrival for its timestamp.
func (m *Metrics) Skewed(ev event.Event) {
	m.skewed.WithLabelValues(ev.Cluster, m.source(ev)).Inc()
}

// Rejected counts a malformed event.
func (m *Metrics) Rejected(cluster, input string) {
	m.rejected.WithLabelValues(cluster, input).Inc()
}

// Skipped counts an event skipped: another namespace, an unknown
// eventType, or one of leaderhook's own state events from a live input.
func (m *Metrics) Skipped(cluster, input string) {
	m.skipped.WithLabelValues(cluster, input).Inc()
}

// State records a cluster state change.
func (m *Metrics) State(ev event.Event) {
	if !ev.Baseline {
		m.transitions.WithLabelValues(ev.Cluster, ev.Type).Inc()
	}
	m.known.WithLabelValues(ev.Cluster).Set(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if ev.Type == event.HasLeader {
		m.hasLeader.WithLabelValues(ev.Cluster).Set(1)
		delete(m.lossStarted, ev.Cluster)
		m.leaderlessFn.WithLabelValues(ev.Cluster).Set(0)
		return
	}
	m.hasLeader.WithLabelValues(ev.Cluster).Set(0)
	m.lossStarted[ev.Cluster] = ev.Since
	m.leaderlessFn.WithLabelValues(ev.Cluster).Set(ev.Time.Sub(ev.Since).Seconds())
}

// Unknown records a configured cluster whose state is not known yet, so
// that a cluster that never reports shows as such rather than not at all.
func (m *Metrics) Unknown(cluster string) {
	m.known.WithLabelValues(cluster).Set(0)
}

// Tick refreshes the leaderless durations (call before a scrape).
func (m *Metrics) Tick(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c, since := range m.lossStarted {
		m.leaderlessFn.WithLabelValues(c).Set(now.Sub(since).Seconds())
	}
}

// Outcome counts a rule outcome.
func (m *Metrics) Outcome(o rules.Outcome) {
	m.outcomes.WithLabelValues(o.Cluster, o.Rule, o.Kind, o.Reason).Inc()
}

// Record counts a dispatcher audit record.
func (m *Metrics) Record(r dispatch.Record) {
	switch r.Kind {
	case "attempt":
		m.attempts.WithLabelValues(r.Action, r.Outcome).Inc()
		m.latency.WithLabelValues(r.Action).Observe(float64(r.DurationMS) / 1000)
	case "failed":
		m.failures.WithLabelValues(r.Action).Inc()
	}
}

// BuildInfo sets leaderhook_build_info for this version.
func (m *Metrics) BuildInfo(version string) {
	goVersion, revision := "", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	m.buildInfo.WithLabelValues(version, goVersion, revision).Set(1)
}

// CrashSafe exposes leaderhook_crash_safe, read from safe at scrape time.
func (m *Metrics) CrashSafe(safe func() bool) {
	prometheus.WrapRegistererWithPrefix("leaderhook_", m.Registry).MustRegister(prometheus.NewGaugeFunc(
		prometheus.GaugeOpts{Name: "crash_safe", Help: "1 when every pending delivery is in the journal; 0 while the journal cannot be written."},
		func() float64 {
			if safe() {
				return 1
			}
			return 0
		}))
}

// NotJournaled counts a delivery that could not be journaled.
func (m *Metrics) NotJournaled() { m.notJournaled.Inc() }

// AuditWriteFailed counts an audit record that could not be written.
func (m *Metrics) AuditWriteFailed() { m.auditErrors.Inc() }

// HistoryWriteFailed counts a history entry that could not be written.
func (m *Metrics) HistoryWriteFailed() { m.historyErrs.Inc() }

// RecorderWriteFailed counts a flight recorder write that failed.
func (m *Metrics) RecorderWriteFailed() { m.recorderErrs.Inc() }

// StateWriteFailed counts a save of the state that failed.
func (m *Metrics) StateWriteFailed() { m.stateErrs.Inc() }

// Forget removes the metrics of a cluster no longer configured.
func (m *Metrics) Forget(cluster string) {
	labels := prometheus.Labels{"cluster": cluster}
	for _, v := range []*prometheus.CounterVec{m.events, m.rejected, m.skipped, m.skewed, m.transitions, m.outcomes} {
		v.DeletePartialMatch(labels)
	}
	for _, v := range []*prometheus.GaugeVec{m.hasLeader, m.known, m.leaderlessFn, m.margin, m.isolated} {
		v.DeletePartialMatch(labels)
	}
	m.mu.Lock()
	delete(m.lossStarted, cluster)
	delete(m.sources, cluster)
	m.mu.Unlock()
}

// Reloaded records a reload attempt.
func (m *Metrics) Reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("success").Inc()
		m.lastReload.SetToCurrentTime()
		m.reloadOK.Set(1)
		return
	}
	m.reloads.WithLabelValues("failure").Inc()
	m.reloadOK.Set(0)
}
