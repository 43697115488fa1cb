package pipeline

import (
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/rules"
)

// ActionDone tells the engine, as an input like an event, that a delivery
// of a firing ended at `at` (rules.Engine.ActionDone): time first advances
// to at (a time behind the driver's clock is taken as now), then the
// engine counts the delivery; once every action of the firing succeeded,
// its verification window opens.
func (d *Driver) ActionDone(end rules.ActionEnd, at time.Time) {
	if at.Before(d.now) {
		at = d.now
	}
	d.AdvanceTo(at)
	for _, o := range d.engine.ActionDone(end, d.now, nil) {
		d.sink.Outcome(o)
	}
	d.changed()
}

// Awaits reports whether a rule's verification waits for the end of the
// delivery end.
func (d *Driver) Awaits(end rules.ActionEnd) bool { return d.engine.Awaits(end) }

// Awaited is the delivery ends that verifications wait for
// (rules.Engine.Awaited).
func (d *Driver) Awaited() []rules.ActionEnd { return d.engine.Awaited() }

// AssumeDelivered makes every action of a firing count as delivered at the
// firing's instant (rules.Engine.AssumeDelivered), where nothing is
// delivered on the driver's clock: replay and rule tests. Verifications
// then run from the firing on. Call it before the first event.
func (d *Driver) AssumeDelivered() { d.engine.AssumeDelivered = true }

// Ended is the engine's input for the end of a delivery that a
// verification may wait for: one of a firing's actions (not a fallback,
// not a resolve's nor a verify_failed's action).
func Ended(del dispatch.Delivery, ok bool) (rules.ActionEnd, bool) {
	n := &del.Notification
	if del.Fallback || n.Status != actions.StatusFiring {
		return rules.ActionEnd{}, false
	}
	return rules.ActionEnd{Cluster: n.Cluster, Rule: n.Rule, Episode: n.Episode, FiredAt: n.FiredAt, Action: del.Action, OK: ok}, true
}
