package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// Snapshot is the engine's memory: per cluster, the current state, the
// recent leader changes and the window of expected changes, and per rule
// whether it is firing, since when, its cooldowns and its verification in
// progress. It survives a restart (written to state_dir) and a config
// reload (rules whose decision did not change keep their state).
type Snapshot struct {
	Clusters []ClusterSnapshot `json:"clusters"`
	// Expected is the windows of expected changes, by cluster: a cluster
	// may have one before its first state.
	Expected map[string]Expectation `json:"expected,omitempty"`
	// SeqFloor is, by cluster the engine has no state of yet, the number
	// its first state must exceed: a delivery's that the journal holds,
	// decided before a crash left no saved state of the cluster.
	SeqFloor map[string]uint64 `json:"seq_floor,omitempty"`
	// Timezone is the zone scheduled rules' next runs were computed in;
	// "" in states saved before it was recorded: the zone did not change.
	Timezone string `json:"timezone,omitempty"`
}

// ClusterSnapshot is one cluster's part of a Snapshot.
type ClusterSnapshot struct {
	Name    string         `json:"name"`
	Now     time.Time      `json:"now"`
	State   event.Event    `json:"state"`
	Seq     uint64         `json:"seq,omitempty"` // State.Seq, which State's JSON leaves out
	Changes []time.Time    `json:"changes,omitempty"`
	Rules   []RuleSnapshot `json:"rules"`
}

// RuleSnapshot is one rule's state for one cluster. Decision is a hash of
// what decides the rule's outcomes: state is restored only into a rule that
// decides the same way. Definition, a hash of the whole rule but its
// labels, is what snapshots without Decision (and nodes of a group that do
// not write it yet) compare.
type RuleSnapshot struct {
	Rule       string               `json:"rule"`
	Definition string               `json:"definition"`
	Decision   string               `json:"decision,omitempty"`
	Active     bool                 `json:"active,omitempty"`
	Startup    bool                 `json:"startup,omitempty"`
	Fired      bool                 `json:"fired,omitempty"`
	Since      time.Time            `json:"since,omitzero"`
	LastFire   time.Time            `json:"last_fire,omitzero"`
	RetryAt    time.Time            `json:"retry_at,omitzero"`
	Reason     string               `json:"reason,omitempty"`
	LastFired  map[string]time.Time `json:"last_fired,omitempty"`
	NextRun    time.Time            `json:"next_run,omitzero"`
	Verify     *Verification        `json:"verify,omitempty"` // in progress (verify:)
	// Resolve, while the rule fires, is how its resolve goes out: a
	// restart whose config no longer has the rule, or its cluster, sends
	// it so, as a reload does. Nil in a snapshot of an earlier version.
	Resolve *Resolve `json:"resolve,omitempty"`
}

// Resolve is the resolve of a firing as the rule that fired would send it.
type Resolve struct {
	OnResolve []string          `json:"on_resolve"`
	Labels    map[string]string `json:"labels,omitempty"` // the notification's
}

