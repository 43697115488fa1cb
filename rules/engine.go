// Package rules evaluates the config's rules against cluster state events and
// time, and decides what fires, resolves or is suppressed, and when.
//
// The engine is synchronous and owns no goroutines and no clock: callers give
// it state events (each stamped with its time) and advance it to the instants
// it asks for (Deadline). Replay drives it on a virtual clock, the daemon on
// the real one, with identical results.
package rules

import (
	"container/heap"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/robfig/cron/v3"

	"github.com/leaderhook/leaderhook/event"
)

// Outcomes of a rule evaluation.
const (
	Fired      = "fired"
	Resolved   = "resolved"
	Suppressed = "suppressed"
)

// Reasons for a suppression.
const (
	ReasonCooldown = "cooldown"
	ReasonMuted    = "muted"
)

// What caused an evaluation (the `trigger` variable).
const (
	TriggerEvent    = "event"
	TriggerTime     = "time"
	TriggerSchedule = "schedule"
	// TriggerHealth: what leaderhook knows of the members changed
	// (members_up, unreachable, watcher_isolated), not the leader.
	TriggerHealth = "health"
)

// Outcome is one decision of the engine about one rule and one cluster.
type Outcome struct {
	Time time.Time
	// Episode is when the rule's condition began to hold (its episode),
	// for a firing and for its resolve: with the rule, the cluster and
	// Time, it names the decision.
	Episode time.Time
	Cluster string
	// Labels are the notification's: the cluster's with the rule's over
	// them. The `labels` variable of expressions is the cluster's alone.
	Labels  map[string]string
	Rule    string
	Kind    string   // Fired, Resolved, Suppressed, Verified or VerifyFailed
	Reason  string   // for Suppressed: ReasonCooldown or ReasonMuted
	Actions []string // actions to run: the rule's actions, on_resolve for Resolved, verify.on_failure for VerifyFailed
	Trigger string
	// State is the cluster's current state event; Health what leaderhook
	// knows of its members.
	State  event.Event
	Health event.Health
	// Event is State's fields, as the expressions' `event` reads them:
	// computed once per state change and shared by every outcome of it,
	// so read only. Nil in an outcome made outside the engine.
	Event            map[string]any
	LeaderID         string
	PreviousLeaderID string
	Leaderless       bool
	LeaderlessFor    time.Duration
	// LastOutage is how long the cluster was without a leader before its
	// current one (0: no loss came before it, or not since the start).
	LastOutage time.Duration
	// HeldBy says what held a firing back before it went out
	// (ReasonCooldown or ReasonMuted; "" when nothing did).
	HeldBy string
}

// Cluster names a configured cluster and its labels.
type Cluster struct {
	Name   string
	Labels map[string]string
}

// Options configure an Engine.
type Options struct {
	Rules    []Rule
	Windows  map[string]Window
	Clusters []Cluster
	// Location is the time zone of cron schedules (rules and windows);
	// UTC when nil.
	Location *time.Location
	Logger   *slog.Logger
}

// Engine evaluates rules for any number of clusters. It is not safe for
// concurrent use.
type Engine struct {
	rules    []*compiledRule
	loc      *time.Location
	log      *slog.Logger
	labels   map[string]map[string]string
	health   map[string]event.Health // by cluster, as last told
	expected map[string]Expectation  // by cluster: windows of expected changes
	clusters map[string]*clusterState
	seqFloor map[string]uint64 // by cluster without a state yet (Snapshot.SeqFloor)
	wakeups  wakeHeap
	maxWin   time.Duration
	windows  []time.Duration // every leader_changes window in use
	vm       vm.VM
	// resumed is when leaderhook started again (Resume): a firing that
	// time alone brings due before it waits for it.
	resumed time.Time

	// EvalErrors counts expression evaluations that failed at run time
	// (they count as false).
	EvalErrors int
	// AssumeDelivered takes every action of a firing as delivered at the
	// firing's instant, where nothing is delivered (replay, rule tests):
	// verification windows open as the rules fire, not on ActionDone.
	AssumeDelivered bool
}

