package pipeline

import (
	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Notification turns an engine outcome into what actions receive. The
// delivery id is set by the dispatcher, one per action, from the decision.
func Notification(o rules.Outcome, dryRun bool) actions.Notification {
	status := actions.StatusFiring
	switch o.Kind {
	case rules.Resolved:
		status = actions.StatusResolved
	case rules.VerifyFailed:
		status = actions.StatusVerifyFailed
	}
	n := actions.Notification{
		Rule: o.Rule, Status: status, Cluster: o.Cluster, Labels: o.Labels, FiredAt: o.Time, Episode: o.Episode,
		EventType: o.State.Type, Event: o.Event, LeaderID: o.LeaderID, PreviousLeaderID: o.PreviousLeaderID,
		Leaderless: o.Leaderless, LeaderlessFor: o.LeaderlessFor, Seq: o.State.Seq, DryRun: dryRun,
		MembersUp: o.Health.MembersUp, MembersTotal: o.Health.MembersTotal, QuorumMargin: o.Health.QuorumMargin(),
		Unreachable: o.Health.Unreachable, WatcherIsolated: o.Health.WatcherIsolated,
		ChangeKind: o.State.ChangeKind, Leaders: o.Health.LeaderIDs(), SplitBrain: o.Health.SplitBrain, Term: o.Health.Term,
		StateSince: o.State.Since, LastOutage: o.LastOutage, HeldBy: o.HeldBy,
	}
	if n.Event == nil {
		n.Event = o.State.Fields()
	}
	if status == actions.StatusResolved && !o.Episode.IsZero() && o.Time.After(o.Episode) {
		n.Lasted = o.Time.Sub(o.Episode)
	}
	return n
}

// Submitter takes notifications for actions; the dispatcher is one.
type Submitter interface {
	Submit(n actions.Notification, actionNames []string) error
}

// StateFollower is a Submitter told of each new state of a cluster: the
// dispatcher, which fences off deliveries decided for an earlier one.
type StateFollower interface {
	StateChanged(cluster string, seq uint64)
}

// Dispatching is a Sink that hands every firing and resolve to a
// Submitter, and passes everything on to Next (a timeline, say).
type Dispatching struct {
	Next   Sink
	To     Submitter
	DryRun bool
	// OnError receives what went wrong submitting a notification.
	OnError func(error)
}

// State tells the Submitter of a state change, if it follows them, before
// the outcomes the change causes are submitted; then passes it on.
func (d *Dispatching) State(ev event.Event) {
	if f, ok := d.To.(StateFollower); ok {
		f.StateChanged(ev.Cluster, ev.Seq)
	}
	d.Next.State(ev)
}

// Outcome submits firings, resolves and failed verifications, then passes
// the outcome on.
func (d *Dispatching) Outcome(o rules.Outcome) {
	d.Next.Outcome(o)
	if o.Kind == rules.Suppressed || len(o.Actions) == 0 {
		return
	}
	if err := d.To.Submit(Notification(o, d.DryRun), o.Actions); err != nil && d.OnError != nil {
		d.OnError(err)
	}
}