// definition identifies a rule's configuration. Labels are left out: they
// change what notifications say, not what the rule decides, so a reload
// that changes only them keeps the rule's state (a firing rule does not
// fire again).
func definition(r *Rule) string {
	c := *r
	c.Labels = nil
	data, _ := json.Marshal(&c)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// decision identifies what decides a rule's outcomes. What it says and
// runs is left out (description, labels, actions, on_resolve,
// verify.on_failure): operators edit those during an incident, and a
// reload that changes only them must keep the episode, cooldowns, repeats
// and the verification in progress, or a failed failover goes unreported.
func decision(r *Rule) string {
	c := *r
	c.Description, c.Labels, c.Actions, c.OnResolve = "", nil, nil, nil
	if r.Verify != nil {
		v := *r.Verify
		v.OnFailure = nil
		c.Verify = &v
	}
	data, _ := json.Marshal(&c)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// sameDecision reports whether the snapshot's rule decides as r does.
func (rsnap *RuleSnapshot) sameDecision(r *compiledRule) bool {
	if rsnap.Decision == "" { // written before Decision was
		return rsnap.Definition == r.definition
	}
	return rsnap.Decision == r.decision
}

// Snapshot returns a deep copy of the engine's state.
func (e *Engine) Snapshot() Snapshot {
	s := Snapshot{Expected: e.snapshotExpected(), SeqFloor: maps.Clone(e.seqFloor), Timezone: e.loc.String()}
	for _, name := range slices.Sorted(maps.Keys(e.clusters)) {
		cs := e.clusters[name]
		c := ClusterSnapshot{Name: name, Now: cs.now, State: cs.state, Seq: cs.state.Seq, Changes: append([]time.Time(nil), cs.changes...)}
		c.State.Members = append([]string(nil), cs.state.Members...)
		for i, r := range e.rules {
			rs := &cs.rules[i]
			rsnap := RuleSnapshot{
				Rule: r.Name, Definition: r.definition, Decision: r.decision, Active: rs.active, Startup: rs.startup, Fired: rs.fired,
				Since: rs.since, LastFire: rs.lastFire, RetryAt: rs.retryAt, Reason: rs.reason,
				LastFired: maps.Clone(rs.lastFired), NextRun: rs.nextRun, Verify: rs.verify.clone(),
			}
			if rs.active && rs.fired {
				rsnap.Resolve = &Resolve{OnResolve: slices.Clone(r.OnResolve), Labels: maps.Clone(MergeLabels(cs.labelValues, r.Labels))}
			}
			c.Rules = append(c.Rules, rsnap)
		}
		s.Clusters = append(s.Clusters, c)
	}
	return s
}

// Restore loads a snapshot into a fresh engine, before any event. Rules are
// matched by name and decision: one whose edit changed only what it says or
// runs keeps its state; one whose decision changed, or a new one, starts
// afresh, as at startup, but a changed one that was firing still resolves.
// Starting afresh, it takes the cluster's restored state as its baseline,
// as a fresh start takes the first state: a condition already true then
// does not fire, unless fire_on_start. Health set beforehand (SetHealth)
// is part of that baseline. A restored cluster's next state event is
// evaluated as a change, not as a baseline: a cluster that recovered while
// leaderhook was down gets its resolve. A firing a mute window held back
// is held by the windows and zone as configured now. Clusters the engine
// does not know are left out: one removed from the config must not go on
// firing.
func (e *Engine) Restore(s Snapshot) {
	byName := map[string]int{}
	for i, r := range e.rules {
		byName[r.Name] = i
	}
	e.restoreExpected(s.Expected)
	for _, c := range s.Clusters {
		if !e.knows(c.Name) {
			continue
		}
		cs := e.newCluster(c.Name)
		cs.now = c.Now
		st := c.State
		st.Seq = max(st.Seq, c.Seq)
		cs.setState(&st)
		cs.changes = slices.Clone(c.Changes)
		kept := e.restoreRules(cs, c.Rules, byName)
		e.baselineAfresh(cs, kept)
		e.restoreSchedules(cs, s.Timezone != "" && s.Timezone != e.loc.String())
		e.schedule(cs, false)
	}
	for name, seq := range s.SeqFloor {
		e.raiseSeq(name, seq)
	}
}

// restoreSchedules gives each scheduled rule of a restored cluster its next
// run: a new one's times start at the cluster's time, with none missed;
// rezoned (timezone changed), a kept one's next run moves to the new
// zone's time, and one missed meanwhile is still made up (Resume).
func (e *Engine) restoreSchedules(cs *clusterState, rezoned bool) {
	for i, r := range e.rules {
		switch {
		case r.schedule == nil:
		case cs.rules[i].nextRun.IsZero():
			cs.rules[i].nextRun = nextAt(r.schedule, cs.now, e.loc)
			cs.rules[i].newSchedule = true
		case rezoned:
			cs.rules[i].nextRun = nextAt(r.schedule, cs.now, e.loc)
		}
	}
}

// raiseSeq makes the cluster's state number at least seq, so that no later
// state gets a number a script has seen; of a cluster without a state yet,
// the first is numbered past it.
func (e *Engine) raiseSeq(cluster string, seq uint64) {
	if !e.knows(cluster) {
		return
	}
	if cs := e.clusters[cluster]; cs != nil {
		cs.state.Seq = max(cs.state.Seq, seq)
		return
	}
	e.seqFloor = raisedFloor(e.seqFloor, cluster, seq)
}

// RaiseSeq makes the cluster's state number in s at least seq, so that no
// later state gets a number a script has seen; of a cluster s has no
// state of, the first is numbered past it (SeqFloor).
func (s *Snapshot) RaiseSeq(cluster string, seq uint64) {
	if i := slices.IndexFunc(s.Clusters, func(c ClusterSnapshot) bool { return c.Name == cluster }); i >= 0 {
		s.Clusters[i].Seq = max(s.Clusters[i].Seq, seq)
		return
	}
	s.SeqFloor = raisedFloor(s.SeqFloor, cluster, seq)
}

// raisedFloor returns floor with the cluster's floor at least seq.
func raisedFloor(floor map[string]uint64, cluster string, seq uint64) map[string]uint64 {
	if seq > floor[cluster] {
		if floor == nil {
			floor = map[string]uint64{}
		}
		floor[cluster] = seq
	}
	return floor
}

// restoreRules loads the saved rules' states into the cluster and reports,
// by rule, those whose state it kept: the same decision, or a changed one
// whose firing must still resolve.
func (e *Engine) restoreRules(cs *clusterState, saved []RuleSnapshot, byName map[string]int) []bool {
	kept := make([]bool, len(e.rules))
	for _, rsnap := range saved {
		i, ok := byName[rsnap.Rule]
		if !ok {
			continue
		}
		if !rsnap.sameDecision(e.rules[i]) {
			if rsnap.Active && rsnap.Fired && e.carries(cs.name, &rsnap) {
				// Afresh, as at startup, but its firing still resolves.
				cs.rules[i] = ruleState{active: true, startup: true, fired: true, since: rsnap.Since, lastFire: rsnap.LastFire}
				kept[i] = true
			}
			continue
		}
		cs.rules[i] = ruleState{
			active: rsnap.Active, startup: rsnap.Startup, fired: rsnap.Fired, since: rsnap.Since,
			lastFire: rsnap.LastFire, retryAt: rsnap.RetryAt, reason: rsnap.Reason,
			lastFired: maps.Clone(rsnap.LastFired), nextRun: rsnap.NextRun, verify: rsnap.Verify.clone(),
		}
		if rsnap.Reason == ReasonMuted {
			// Held until the end of a mute window as the old config had it:
			// it is due at once, and the windows as they are now (edited,
			// moved, in another zone) hold it again, without a new report.
			cs.rules[i].retryAt = time.Time{}
		}
		kept[i] = true
	}
	return kept
}

// baselineAfresh evaluates, at the cluster's restored time, the rules that
// start afresh (not kept), as Observe does a fresh start's first state:
// one whose condition already holds begins an episode that fires only if
// fire_on_start. Left inactive, it would fire at its next evaluation for a
// condition that held all along.
func (e *Engine) baselineAfresh(cs *clusterState, kept []bool) {
	refreshed := false
	for i, r := range e.rules {
		if kept[i] || r.schedule != nil || !r.appliesTo(cs.name) {
			continue
		}
		if !refreshed {
			cs.refresh(TriggerEvent)
			refreshed = true
		}
		if e.eval(r, cs) {
			rs := &cs.rules[i]
			rs.begin(cs.now)
			rs.startup = !r.FireOnStart
		}
	}
}

// knows reports whether the engine was configured with the cluster; an
// engine given no clusters takes any.
func (e *Engine) knows(cluster string) bool {
	_, ok := e.labels[cluster]
	return ok || len(e.labels) == 0
}

// Retire returns, at now, the resolves of the firings that next (the
// engine of a reloaded config) does not carry (Restore): a rule removed,
// or its cluster (from the config, or from the rule's clusters), or made a
// scheduled rule, while it fired. Without them its incident would stay
// open for good, and an Alertmanager alert be refreshed for ever.
func (e *Engine) Retire(now time.Time, next *Engine, out []Outcome) []Outcome {
	for _, name := range slices.Sorted(maps.Keys(e.clusters)) {
		cs := e.clusters[name]
		for i, r := range e.rules {
			if rs := &cs.rules[i]; rs.active && rs.fired && !next.carries(name, &RuleSnapshot{Rule: r.Name}) {
				o := e.outcome(r, rs, cs, Resolved, "", r.OnResolve)
				o.Time = now
				out = append(out, o)
			}
		}
	}
	return out
}

// carries reports whether Restore carries the snapshot's firing of a rule
// on cluster into e: e has the cluster and the rule, the rule applies to
// the cluster, and it is not a scheduled rule (which has no episodes).
func (e *Engine) carries(cluster string, rsnap *RuleSnapshot) bool {
	if !e.knows(cluster) {
		return false
	}
	r := e.rule(rsnap.Rule)
	return r != nil && r.schedule == nil && r.appliesTo(cluster)
}

// rule returns the rule named name, or nil.
func (e *Engine) rule(name string) *compiledRule {
	for _, r := range e.rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Retired returns, at now, the resolves of the firings in s (restored
// into e at a start) that e does not carry: a rule, or its cluster,
// removed by a restart with a changed config. They go out as a reload
// sends them (Retire), with the on_resolve and labels of the rule that
// fired; without them its incident would stay open for good.
func (e *Engine) Retired(now time.Time, s Snapshot, out []Outcome) []Outcome {
	for _, c := range s.Clusters {
		for _, rsnap := range c.Rules {
			if !rsnap.Active || !rsnap.Fired || e.carries(c.Name, &rsnap) {
				continue
			}
			cs := e.clusters[c.Name]
			if cs == nil { // a cluster the config no longer has
				cs = newClusterState(c.Name, nil, 0, nil)
				cs.now = c.Now
				st := c.State
				cs.setState(&st)
			}
			rs := &ruleState{since: rsnap.Since}
			o := e.outcome(&compiledRule{Rule: Rule{Name: rsnap.Rule}}, rs, cs, Resolved, "", nil)
			o.Time = now
			o.Actions, o.Labels = e.resolveOf(c.Name, &rsnap)
			out = append(out, o)
		}
	}
	return out
}

// resolveOf is how the resolve of a firing in a snapshot goes out: as the
// snapshot says, or for one of an earlier version, which does not say, as
// the rule e has of that name would send it. A rule e does not have is
// then resolved with no action: what it ran is not known.
func (e *Engine) resolveOf(cluster string, rsnap *RuleSnapshot) ([]string, map[string]string) {
	if rsnap.Resolve != nil {
		return rsnap.Resolve.OnResolve, rsnap.Resolve.Labels
	}
	if r := e.rule(rsnap.Rule); r != nil {
		return r.OnResolve, MergeLabels(e.labels[cluster], r.Labels)
	}
	e.log.Warn("a restored firing is resolved without on_resolve: its rule is no longer in the config, "+
		"and its state was saved by an earlier version, which did not record what the rule resolves with",
		"rule", rsnap.Rule, "cluster", cluster)
	return nil, e.labels[cluster]
}

// Resume tells a restored engine that leaderhook starts again at now. What
// time alone would have done while it was down is done once, at now, as
// Alertmanager does after a restart: a firing rule repeats once, and a
// scheduled rule runs once, however many repeat or schedule times it
// missed; a threshold or for: period reached meanwhile, or the end of a
// mute window or cooldown that held a firing back, fires once at now too.
// Its repeats then count from now. Without it, the first Advance would
// send every missed one at once (a page a minute for a day down).
// Conditions are still evaluated at their own instants: an episode begins
// when its threshold was reached.
func (e *Engine) Resume(now time.Time) {
	e.resumed = now
	for _, name := range slices.Sorted(maps.Keys(e.clusters)) {
		cs := e.clusters[name]
		for i, r := range e.rules {
			rs := &cs.rules[i]
			switch {
			case rs.newSchedule:
				// Not in the saved state (new, or its decision changed):
				// it missed nothing, so its times start from now.
				rs.nextRun, rs.newSchedule = nextAt(r.schedule, now, e.loc), false
			case r.schedule != nil && !rs.nextRun.IsZero() && rs.nextRun.Before(now):
				rs.nextRun = now
			case rs.active && rs.fired && !rs.startup && r.Repeat > 0 && rs.lastFire.Add(r.Repeat).Before(now):
				rs.lastFire = now.Add(-r.Repeat)
			}
		}
		e.schedule(cs, false)
	}
}
