// Package report computes availability figures of clusters from the
// detector's state events (state.has_leader, state.is_leaderless): time
// without a leader, outages, leader changes by kind, election times and
// flapping, per period. It reads events and does arithmetic; replaying
// recordings into state events is the caller's business.
package report

import (
	"sort"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// Kinds of leader change.
const (
	KindFailover = "failover" // the old leader was lost, another was elected
	KindTransfer = "transfer" // the leader handed over without a loss
	KindUnknown  = "unknown"  // the state event does not say
)

// Loss is a time a cluster had no leader, as the detector announced it.
type Loss struct {
	Start time.Time // the loss's true start (the state event's Since)
	End   time.Time // when a leader was announced; zero if none was
	// KnownStart is false for a cluster already without a leader when
	// watching began (a baseline): its loss began earlier than Start.
	KnownStart bool
}

// Change is a new leader replacing another.
type Change struct {
	Time     time.Time
	From, To string
	Kind     string
}

// History is what a cluster's state events say, in time order.
type History struct {
	Cluster string
	// Watched is when the cluster's state became known: its first
	// state's true start. Before, leaderhook did not watch it (it was not
	// in the config yet) or had not heard enough to tell.
	Watched time.Time
	Losses  []Loss
	Changes []Change
}

// Histories sorts the detector's state events by cluster, in the order
// given (time order); other events are ignored. Clusters come sorted by
// name.
func Histories(states []event.Event) []History {
	byName := map[string]*History{}
	open := map[string]bool{} // the cluster's last loss has no end yet
	for _, ev := range states {
		if !ev.IsState() {
			continue
		}
		h := byName[ev.Cluster]
		if h == nil {
			h = &History{Cluster: ev.Cluster, Watched: ev.Time}
			if !ev.Since.IsZero() && ev.Since.Before(ev.Time) {
				h.Watched = ev.Since
			}
			byName[ev.Cluster] = h
		}
		open[ev.Cluster] = h.add(ev, open[ev.Cluster])
	}
	out := make([]History, 0, len(byName))
	for _, h := range byName {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cluster < out[j].Cluster })
	return out
}

// add takes one state event; open says whether the last loss is still
// going on, and add returns whether it is afterwards.
func (h *History) add(ev event.Event, open bool) bool {
	at := ev.Since
	if at.IsZero() {
		at = ev.Time
	}
	switch ev.Type {
	case event.Leaderless:
		if !open { // a second "leaderless" in a row goes on the same loss
			h.Losses = append(h.Losses, Loss{Start: at, KnownStart: !ev.Baseline})
		}
		return true
	case event.HasLeader:
		if open {
			h.Losses[len(h.Losses)-1].End = at
		}
		// As the rule engine counts them (leader_changes): the same
		// leader back after a loss is no change.
		if !ev.Baseline && ev.PreviousLeaderID != "" && ev.LeaderID != ev.PreviousLeaderID {
			h.Changes = append(h.Changes, Change{Time: at, From: ev.PreviousLeaderID, To: ev.LeaderID, Kind: changeKind(ev)})
		}
		return false
	}
	return open // another kind of state event says nothing of the leader
}

// changeKind says how a change came about, as the detector judged it.
func changeKind(ev event.Event) string {
	if ev.ChangeKind != "" {
		return ev.ChangeKind
	}
	return KindUnknown
}
