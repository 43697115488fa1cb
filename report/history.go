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
	// EndUnseen: End is when watching stopped (leaderhook went down), not
	// the announcement of a leader.
	EndUnseen bool
}

// Change is a new leader replacing another.
type Change struct {
	Time     time.Time
	From, To string
	Kind     string
}

// Span is a stretch of time, from Start included to End excluded.
type Span struct{ Start, End time.Time }

// History is what a cluster's state events say, in time order.
type History struct {
	Cluster string
	// Watched is when the cluster's state became known: its first
	// state's true start. Before, leaderhook did not watch it (it was not
	// in the config yet) or had not heard enough to tell.
	Watched time.Time
	Losses  []Loss
	Changes []Change
	// Unwatched are the times after Watched that leaderhook was down:
	// from its stop (or its last line before a crash) to the cluster's
	// first state after the next start; End is zero if none came.
	Unwatched []Span
}

// Histories sorts the detector's state events by cluster, in the order
// given (time order); other events are ignored. down are the times
// leaderhook did not run, in time order: from its stop (or its last line
// before a crash) to its next start. Clusters come sorted by name.
func Histories(states []event.Event, down []Span) []History {
	byName := map[string]*tracked{}
	var resume time.Time // the end of the last time down applied
	next := 0            // the first of down not applied yet
	stop := func() {
		for _, c := range byName {
			c.stopped(down[next])
		}
		resume = down[next].End
		next++
	}
	for _, ev := range states {
		if !ev.IsState() {
			continue
		}
		for next < len(down) && !down[next].End.After(ev.Time) { // a restart's states are dated at its start
			stop()
		}
		c := byName[ev.Cluster]
		if c == nil {
			c = &tracked{h: &History{Cluster: ev.Cluster}, resume: resume}
			byName[ev.Cluster] = c
		}
		c.add(ev)
	}
	for next < len(down) {
		stop()
	}
	out := make([]History, 0, len(byName))
	for _, c := range byName {
		out = append(out, *c.h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Cluster < out[j].Cluster })
	return out
}

// tracked is a history being made.
type tracked struct {
	h     *History
	known bool // a state came: Watched is set
	open  bool // the last loss has no end yet
	down  bool // not watched since the last of h.Unwatched began
	// resume is when watching began again after the last time down:
	// nothing the states say of before it was watched.
	resume time.Time
}

// stopped takes a time leaderhook was down: a loss going on is cut where
// watching stopped, and nothing is watched until the cluster's next state.
func (c *tracked) stopped(d Span) {
	c.resume = d.End
	if !c.known || c.down {
		return // before it was first watched, or still not again
	}
	if c.open {
		l := &c.h.Losses[len(c.h.Losses)-1]
		l.End, l.EndUnseen = d.Start, true
		c.open = false
	}
	c.h.Unwatched = append(c.h.Unwatched, Span{Start: d.Start})
	c.down = true
}

// add takes one state event. Its true start is not taken from before the
// last restart: what happened then was not watched. A loss said to begin
// earlier (the restart's state) counts from the restart, as one whose
// true start is unknown.
func (c *tracked) add(ev event.Event) {
	at := ev.Since
	if at.IsZero() {
		at = ev.Time
	}
	if at.Before(c.resume) {
		at = c.resume
		ev.Baseline = ev.Baseline || ev.Type == event.Leaderless
	}
	ev.Since = at
	if !c.known {
		c.h.Watched, c.known = ev.Time, true
		if at.Before(ev.Time) {
			c.h.Watched = at
		}
	}
	if c.down {
		c.h.Unwatched[len(c.h.Unwatched)-1].End = at
		c.down = false
	}
	c.open = c.h.add(ev, c.open)
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
