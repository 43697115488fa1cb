package rules

import (
	"maps"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/leaderhook/leaderhook/field"
)

// Outcomes of a verification (verify:).
const (
	// Verified: verify.when held within verify.within of the moment every
	// action of the firing had succeeded.
	Verified = "verified"
	// VerifyFailed: it did not; the outcome's actions are verify.on_failure.
	VerifyFailed = "verify_failed"
)

// ActionEnd is the end of the delivery of a firing (Episode, FiredAt) to
// one of its actions, as the engine is told of it (ActionDone): OK when it
// succeeded, false when it failed for good.
type ActionEnd struct {
	Cluster string    `json:"cluster"`
	Rule    string    `json:"rule"`
	Episode time.Time `json:"episode"`
	FiredAt time.Time `json:"fired_at"`
	Action  string    `json:"action"`
	OK      bool      `json:"ok"`
}

// SameDelivery reports whether e and o end the delivery of one firing to
// one action, whatever their outcomes.
func (e ActionEnd) SameDelivery(o ActionEnd) bool {
	return e.Cluster == o.Cluster && e.Rule == o.Rule && e.Action == o.Action && e.Episode.Equal(o.Episode) && e.FiredAt.Equal(o.FiredAt)
}

// Verification is the verification of a rule's latest firing: first the
// actions whose deliveries have not succeeded yet (Awaiting), then, once
// none is left, the window until which verify.when may come true.
type Verification struct {
	Episode  time.Time `json:"episode"`
	FiredAt  time.Time `json:"fired_at"`
	Awaiting []string  `json:"awaiting,omitempty"`
	Until    time.Time `json:"until,omitzero"` // zero while actions are awaited
}

func (v *Verification) clone() *Verification {
	if v == nil {
		return nil
	}
	c := *v
	c.Awaiting = slices.Clone(v.Awaiting)
	return &c
}

// awaits reports whether v waits for the end of the delivery end.
func (v *Verification) awaits(end ActionEnd) bool {
	return v != nil && v.Until.IsZero() && v.Episode.Equal(end.Episode) && v.FiredAt.Equal(end.FiredAt) && slices.Contains(v.Awaiting, end.Action)
}

// Awaits reports whether a verification waits for the end of the delivery
// end: ActionDone would take it.
func (e *Engine) Awaits(end ActionEnd) bool {
	cs := e.clusters[end.Cluster]
	i := slices.IndexFunc(e.rules, func(r *compiledRule) bool { return r.Name == end.Rule })
	return cs != nil && i >= 0 && cs.rules[i].verify.awaits(end)
}

// Awaited is the delivery ends that verifications wait for, each as a
// success, by cluster name, then rule.
func (e *Engine) Awaited() []ActionEnd {
	var ends []ActionEnd
	for _, name := range slices.Sorted(maps.Keys(e.clusters)) {
		for i, rs := range e.clusters[name].rules {
			v := rs.verify
			if v == nil || !v.Until.IsZero() {
				continue
			}
			for _, action := range v.Awaiting {
				ends = append(ends, ActionEnd{Cluster: name, Rule: e.rules[i].Name, Episode: v.Episode, FiredAt: v.FiredAt, Action: action, OK: true})
			}
		}
	}
	return ends
}

// verifier is a rule's compiled verify.when.
type verifier struct {
	when       *vm.Program
	thresholds []time.Duration // where its comparisons of durations may flip, sorted
	leaderless bool            // reads leaderless_for
	tenure     bool            // reads leader_for
}

// compileVerify checks and compiles verify: its condition like `when`, a
// positive window, and on_failure's actions. A rule with verify needs
// actions to verify.
func (c *compiledRule) compileVerify(path string, errs, warnings *field.List, known Known) {
	v := c.Verify
	if v == nil {
		return
	}
	path += ".verify"
	if len(c.Actions) == 0 {
		errs.Add(path, "needs actions: it checks what the rule's actions did once they succeeded")
	}
	if v.Within <= 0 {
		errs.Add(path+".within", "must be positive: how long verify.when has to come true once the actions succeeded, e.g. 2m")
	}
	if known.Actions != nil {
		checkNames(errs, path+".on_failure", v.OnFailure, known.Actions, "action")
	}
	if v.When == "" {
		errs.Add(path+".when", `is required: what the actions should bring about, e.g. "!leaderless"`)
		return
	}
	prog, a, perrs := compileExpr(v.When, true)
	for _, e := range perrs {
		errs.AddAt(path+".when", e.offset, "%s", e.msg)
	}
	if prog == nil {
		return
	}
	warnIfFailing(warnings, path+".when", prog, a.windows)
	c.verify = &verifier{when: prog, thresholds: a.thresholds, leaderless: a.names["leaderless_for"], tenure: a.names["leader_for"]}
	c.windows = append(c.windows, a.windows...)
}

