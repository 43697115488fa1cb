package dispatch

import (
	"context"
	"errors"
	"fmt"

	"github.com/leaderhook/leaderhook/actions"
)

// StaleError is why a delivery to an action with CancelOnChange was
// dropped or stopped: the cluster's state moved on from the one it was
// decided for (actions.Notification.Seq).
type StaleError struct {
	Cluster string
	Seq     uint64 // the state the delivery was decided for
	Newest  uint64 // the cluster's state now
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("cluster %s moved on to state %d; this delivery was decided for state %d", e.Cluster, e.Newest, e.Seq)
}

// flight is a delivery a worker has taken: ending its context stops it.
type flight struct {
	cluster string
	action  string
	seq     uint64
	cancel  context.CancelCauseFunc
	firing  string // a firing's fallbackKey; "" for others
	// resolves of its episode dropped while it ran: they end with it,
	// once its fallbacks, if it fails for good, are known.
	resolves []droppedResolve
}

type droppedResolve struct {
	del Delivery
	why *StaleError
}

// stale reports whether a delivery decided for state seq is outdated by
// state newest. A delivery whose state is not known (0: a `fire`, a
// journal written by an earlier version) is never fenced off.
func stale(seq, newest uint64) bool { return seq != 0 && seq < newest }

// StateChanged tells the dispatcher that a cluster's current state is the
// one numbered seq (event.Event.Seq). Deliveries to actions with
// CancelOnChange that were decided for an earlier state end: those
// waiting in their queue are dropped at once; those a worker has taken
// have their context ended with a StaleError, which stops a running
// attempt (a shell action's process group gets SIGTERM, then SIGKILL) or
// a wait for a retry. Either way the delivery is audited, journaled done,
// and not retried; its on_failure actions do not run. An attempt that
// ends by its own result meanwhile keeps it (see fencedBy). A resolve
// dropped while its firing runs ends with that firing, so that the
// fallbacks the firing's failure may start get it.
func (d *Dispatcher) StateChanged(cluster string, seq uint64) {
	d.mu.Lock()
	if seq <= d.newest[cluster] {
		d.mu.Unlock()
		return
	}
	d.newest[cluster] = seq
	var dropped []Delivery
	for key, q := range d.queues {
		if key.cluster == cluster && d.targets[key.action].CancelOnChange {
			dropped = append(dropped, q.remove(func(del Delivery) bool { return stale(del.Notification.Seq, seq) })...)
		}
	}
	var ended []Delivery
	for _, del := range dropped {
		if f := d.firingInFlightLocked(del); f != nil {
			f.resolves = append(f.resolves, droppedResolve{del, &StaleError{Cluster: cluster, Seq: del.Notification.Seq, Newest: seq}})
			continue
		}
		delete(d.active, del.ID)
		ended = append(ended, del)
	}
	for _, f := range d.flights {
		if f.cluster == cluster && d.targets[f.action].CancelOnChange && stale(f.seq, seq) {
			f.cancel(&StaleError{Cluster: cluster, Seq: f.seq, Newest: seq})
		}
	}
	d.mu.Unlock()
	for _, del := range ended {
		d.fenced(del, false, &StaleError{Cluster: cluster, Seq: del.Notification.Seq, Newest: seq})
	}
}

// firingInFlightLocked returns the flight of the firing whose episode
// del, a resolve, ends, or nil. Callers hold mu.
func (d *Dispatcher) firingInFlightLocked(del Delivery) *flight {
	if del.Fallback || del.Notification.Status != actions.StatusResolved {
		return nil
	}
	key := fallbackKey(&del.Notification, del.Action)
	for _, f := range d.flights {
		if f.firing == key {
			return f
		}
	}
	return nil
}

// endDroppedResolves ends the resolves dropped while their firing ran,
// once it has ended: its fallbacks get them. A shutdown that interrupted
// the firing leaves them in the journal with it, to end after it again.
func (d *Dispatcher) endDroppedResolves(resolves []droppedResolve) {
	for _, r := range resolves {
		if d.ctx.Err() != nil {
			d.log(r.del).Info("delivery interrupted by shutdown; it resumes after a restart", "attempts", r.del.Attempts)
			continue
		}
		d.fenced(r.del, false, r.why)
	}
}

// takeOff registers a delivery a worker has taken and returns the context
// of its attempts, and the function that releases it once the delivery
// ends. A delivery already outdated (its state changed between its queue
// and this worker, or before a restart resumed it) gets a context that has
// ended.
func (d *Dispatcher) takeOff(del Delivery) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(d.ctx)
	f := &flight{cluster: del.Notification.Cluster, action: del.Action, seq: del.Notification.Seq, cancel: cancel}
	if !del.Fallback && del.Notification.Status == actions.StatusFiring {
		f.firing = fallbackKey(&del.Notification, del.Action)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if newest := d.newest[f.cluster]; d.targets[f.action].CancelOnChange && stale(f.seq, newest) {
		cancel(&StaleError{Cluster: f.cluster, Seq: f.seq, Newest: newest})
	}
	d.flights[del.ID] = f
	return ctx, cancel
}

// staleCause returns the StaleError that ended ctx, or nil.
func staleCause(ctx context.Context) *StaleError {
	var s *StaleError
	if errors.As(context.Cause(ctx), &s) {
		return s
	}
	return nil
}

// fencedBy returns the StaleError that ended a delivery whose last error
// is err: the one that stopped its attempt (the action reports it, or a
// bare cancellation), or that ended ctx before or between attempts; nil
// when the attempt ended by its own result, even as the state moved on: a
// failover script's own exit 1 is a failure, and its on_failure runs.
func fencedBy(ctx context.Context, err error) *StaleError {
	why := staleCause(ctx)
	if why == nil {
		return nil
	}
	if _, ok := errors.AsType[*StaleError](err); ok || errors.Is(err, context.Canceled) {
		return why
	}
	return nil
}

// fenced ends a delivery that its cluster's state outdated: "cancelled"
// when an attempt was running and was stopped, "dropped" when it waited
// (in its queue, or for a retry).
func (d *Dispatcher) fenced(del Delivery, stopped bool, why *StaleError) {
	kind := "dropped"
	if stopped {
		kind = "cancelled"
	}
	d.audit(del, Record{Kind: kind, Attempt: del.Attempts, Detail: why.Error()})
	d.log(del).Info("delivery "+kind+": the cluster's state moved on", "seq", why.Seq, "newest", why.Newest, "attempts", del.Attempts)
	d.resolveFallbacks(del) // the rule resolved all the same
	d.journalDone(del)
}
