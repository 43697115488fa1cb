package rules

import "time"

// TriggerExpect: a window of expected changes opened or ended (the
// `trigger` of that evaluation). Its natural end is a time trigger.
const TriggerExpect = "expect"

// Expectation is a window of expected changes of one cluster (`leaderhook
// expect`): from Since until Until, `expected` is true. Its end is an
// absolute time, so that the engine stays a function of its inputs.
type Expectation struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason,omitempty"`
}

// Open reports whether the window is open at t: Since and Until are the
// window's bounds as [Since, Until).
func (x Expectation) Open(t time.Time) bool {
	return !x.Until.IsZero() && !t.Before(x.Since) && t.Before(x.Until)
}

// Expect opens a window of expected changes for a cluster at now, or ends
// the open one when x.Until is not after now, and evaluates the cluster's
// rules on it (trigger "expect"). A new window replaces the open one. A
// cluster not seen yet takes the window with its first state event.
func (e *Engine) Expect(cluster string, x Expectation, now time.Time, out []Outcome) []Outcome {
	out = e.Advance(now, out)
	if x.Until.After(now) {
		if x.Since.IsZero() || x.Since.After(now) {
			x.Since = now
		}
		e.expected[cluster] = x
	} else {
		delete(e.expected, cluster)
		x = Expectation{}
	}
	cs := e.clusters[cluster]
	if cs == nil {
		return out
	}
	if now.After(cs.now) {
		cs.now = now
	}
	cs.expect = x
	out = e.evaluate(cs, TriggerExpect, false, false, out)
	e.schedule(cs, false)
	return out
}

// Expected returns the window of a cluster open at now.
func (e *Engine) Expected(cluster string, now time.Time) (Expectation, bool) {
	x, ok := e.expected[cluster]
	return x, ok && x.Open(now)
}

// refreshExpect sets `expected` and `expected_reason` for an evaluation at
// cs.now: the window's end needs no event to take effect.
func (cs *clusterState) refreshExpect() {
	open := cs.expect.Open(cs.now)
	cs.env["expected"] = open
	cs.env["expected_reason"] = ""
	if open {
		cs.env["expected_reason"] = cs.expect.Reason
	}
}

// expectWake is when the rules that read the window must next be
// evaluated: when it ends.
func (cs *clusterState) expectWake() time.Time {
	if cs.expect.Until.After(cs.now) {
		return cs.expect.Until
	}
	return time.Time{}
}

// pruneExpect forgets a window that has ended by the cluster's clock.
func (e *Engine) pruneExpect(cs *clusterState) {
	if !cs.expect.Until.IsZero() && !cs.now.Before(cs.expect.Until) {
		cs.expect = Expectation{}
		delete(e.expected, cs.name)
	}
}

// snapshotExpected is the windows still open, by each cluster's clock.
func (e *Engine) snapshotExpected() map[string]Expectation {
	var out map[string]Expectation
	for name, x := range e.expected {
		if cs := e.clusters[name]; cs != nil && !cs.now.Before(x.Until) {
			continue
		}
		if out == nil {
			out = map[string]Expectation{}
		}
		out[name] = x
	}
	return out
}

// restoreExpected loads the windows of a snapshot, for the clusters the
// engine knows (all, when it was given none).
func (e *Engine) restoreExpected(xs map[string]Expectation) {
	for name, x := range xs {
		if e.knows(name) {
			e.expected[name] = x
		}
	}
}