// await begins the verification of a firing that just went out: it waits
// for its actions' deliveries to succeed (ActionDone). An engine that
// assumes deliveries succeed (replay, rule tests) opens its window at once.
// A verification still in progress gives way to the new firing's.
func (e *Engine) await(r *compiledRule, rs *ruleState, cs *clusterState, out []Outcome) []Outcome {
	if r.verify == nil {
		return out
	}
	if rs.verify != nil {
		e.log.Info("verification replaced by a new firing", "rule", r.Name, "cluster", cs.name, "fired_at", rs.verify.FiredAt)
	}
	awaiting := slices.Clone(r.Actions)
	slices.Sort(awaiting)
	rs.verify = &Verification{Episode: rs.since, FiredAt: cs.now, Awaiting: slices.Compact(awaiting)}
	if !e.AssumeDelivered {
		return out
	}
	rs.verify.Awaiting = nil
	rs.verify.Until = cs.now.Add(r.Verify.Within)
	return e.check(r, rs, cs, out)
}

// ActionDone tells the engine that a delivery of a firing ended at now.
// Once every action of a rule's latest firing has succeeded, its
// verification window opens: verify.when must hold before now + within.
// A delivery that failed for good ends the verification (the action's own
// on_failure reports it). The ends of other deliveries (an earlier
// firing's, a resolve's) change nothing.
func (e *Engine) ActionDone(end ActionEnd, now time.Time, out []Outcome) []Outcome {
	out = e.Advance(now, out)
	cs := e.clusters[end.Cluster]
	i := slices.IndexFunc(e.rules, func(r *compiledRule) bool { return r.Name == end.Rule })
	if cs == nil || i < 0 {
		return out
	}
	r, rs := e.rules[i], &cs.rules[i]
	v := rs.verify
	if !v.awaits(end) {
		return out
	}
	if now.After(cs.now) {
		cs.now = now
	}
	if !end.OK {
		e.log.Info("verification dropped: an action of the firing failed", "rule", r.Name, "cluster", cs.name, "action", end.Action)
		rs.verify = nil
		return out
	}
	v.Awaiting = slices.DeleteFunc(v.Awaiting, func(a string) bool { return a == end.Action })
	if len(v.Awaiting) > 0 {
		return out
	}
	v.Until = cs.now.Add(r.Verify.Within)
	e.log.Info("the rule's actions succeeded: verifying", "rule", r.Name, "cluster", cs.name, "until", v.Until)
	cs.refresh(TriggerTime)
	out = e.check(r, rs, cs, out)
	e.schedule(cs, false)
	return out
}

// checkAll looks at every open verification window of the cluster, at
// each evaluation.
func (e *Engine) checkAll(cs *clusterState, out []Outcome) []Outcome {
	for i, r := range e.rules {
		if rs := &cs.rules[i]; rs.verify != nil {
			out = e.check(r, rs, cs, out)
		}
	}
	return out
}

// check ends an open verification window: verified when verify.when holds
// before the window's end, failed at its end. Call it after cs.refresh.
func (e *Engine) check(r *compiledRule, rs *ruleState, cs *clusterState, out []Outcome) []Outcome {
	v := rs.verify
	if v == nil || v.Until.IsZero() {
		return out
	}
	kind, actions := Verified, []string(nil)
	switch {
	case !cs.now.Before(v.Until):
		kind, actions = VerifyFailed, r.Verify.OnFailure
	case !e.evalVerify(r, cs):
		return out
	}
	rs.verify = nil
	o := e.outcome(r, rs, cs, kind, "", actions)
	o.Episode = v.Episode
	return append(out, o)
}

func (e *Engine) evalVerify(r *compiledRule, cs *clusterState) bool {
	v, err := e.vm.Run(r.verify.when, cs.env)
	if err != nil {
		e.EvalErrors++
		e.log.Warn("verify.when evaluation failed; counted as false", "rule", r.Name, "cluster", cs.name, "err", err)
		return false
	}
	b, _ := v.(bool)
	return b
}

// verifyWake is when an open verification window must next be looked at:
// when a duration verify.when compares leaderless_for or leader_for with
// is reached, or at the window's end.
func (e *Engine) verifyWake(r *compiledRule, rs *ruleState, cs *clusterState) time.Time {
	v := rs.verify
	if v == nil || v.Until.IsZero() {
		return time.Time{}
	}
	next := earliest(time.Time{}, v.Until, cs.now)
	if (r.verify.leaderless && cs.leaderless) || (r.verify.tenure && !cs.leaderless) {
		next = earliest(next, thresholdWake(cs, r.verify.thresholds), cs.now)
	}
	return next
}

// thresholdWake is when a comparison of leaderless_for or leader_for with
// one of the sorted thresholds next flips: at since+d (>=) or one
// nanosecond later (>).
func thresholdWake(cs *clusterState, thresholds []time.Duration) time.Time {
	held := cs.now.Sub(cs.since)
	for _, d := range thresholds {
		if d > held {
			return cs.since.Add(d)
		}
		if d == held {
			return cs.since.Add(d + 1)
		}
	}
	return time.Time{}
}