// New compiles the rules. An invalid rule set yields a field.List error.
func New(opts Options) (*Engine, error) {
	e := &Engine{
		loc:      opts.Location,
		log:      opts.Logger,
		labels:   map[string]map[string]string{},
		health:   map[string]event.Health{},
		expected: map[string]Expectation{},
		clusters: map[string]*clusterState{},
	}
	if e.loc == nil {
		e.loc = time.UTC
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	known := Known{}
	if len(opts.Clusters) > 0 {
		known.Clusters = map[string]bool{}
	}
	for _, c := range opts.Clusters {
		known.Clusters[c.Name] = true
		e.labels[c.Name] = c.Labels
	}
	rs, errs, _ := compile(opts.Rules, opts.Windows, known)
	if len(errs) > 0 {
		return nil, errs
	}
	e.rules = rs
	for _, r := range rs {
		for _, w := range r.windows {
			e.maxWin = max(e.maxWin, w)
			e.windows = append(e.windows, w)
		}
	}
	slices.Sort(e.windows)
	e.windows = slices.Compact(e.windows)
	return e, nil
}

// Observe feeds one state event of the detector (state.has_leader or
// state.is_leaderless, Source "leaderhook") stamped with the time it was
// announced, and appends the outcomes. Deadlines due at or before the
// event's time are processed first.
func (e *Engine) Observe(ev event.Event, out []Outcome) []Outcome {
	out = e.Advance(ev.Time, out)
	// The first state the engine sees of a cluster is its baseline. After a
	// restart with a restored snapshot it is a change like any other, even
	// if the detector calls it a baseline: the cluster may have recovered
	// while leaderhook was down, and that resolve must go out.
	cs := e.clusters[ev.Cluster]
	baseline := cs == nil
	if baseline {
		cs = e.newCluster(ev.Cluster)
		cs.state.Seq = e.seqFloor[ev.Cluster]
		delete(e.seqFloor, ev.Cluster)
	}
	if ev.Time.After(cs.now) {
		cs.now = ev.Time
	}
	cs.number(&ev)
	// A repeat of the current state (a restart that finds the cluster as
	// it was) is neither a change nor a new occurrence, and its loss or
	// tenure began when the engine first saw it.
	repeat := !baseline && ev.Seq == cs.state.Seq
	if repeat && cs.since.Before(ev.Since) {
		ev.Since = cs.since
	}
	lastOutage := cs.lastOutage
	cs.setState(&ev)
	if repeat {
		cs.lastOutage = lastOutage
	}
	if baseline {
		for i, r := range e.rules {
			if r.schedule != nil {
				cs.rules[i].nextRun = nextAt(r.schedule, cs.now, e.loc)
			}
		}
	}
	if !baseline && !repeat && ev.Type == event.HasLeader && ev.PreviousLeaderID != "" && ev.LeaderID != ev.PreviousLeaderID {
		cs.changes = append(cs.changes, cs.now)
	}
	cs.pruneChanges(e.maxWin)
	out = e.evaluate(cs, TriggerEvent, baseline, !repeat, out)
	e.schedule(cs, false)
	return out
}

// Seq returns the number of the cluster's current state (event.Event.Seq),
// 0 before its first.
func (e *Engine) Seq(cluster string) uint64 {
	if cs := e.clusters[cluster]; cs != nil {
		return cs.state.Seq
	}
	return 0
}

// Health updates what the engine knows of a cluster's members at now
// (members_up, members_total, quorum_margin, unreachable,
// watcher_isolated) and evaluates the rules on it, as on an event that
// does not change the cluster's state. A cluster not seen yet takes it
// with its first state event.
func (e *Engine) Health(cluster string, h event.Health, now time.Time, out []Outcome) []Outcome {
	out = e.Advance(now, out)
	e.SetHealth(cluster, h)
	cs := e.clusters[cluster]
	if cs == nil {
		return out
	}
	if now.After(cs.now) {
		cs.now = now
	}
	out = e.evaluate(cs, TriggerHealth, false, false, out)
	e.schedule(cs, false)
	return out
}

// SetHealth sets what the engine knows of a cluster's members without
// evaluating anything: for a restore, before the members report again.
func (e *Engine) SetHealth(cluster string, h event.Health) {
	e.health[cluster] = h
	if cs := e.clusters[cluster]; cs != nil {
		cs.setHealth(h)
	}
}

// Deadline returns the next instant at which time alone may change an
// outcome: a threshold such as leaderless_for >= 30s, a `for:` period, a
// repeat, the end of a cooldown or mute window, or a schedule.
func (e *Engine) Deadline() (time.Time, bool) {
	for e.wakeups.Len() > 0 {
		top := e.wakeups[0]
		if top.cs.wake.Equal(top.at) {
			return top.at, true
		}
		heap.Pop(&e.wakeups) // stale entry
	}
	return time.Time{}, false
}

// Advance processes every deadline up to and including now, each at its own
// instant, and appends the outcomes in time order.
func (e *Engine) Advance(now time.Time, out []Outcome) []Outcome {
	for {
		at, ok := e.Deadline()
		if !ok || at.After(now) {
			return out
		}
		cs := heap.Pop(&e.wakeups).(wakeup).cs
		cs.wake = time.Time{}
		if at.After(cs.now) {
			cs.now = at
		}
		out = e.runSchedules(cs, out)
		out = e.evaluate(cs, TriggerTime, false, false, out)
		e.pruneExpect(cs)
		e.schedule(cs, true)
	}
}

func (e *Engine) newCluster(name string) *clusterState {
	cs := newClusterState(name, e.labels[name], len(e.rules), e.windows)
	if h, ok := e.health[name]; ok {
		cs.setHealth(h)
	}
	cs.expect = e.expected[name]
	e.clusters[name] = cs
	return cs
}

// evaluate runs every event- and time-driven rule of the cluster at cs.now.
// stateChanged is set for the evaluation of a new state event.
//
// On an event every rule is evaluated. On a time trigger only the rules
// whose own wake-up has come: between events a rule's value can change only
// at the instants schedule computed for it. On a health report, only the
// rules that read what one changes.
func (e *Engine) evaluate(cs *clusterState, trigger string, baseline, stateChanged bool, out []Outcome) []Outcome {
	cs.refresh(trigger)
	out = e.checkAll(cs, out) // before a new firing replaces a verification
	for i, r := range e.rules {
		if r.schedule != nil || !r.appliesTo(cs.name) {
			continue
		}
		rs := &cs.rules[i]
		if trigger == TriggerTime && (rs.wake.IsZero() || rs.wake.After(cs.now)) {
			continue
		}
		if trigger == TriggerHealth && !r.readsHealth {
			continue
		}
		v := e.eval(r, cs)
		switch {
		case v && baseline:
			// Already true at start: not a change, unless asked for.
			rs.begin(cs.now)
			rs.startup = !r.FireOnStart
			out = e.maybeFire(r, rs, cs, out)
		case v && rs.active && stateChanged && r.readsState:
			// A new state is a new occurrence: the last one's firing gets
			// its own resolve, as receivers keep one alert per episode.
			out = e.resolve(r, rs, cs, out)
			rs.begin(cs.now)
			out = e.maybeFire(r, rs, cs, out)
		case v && !rs.active:
			rs.begin(cs.now)
			out = e.maybeFire(r, rs, cs, out)
		case v:
			out = e.maybeFire(r, rs, cs, out)
		case rs.active:
			out = e.resolve(r, rs, cs, out)
			rs.end()
		}
	}
	return out
}

// resolve ends the episode's firing, if it fired.
func (e *Engine) resolve(r *compiledRule, rs *ruleState, cs *clusterState, out []Outcome) []Outcome {
	if !rs.fired {
		return out
	}
	return append(out, e.outcome(r, rs, cs, Resolved, "", r.OnResolve))
}

// runSchedules fires scheduled rules whose time has come.
func (e *Engine) runSchedules(cs *clusterState, out []Outcome) []Outcome {
	for i, r := range e.rules {
		rs := &cs.rules[i]
		if r.schedule == nil || rs.nextRun.IsZero() || rs.nextRun.After(cs.now) || !r.appliesTo(cs.name) {
			continue
		}
		rs.nextRun = nextAt(r.schedule, cs.now, e.loc)
		cs.refresh(TriggerSchedule)
		rs.reason = "" // each schedule time reports its own suppression
		if e.eval(r, cs) {
			out = e.tryFire(r, rs, cs, out, false)
		}
	}
	return out
}

// maybeFire fires an active rule when its next firing is due: after `for:`,
// after a repeat period, or when a mute window or cooldown that held it back
// is over.
func (e *Engine) maybeFire(r *compiledRule, rs *ruleState, cs *clusterState, out []Outcome) []Outcome {
	due, ok := rs.due(r)
	if !ok || due.After(cs.now) {
		return out
	}
	if cs.trigger == TriggerTime && cs.now.Before(e.resumed) {
		// Due while leaderhook was down: it fires once, at the restart,
		// where a mute window or cooldown is then looked at.
		rs.retryAt = e.resumed
		return out
	}
	return e.tryFire(r, rs, cs, out, true)
}

func (e *Engine) tryFire(r *compiledRule, rs *ruleState, cs *clusterState, out []Outcome, defer_ bool) []Outcome {
	if until, muted := mutedUntil(r.mute, cs.now, e.loc); muted {
		if defer_ {
			rs.retryAt = until
		}
		if rs.reason != ReasonMuted {
			rs.reason = ReasonMuted
			out = append(out, e.outcome(r, rs, cs, Suppressed, ReasonMuted, r.Actions))
		}
		return out
	}
	key := ""
	if r.key != nil && r.Cooldown > 0 {
		key = e.evalKey(r, cs)
	}
	if last, ok := rs.lastFired[key]; ok && r.Cooldown > 0 && cs.now.Before(last.Add(r.Cooldown)) {
		if defer_ {
			rs.retryAt = last.Add(r.Cooldown)
		}
		if rs.reason != ReasonCooldown {
			rs.reason = ReasonCooldown
			out = append(out, e.outcome(r, rs, cs, Suppressed, ReasonCooldown, r.Actions))
		}
		return out
	}
	held := rs.reason
	rs.fired = true
	rs.lastFire = cs.now
	rs.retryAt = time.Time{}
	rs.reason = ""
	if r.Cooldown > 0 {
		rs.remember(key, cs.now, r.Cooldown)
	}
	o := e.outcome(r, rs, cs, Fired, "", r.Actions)
	o.HeldBy = held
	return e.await(r, rs, cs, append(out, o))
}

func (e *Engine) outcome(r *compiledRule, rs *ruleState, cs *clusterState, kind, reason string, actions []string) Outcome {
	return Outcome{
		Time:             cs.now,
		Episode:          rs.since,
		Cluster:          cs.name,
		Labels:           MergeLabels(cs.labelValues, r.Labels),
		Rule:             r.Name,
		Kind:             kind,
		Reason:           reason,
		Actions:          actions,
		Trigger:          cs.trigger,
		State:            cs.state,
		Health:           cs.health,
		Event:            cs.fields,
		LeaderID:         cs.state.LeaderID,
		PreviousLeaderID: cs.state.PreviousLeaderID,
		Leaderless:       cs.leaderless,
		LeaderlessFor:    cs.leaderlessFor,
		LastOutage:       cs.lastOutage,
	}
}

func (e *Engine) eval(r *compiledRule, cs *clusterState) bool {
	if !r.gate.admits(cs.state.Type, cs.leaderless) {
		return false
	}
	v, err := e.vm.Run(r.when, cs.env)
	if err != nil {
		e.EvalErrors++
		e.log.Warn("rule evaluation failed; counted as false", "rule", r.Name, "cluster", cs.name, "err", err)
		return false
	}
	b, _ := v.(bool)
	return b
}

func (e *Engine) evalKey(r *compiledRule, cs *clusterState) string {
	v, err := e.vm.Run(r.key, cs.env)
	if err != nil {
		e.EvalErrors++
		e.log.Warn("cooldown_key evaluation failed; using the empty key", "rule", r.Name, "cluster", cs.name, "err", err)
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// schedule computes each rule's next wake-up and the cluster's, and queues
// the cluster's. After a time trigger (dueOnly) only the rules that just
// woke need a new wake-up: nothing the others depend on has changed.
func (e *Engine) schedule(cs *clusterState, dueOnly bool) {
	var next time.Time
	dueNow := false
	for i, r := range e.rules {
		rs := &cs.rules[i]
		if r.schedule != nil {
			if r.appliesTo(cs.name) {
				next = earliest(next, rs.nextRun, cs.now)
			}
			continue
		}
		if dueOnly && rs.wake.After(cs.now) {
			next = earliest(next, rs.wake, cs.now)
			continue
		}
		rs.wake = time.Time{}
		if !r.appliesTo(cs.name) {
			continue
		}
		if due, ok := rs.due(r); ok && !due.After(cs.now) {
			// Begun without an evaluation to fire it (Restore, for a rule
			// with fire_on_start): it wakes at once.
			rs.wake, dueNow = cs.now, true
			continue
		}
		rs.wake = e.ruleWake(r, rs, cs)
		next = earliest(next, rs.wake, cs.now)
	}
	if dueNow {
		next = cs.now
	}
	if next.Equal(cs.wake) {
		return
	}
	cs.wake = next // an entry queued for an earlier wake-up is now stale
	if !next.IsZero() {
		heap.Push(&e.wakeups, wakeup{at: next, cs: cs})
	}
}

// ruleWake returns the next instant after cs.now at which time alone may
// change the rule's outcome, zero when none.
func (e *Engine) ruleWake(r *compiledRule, rs *ruleState, cs *clusterState) time.Time {
	var wake time.Time
	if due, ok := rs.due(r); ok {
		wake = earliest(wake, due, cs.now)
	}
	if (r.leaderless && cs.leaderless) || (r.tenure && !cs.leaderless) {
		// A duration compared with leaderless_for or leader_for flips
		// the comparison at since+d (>=) or one nanosecond later (>).
		// Thresholds are sorted: the first one not yet passed is next.
		held := cs.now.Sub(cs.since)
		for _, d := range r.thresholds {
			if d > held {
				wake = earliest(wake, cs.since.Add(d), cs.now)
				break
			}
			if d == held {
				wake = earliest(wake, cs.since.Add(d+1), cs.now)
				break
			}
		}
	}
	if r.expects {
		wake = earliest(wake, cs.expectWake(), cs.now)
	}
	for _, w := range r.windows {
		// A change leaves leader_changes(w) when it is w old.
		if j := cs.firstChangeAfter(cs.now.Add(-w)); j < len(cs.changes) {
			wake = earliest(wake, cs.changes[j].Add(w), cs.now)
		}
	}
	return earliest(wake, e.verifyWake(r, rs, cs), cs.now)
}

// earliest returns the earlier of cur and t, ignoring a zero t and any t
// not after now.
func earliest(cur, t, now time.Time) time.Time {
	if t.IsZero() || !t.After(now) {
		return cur
	}
	if cur.IsZero() || t.Before(cur) {
		return t
	}
	return cur
}

// maxOverlaps bounds the walk over a mute window's overlapping openings.
const maxOverlaps = 1000

// mutedUntil reports whether t lies in one of the windows, and when the
// last of the windows covering it closes. It reads the openings from the
// schedule's Next alone, so a window follows its DST rules (dstSchedule).
func mutedUntil(wins []*window, t time.Time, loc *time.Location) (time.Time, bool) {
	var until time.Time
	for _, w := range wins {
		// The window covering t opened in (t-duration, t]; cron's Next is
		// strictly after its argument.
		start := w.schedule.Next(t.Add(-w.duration).In(loc))
		if start.IsZero() || start.After(t) {
			continue
		}
		end := start.Add(w.duration)
		// Overlapping openings extend the window. A schedule that opens it
		// again before it closes keeps it open for good: the walk stops
		// after maxOverlaps openings, and the rule looks again then.
		n := w.schedule.Next(start)
		for i := 0; i < maxOverlaps && !n.IsZero() && n.Before(end); i++ {
			end = n.Add(w.duration)
			n = w.schedule.Next(n)
		}
		if end.After(until) {
			until = end
		}
	}
	return until.In(t.Location()), !until.IsZero()
}

// nextAt is the schedule's next time after now. Cron reads times of day in
// loc (the config's time zone), but what it returns is an instant like any
// other: it is given in now's location, as the events' times are, so that
// output stays in one zone and in order.
func nextAt(s cron.Schedule, now time.Time, loc *time.Location) time.Time {
	return s.Next(now.In(loc)).In(now.Location())
}

func (r *compiledRule) appliesTo(cluster string) bool {
	return r.clusters == nil || r.clusters[cluster]
}

// ruleState is one rule's memory for one cluster.
type ruleState struct {
	active    bool      // the condition holds (an episode is in progress)
	startup   bool      // it held at start: this episode never fires
	fired     bool      // this episode has fired
	since     time.Time // start of the episode
	lastFire  time.Time
	retryAt   time.Time // held back by a mute window or cooldown until then
	reason    string    // suppression last reported in this episode
	lastFired map[string]time.Time
	nextRun   time.Time // scheduled rules
	// newSchedule: a scheduled rule the restored state did not have;
	// Resume starts its times afresh.
	newSchedule bool
	wake        time.Time // next instant time alone may change this rule
	// verify is the verification of the latest firing, until it ends.
	verify *Verification
}

func (rs *ruleState) begin(now time.Time) {
	rs.active, rs.startup, rs.fired = true, false, false
	rs.since = now
	rs.retryAt, rs.reason = time.Time{}, ""
}

func (rs *ruleState) end() {
	rs.active, rs.startup, rs.fired = false, false, false
	rs.retryAt, rs.reason = time.Time{}, ""
}

// due returns when an active episode should next fire.
func (rs *ruleState) due(r *compiledRule) (time.Time, bool) {
	if !rs.active || rs.startup {
		return time.Time{}, false
	}
	var at time.Time
	switch {
	case !rs.fired:
		at = rs.since.Add(r.For)
	case r.Repeat > 0:
		at = rs.lastFire.Add(r.Repeat)
	default:
		return time.Time{}, false
	}
	if rs.retryAt.After(at) {
		at = rs.retryAt
	}
	return at, true
}

func (rs *ruleState) remember(key string, at time.Time, cooldown time.Duration) {
	if rs.lastFired == nil {
		rs.lastFired = map[string]time.Time{}
	}
	if len(rs.lastFired) >= 64 {
		for k, t := range rs.lastFired {
			if !at.Before(t.Add(cooldown)) {
				delete(rs.lastFired, k)
			}
		}
	}
	rs.lastFired[key] = at
}

// clusterState is the engine's view of one cluster and its rules.
type clusterState struct {
	name        string
	labelValues map[string]string
	now         time.Time
	state       event.Event    // current state event
	fields      map[string]any // state's fields; nil before the first state
	leaderless  bool
	since       time.Time     // start of the current state (true start of a loss)
	lastOutage  time.Duration // the loss that ended with the current leader
	changes     []time.Time
	rules       []ruleState
	wake        time.Time // queued wake-up, zero when none

	health        event.Health
	expect        Expectation   // window of expected changes; zero when none
	trigger       string        // of the current evaluation
	leaderlessFor time.Duration // as of the current evaluation
	windows       []time.Duration
	env           map[string]any // the expression variables
}

func newClusterState(name string, labels map[string]string, nrules int, windows []time.Duration) *clusterState {
	if labels == nil {
		labels = map[string]string{}
	}
	cs := &clusterState{
		name:        name,
		labelValues: labels,
		rules:       make([]ruleState, nrules),
		windows:     windows,
		env:         maps.Clone(variableTypes), // zero values until set
	}
	cs.env["cluster"] = name
	cs.env["labels"] = labels
	return cs
}

// number gives ev the cluster's state number: one more than the current
// state's when ev differs from it (another leader, or none), the same when
// it repeats it, as a baseline may after a restart that finds the cluster
// as it was.
func (cs *clusterState) number(ev *event.Event) {
	cur := &cs.state
	ev.Seq = cur.Seq
	if cur.Seq == 0 || ev.Type != cur.Type || ev.LeaderID != cur.LeaderID {
		ev.Seq++
	}
}

func (cs *clusterState) setState(ev *event.Event) {
	wasLeaderless, lossStart := cs.leaderless && !cs.since.IsZero(), cs.since
	cs.state = *ev
	cs.leaderless = ev.Type != event.HasLeader
	cs.since = ev.Since
	if cs.since.IsZero() || cs.since.After(cs.now) {
		cs.since = cs.now
	}
	cs.lastOutage = 0
	if wasLeaderless && !cs.leaderless {
		cs.lastOutage = cs.since.Sub(lossStart)
	}
	cs.env["type"] = ev.Type
	cs.env["leader_id"] = ev.LeaderID
	cs.env["previous_leader_id"] = ev.PreviousLeaderID
	cs.env["change_kind"] = ev.ChangeKind
	cs.env["leaderless"] = cs.leaderless
	if ev.Members != nil {
		cs.env["members"] = ev.Members
	}
	cs.fields = ev.Fields()
	cs.env["event"] = cs.fields
}

func (cs *clusterState) setHealth(h event.Health) {
	cs.health = h
	cs.env["members_up"] = h.MembersUp
	cs.env["members_total"] = h.MembersTotal
	cs.env["quorum_margin"] = h.QuorumMargin()
	cs.env["unreachable"] = h.Unreachable
	if h.Unreachable == nil {
		cs.env["unreachable"] = []string{}
	}
	cs.env["watcher_isolated"] = h.WatcherIsolated
	cs.env["leaders"] = h.LeaderIDs()
	cs.env["split_brain"] = h.SplitBrain
	cs.env["term"] = int(h.Term)
}

// refresh updates the time-dependent variables for an evaluation at cs.now.
func (cs *clusterState) refresh(trigger string) {
	cs.trigger = trigger
	held := cs.now.Sub(cs.since)
	cs.leaderlessFor = 0
	leaderFor := held
	if cs.leaderless {
		cs.leaderlessFor, leaderFor = held, 0
	}
	cs.env["trigger"] = trigger
	cs.env["now"] = cs.now
	cs.env["leaderless_for"] = cs.leaderlessFor
	cs.env["leader_for"] = leaderFor
	for _, w := range cs.windows {
		cs.env[changesVar(w)] = cs.changesWithin(w)
	}
	cs.refreshExpect()
}

// changesWithin counts the leader changes in (now-w, now].
func (cs *clusterState) changesWithin(w time.Duration) int {
	return len(cs.changes) - cs.firstChangeAfter(cs.now.Add(-w))
}

func (cs *clusterState) firstChangeAfter(t time.Time) int {
	return sort.Search(len(cs.changes), func(i int) bool { return cs.changes[i].After(t) })
}

func (cs *clusterState) pruneChanges(keep time.Duration) {
	if i := cs.firstChangeAfter(cs.now.Add(-keep)); i > 0 {
		cs.changes = slices.Delete(cs.changes, 0, i)
	}
}

type wakeup struct {
	at time.Time
	cs *clusterState
}

// wakeHeap is a min-heap (container/heap) of wake-ups by time, then
// cluster: clusters due at one instant come in one order, whatever the
// order they were scheduled in (replicas and restored engines agree).
type wakeHeap []wakeup

func (h wakeHeap) Len() int { return len(h) }
func (h wakeHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].cs.name < h[j].cs.name
}
func (h wakeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)   { *h = append(*h, x.(wakeup)) }
func (h *wakeHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = wakeup{} // let a removed cluster be collected
	*h = old[:len(old)-1]
	return w
}
