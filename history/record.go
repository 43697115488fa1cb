// Package history keeps what the web page's timeline shows: the clusters'
// state changes, the rules' outcomes and the deliveries' attempts, as JSON
// lines in segment files under one directory, bounded by age and size.
// Writes go through a goroutine of their own, so that neither decisions
// nor deliveries wait for the disk.
package history

import (
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// State is a cluster state change, as the detector announced it.
type State struct {
	Time             time.Time `json:"time"`
	Cluster          string    `json:"cluster"`
	Type             string    `json:"type"` // state.has_leader or state.is_leaderless
	LeaderID         string    `json:"leader_id,omitempty"`
	PreviousLeaderID string    `json:"previous_leader_id,omitempty"`
	Since            time.Time `json:"since,omitzero"` // for a loss, its true start
	Baseline         bool      `json:"baseline,omitempty"`
}

// leadership reports whether st is a change of leader, what the timeline
// draws. A split brain and its end are announced as states too, but taken
// as such they would be drawn as outages while the cluster has its leader.
func (st *State) leadership() bool { return st.Type == event.HasLeader || st.Type == event.Leaderless }

// Split is the start or the end of a split brain, as the detector
// announced it. It is kept apart from the states: the cluster keeps its
// leader meanwhile, and the timeline draws it over the leader's tenure.
type Split struct {
	Time    time.Time `json:"time"`
	Cluster string    `json:"cluster"`
	Type    string    `json:"type"`              // state.split_brain or state.split_brain_resolved
	Leaders []string  `json:"leaders,omitempty"` // of a start: the members that claim the lead
	Since   time.Time `json:"since,omitzero"`    // of a start: its true start, split_brain_after before
}

// open reports whether sp starts a split brain, rather than ending one.
func (sp *Split) open() bool { return sp.Type == event.SplitBrain }

// Outcome is a rule's decision: fired, resolved or suppressed.
type Outcome struct {
	Time             time.Time `json:"time"`
	Cluster          string    `json:"cluster"`
	Rule             string    `json:"rule"`
	Outcome          string    `json:"outcome"`
	Reason           string    `json:"reason,omitempty"`
	Trigger          string    `json:"trigger,omitempty"`
	LeaderID         string    `json:"leader_id,omitempty"`
	PreviousLeaderID string    `json:"previous_leader_id,omitempty"`
	LeaderlessForMS  int64     `json:"leaderless_for_ms,omitempty"`
	Actions          []string  `json:"actions"`
	// DeliveryIDs are the ids of the deliveries to Actions, in order: what
	// links an outcome to its deliveries' records.
	DeliveryIDs []string `json:"delivery_ids"`
}

// Delivery is one record of a delivery, as the dispatcher audits it:
// queued, an attempt, delivered, failed, or dropped or cancelled. Errors are redacted as in the
// audit log; the output of a program and the answer of a receiver are not
// kept.
type Delivery struct {
	Time       time.Time
	ID         string
	Cluster    string
	Rule       string
	Status     string // firing or resolved
	Action     string
	Kind       string // queued, attempt, delivered, failed, dropped, cancelled
	Attempt    int
	Outcome    string // of an attempt: ok, retry, failed
	Error      string
	HTTPStatus int
	ExitCode   *int
	Fallback   bool
}

// Entry is one line of history: exactly one of its parts is set.
type Entry struct {
	Seq int64 `json:"seq"`
	// Checkpoint marks a copy of a cluster's last state at the start of a
	// segment, so that a segment read alone knows every cluster's state.
	Checkpoint bool     `json:"checkpoint,omitempty"`
	State      *State   `json:"state,omitempty"`
	Split      *Split   `json:"split,omitempty"`
	Outcome    *Outcome `json:"outcome,omitempty"`
	// Delivery is a delivery that ended: one line sums its records up.
	Delivery *Summary `json:"delivery,omitempty"`
}

// Time is when the entry happened.
func (e Entry) Time() time.Time {
	switch {
	case e.State != nil:
		return e.State.Time
	case e.Split != nil:
		return e.Split.Time
	case e.Outcome != nil:
		return e.Outcome.Time
	case e.Delivery != nil:
		return e.Delivery.Last
	}
	return time.Time{}
}

// Cluster is the cluster the entry is about.
func (e Entry) Cluster() string {
	switch {
	case e.State != nil:
		return e.State.Cluster
	case e.Split != nil:
		return e.Split.Cluster
	case e.Outcome != nil:
		return e.Outcome.Cluster
	case e.Delivery != nil:
		return e.Delivery.Cluster
	}
	return ""
}

// StateOf is the entry of a state event: a split brain's start or end
// is a Split.
func StateOf(ev event.Event) Entry {
	if ev.Type == event.SplitBrain || ev.Type == event.SplitBrainResolved {
		sp := &Split{Time: ev.Time, Cluster: ev.Cluster, Type: ev.Type}
		if ev.Type == event.SplitBrain {
			sp.Since = ev.Since
			for _, c := range ev.Leaders {
				sp.Leaders = append(sp.Leaders, c.ID)
			}
		}
		return Entry{Split: sp}
	}
	return Entry{State: &State{Time: ev.Time, Cluster: ev.Cluster, Type: ev.Type, LeaderID: ev.LeaderID,
		PreviousLeaderID: ev.PreviousLeaderID, Since: ev.Since, Baseline: ev.Baseline}}
}

// OutcomeOf is the entry of a rule outcome, with the ids its deliveries
// get from the dispatcher.
func OutcomeOf(o rules.Outcome) Entry {
	out := &Outcome{Time: o.Time, Cluster: o.Cluster, Rule: o.Rule, Outcome: o.Kind, Reason: o.Reason, Trigger: o.Trigger,
		LeaderID: o.LeaderID, PreviousLeaderID: o.PreviousLeaderID, LeaderlessForMS: o.LeaderlessFor.Milliseconds(),
		Actions: append([]string{}, o.Actions...), DeliveryIDs: []string{}}
	if o.Kind != rules.Suppressed {
		n := pipeline.Notification(o, false)
		for _, a := range o.Actions {
			out.DeliveryIDs = append(out.DeliveryIDs, dispatch.DeliveryID(&n, a))
		}
	}
	return Entry{Outcome: out}
}

// DeliveryOf is the record of an audit record.
func DeliveryOf(r dispatch.Record) *Delivery {
	return &Delivery{Time: r.Time, ID: r.DeliveryID, Cluster: r.Cluster, Rule: r.Rule, Status: r.Status, Action: r.Action,
		Kind: r.Kind, Attempt: r.Attempt, Outcome: r.Outcome, Error: r.Error, HTTPStatus: r.HTTPStatus, ExitCode: r.ExitCode,
		Fallback: r.Fallback}
}
