package dispatch

import (
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// Whoever was told that a rule fires is told that it resolved: when a
// firing's delivery to an action fails for good and its on_failure
// actions run in its place, the rule's resolve of that episode to the
// action goes to them too, however the resolve to the action itself ends
// (its own on_failure message when it fails for good). What fallbacks a
// firing ran is remembered in Options.Fallbacks until then, so that a
// restart or a new leader between the two forgets nothing.

// FallbackMemory names the actions.Memory of Options.Fallbacks: no action
// can have the name (names begin with a letter or a digit).
const FallbackMemory = "_on_failure"

// fallbackKey names, in the memory, the fallbacks that ran in place of a
// delivery of the episode of n's rule to action.
func fallbackKey(n *actions.Notification, action string) string {
	return newID(n.Cluster, n.Rule, n.Episode.UTC().Format(time.RFC3339Nano), action)
}

// rememberFallbacks remembers that the fallbacks names run in place of
// del, a firing that failed for good. It comes before they are
// journaled: a crash in between resumes del, which runs them again.
func (d *Dispatcher) rememberFallbacks(del Delivery, names []string) {
	if del.Fallback || del.Notification.Status != actions.StatusFiring || len(names) == 0 {
		return
	}
	key := fallbackKey(&del.Notification, del.Action)
	var ran []string
	d.opts.Fallbacks.Get(key, &ran) // another firing of the episode may have run some
	for _, name := range names {
		if !slices.Contains(ran, name) {
			ran = append(ran, name)
		}
	}
	if err := d.opts.Fallbacks.Put(key, ran, d.opts.Now()); err != nil {
		d.log(del).Error("cannot remember the fallbacks of a firing: its resolve may not reach them", "fallbacks", ran, "err", err)
	}
}

// firingFallbacks returns the fallbacks that ran in place of the firing
// of the episode that del, a resolve, ends.
func (d *Dispatcher) firingFallbacks(del Delivery) []string {
	if del.Fallback || del.Notification.Status != actions.StatusResolved {
		return nil
	}
	var ran []string
	d.opts.Fallbacks.Get(fallbackKey(&del.Notification, del.Action), &ran)
	return ran
}

// resolveFallbacks journals and queues del, a resolve that ended without
// failing for good, for the fallbacks that ran in place of its firing,
// then forgets them. Each has the id the fallback of a failure of del
// would have: the one resolve a fallback gets.
func (d *Dispatcher) resolveFallbacks(del Delivery) {
	names := d.firingFallbacks(del)
	for _, name := range names {
		d.submitFallback(del, name, actions.Failure{})
	}
	d.forgetFallbacks(del, names)
}

// forgetFallbacks forgets the fallbacks of del's firing, once its resolve
// is journaled for them. A crash before resumes del, which sends it again
// with the same ids.
func (d *Dispatcher) forgetFallbacks(del Delivery, names []string) {
	if len(names) == 0 {
		return
	}
	if err := d.opts.Fallbacks.Delete(fallbackKey(&del.Notification, del.Action)); err != nil {
		d.log(del).Warn("cannot forget the fallbacks of a firing", "err", err)
	}
}
