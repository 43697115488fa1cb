package detector

import (
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// DefaultSplitBrainAfter is how long more than one leader must be claimed
// before leaderhook announces a split brain, unless split_brain_after says
// otherwise: longer than the lag between two members' reports during an
// ordinary change (a deposed leader's last report, a poll interval), short
// next to the harm two leaders do.
const DefaultSplitBrainAfter = 3 * time.Second

// SetSplitBrainAfter sets how long more than one claimed leader must hold
// before it is announced.
func (v *View) SetSplitBrainAfter(d time.Duration) { v.splitAfter = d }

// splitDue reports whether a split brain is due to be announced: a new
// leader held until then is announced first, so that the split names it.
func (v *View) splitDue() bool {
	return !v.split && !v.splitSince.IsZero() && !v.now.Before(v.splitSince.Add(v.splitAfter))
}

// claims returns the members that claim to lead (they follow themselves),
// among those that answer.
func (v *View) claims() []event.Claim {
	var out []event.Claim
	for _, id := range v.order {
		if v.claimsLead(id) {
			out = append(out, event.Claim{ID: id, Term: v.members[id].term})
		}
	}
	return out
}

// claimsLead reports whether member id answers and follows itself.
func (v *View) claimsLead(id string) bool {
	m := v.members[id]
	return m.follows == id && !m.down && !m.unknown
}

// splitNow reports whether the lead is claimed twice: by two members, or
// by one while a majority follows another. It runs at every report, so it
// counts rather than lists.
func (v *View) splitNow() bool {
	n, first := 0, ""
	for _, id := range v.order {
		if v.claimsLead(id) {
			n, first = n+1, id
		}
	}
	return n > 1 || (n == 1 && v.raw != "" && first != v.raw)
}

// updateSplit announces a split brain once it has held for splitAfter, and
// its end.
func (v *View) updateSplit(out []event.Event) []event.Event {
	if !v.splitNow() {
		v.splitSince = time.Time{}
		if v.split {
			v.split = false
			out = append(out, v.splitEvent(event.SplitBrainResolved, v.claims()))
		}
		return out
	}
	if v.splitSince.IsZero() {
		v.splitSince = v.now
	}
	if !v.split && !v.now.Before(v.splitSince.Add(v.splitAfter)) {
		v.split = true
		out = append(out, v.splitEvent(event.SplitBrain, v.claims()))
	}
	return out
}

func (v *View) splitEvent(typ string, claims []event.Claim) event.Event {
	return event.Event{Source: event.DetectorSource, Time: v.now, Type: typ, Cluster: v.cluster, LeaderID: v.announced,
		Since: v.splitSince, Leaders: claims, Term: v.term(), Members: append([]string(nil), v.order...)}
}

// term is the cluster's raft term: the highest that a member following
// the majority's leader reports (any member's, while there is none); 0 if
// the members do not say.
func (v *View) term() uint64 {
	var t uint64
	for _, id := range v.order {
		m := v.members[id]
		if m.down || m.unknown || (v.raw != "" && m.follows != v.raw) {
			continue
		}
		t = max(t, m.term)
	}
	return t
}

// announceLeader announces the leader a majority follows now, with how
// the lead moved to it. A new leader is announced at once, whether the
// cluster was leaderless or the loss of the old one was still pending
// (then lastLeader already names the leader it lost). But while the old
// leader's last word is undecided, its next report says whether it handed
// the lead over or was deposed without knowing it: members' reports of one
// change arrive in any order, so the announcement waits for that report,
// for changeHold at most, and is dated from the change.
func (v *View) announceLeader(out []event.Event) []event.Event {
	if v.changeAt.IsZero() {
		v.changeAt = v.now
	}
	if v.announced != "" && v.undecided(v.announced) && v.now.Before(v.changeAt.Add(v.changeHold())) && !v.splitDue() {
		return out
	}
	v.pending = false
	v.changeKind = event.ChangeFailover // the cluster was announced leaderless first
	if v.announced != "" {
		v.lastLeader = v.announced
		v.changeKind = v.kindOfChange(v.announced, v.raw)
	}
	v.announced = v.raw
	v.since = v.changeAt
	v.changeAt = time.Time{}
	out = append(out, v.state(false))
	v.changeKind = ""
	return out
}

// changeHold is how long a new leader's announcement waits for the old
// leader's word: no longer than a loss waits to be announced. A split
// brain that comes due first ends the wait (see splitDue).
func (v *View) changeHold() time.Duration { return v.stabilize }

// undecided reports whether the old leader's last word does not say yet
// how the lead moved: it answers and still claims the lead, or it stepped
// down in a term older than the new leader's (raft clears a deposed
// leader's lead before it takes the newer term, so its next word may).
func (v *View) undecided(old string) bool {
	m := v.members[old]
	switch {
	case m == nil || !m.reported || m.down || m.unknown:
		return false
	case m.follows == old:
		return true
	case m.follows == "":
		newTerm := v.term()
		return m.term != 0 && newTerm != 0 && m.term < newTerm
	}
	return false
}

// kindOfChange says how the lead moved from old to next, from what the old
// leader last said: it follows the new one, or it saw the new term and
// stepped down (a transfer); it is down, not answering, or still in an
// older term (a failover); without terms, a leader that still claims the
// lead was deposed without knowing it (a failover), and otherwise the
// reports do not say.
func (v *View) kindOfChange(old, next string) string {
	m := v.members[old]
	switch {
	case m == nil || !m.reported:
		return event.ChangeUnknown
	case m.down || m.unknown:
		return event.ChangeFailover
	case m.follows == next:
		return event.ChangeTransfer
	}
	newTerm := v.term()
	switch {
	case newTerm != 0 && m.term != 0 && m.term >= newTerm && m.follows == "":
		return event.ChangeTransfer
	case newTerm != 0 && m.term != 0:
		return event.ChangeFailover
	case m.follows == old:
		return event.ChangeFailover
	}
	return event.ChangeUnknown
}
