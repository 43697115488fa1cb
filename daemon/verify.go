package daemon

import (
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/ha"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// delivered is the dispatcher's OnDone on a daemon alone: the end of a
// delivery that a verification waits for goes to the pipeline, as an
// input dated now, recorded first like the others. One that ends while
// the decisions do not run (the drain at a stop, or before they start)
// is applied all the same: the journal has ended it, so that lost here
// its verification would await it for good after a restart. Run saves the
// state again after the drain.
func (d *Daemon) delivered(del dispatch.Delivery, ok bool) {
	end, counts := d.ended(del, ok)
	if !counts {
		return
	}
	at := d.opts.Clock.Now().Round(0)
	apply := func() {
		d.recorder.delivered(end, at)
		d.driver.ActionDone(end, at)
	}
	if d.call(apply) != nil {
		d.driver.Do(apply)
	}
}

// takeLostEnds opens, at now, the verifications that await a delivery
// the journal no longer holds: a kill -9 came after the journal ended it,
// before the end was recorded or saved. Whether it succeeded is lost; the
// window opens as if it had, so that verify.when still decides and
// verify_failed goes out if the actions did not bring it about. Call it
// after the recorded ends are taken (startRecorder), which know the
// outcome.
func (d *Daemon) takeLostEnds(now time.Time) {
	if d.disp == nil {
		return
	}
	var pending []rules.ActionEnd
	for _, del := range d.resume {
		if end, ok := pipeline.Ended(del, true); ok {
			pending = append(pending, end)
		}
	}
	d.driver.Do(func() {
		for _, end := range d.driver.Awaited() {
			if slices.ContainsFunc(pending, end.SameDelivery) {
				continue
			}
			d.log.Warn("a delivery's end was lost at the last stop: its rule's verification window opens now",
				"rule", end.Rule, "cluster", end.Cluster, "action", end.Action)
			d.recorder.delivered(end, now)
			d.driver.ActionDone(end, now)
		}
	})
}

// ended is the engine's input for the end of a delivery, if a rule's
// verification may wait for it.
func (d *Daemon) ended(del dispatch.Delivery, ok bool) (rules.ActionEnd, bool) {
	end, counts := pipeline.Ended(del, ok)
	return end, counts && verifies(d.config(), end.Rule)
}

// verifies reports whether the rule has verify:.
func verifies(cfg *config.Config, rule string) bool {
	for _, r := range cfg.Rules {
		if r.Name == rule {
			return r.Verify != nil
		}
	}
	return false
}

// delivered is the dispatcher's OnDone in a group: the end of a delivery
// that a verification waits for is a Done command with End, dated by
// this node, so that every node's engine takes it at the same time.
func (g *group) delivered(del dispatch.Delivery, ok bool) {
	end, counts := g.d.ended(del, ok)
	if !counts {
		return
	}
	c := ha.Command{Kind: ha.Done, ID: del.ID, Time: g.d.opts.Clock.Now().Round(0), End: &end}
	if err := g.decide(c); err != nil {
		g.log.Warn("the end of a delivery could not reach the group: its rule is not verified",
			"rule", end.Rule, "cluster", end.Cluster, "action", end.Action, "err", err)
	}
}

// applyEnd applies a Done command's End, if any.
func (g *group) applyEnd(c ha.Command) {
	if c.End == nil {
		return
	}
	g.d.driver.Do(func() { g.d.driver.ActionDone(*c.End, c.Time) })
}
