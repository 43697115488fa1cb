package detector

import "time"

// strayAfter is how long a learned member no other member names may stay
// silent, while the others follow a leader, before it is forgotten. A
// sender's stray event_src_id (a test, a forwarder's wrong id) would
// otherwise count in the quorum for ever: one more member that never
// votes, so that the next failover could look like a lost majority. Real
// members are named by their peers, or follow the leader, or say so when
// anything changes; long enough not to forget one that lags.
const strayAfter = 10 * time.Minute

// stray reports whether m is a learned member that may be forgotten: it
// reported, no other member ever named it, it is presumed up (a member
// down is news, not noise), and it does not follow the leader a majority
// follows, so that forgetting it leaves that majority standing.
func (v *View) stray(m *member) bool {
	return m.reported && !m.named && !m.down && !m.unknown && m.follows != v.raw
}

// learning reports whether the membership is learned from the events and
// the view can judge it: a leader has a majority and leaderhook reaches
// the members.
func (v *View) learning() bool {
	return !v.fixed && !v.hasIndex && v.raw != "" && !v.isolated
}

// strayDue returns when the next stray is due to be forgotten.
func (v *View) strayDue() (time.Time, bool) {
	var at time.Time
	if !v.learning() {
		return at, false
	}
	for _, m := range v.members {
		if due := m.last.Add(strayAfter); v.stray(m) && (at.IsZero() || due.Before(at)) {
			at = due
		}
	}
	return at, !at.IsZero()
}

// forgetStrays forgets the strays silent for strayAfter by now, and
// reports whether it forgot any. One that reports again is learned again.
func (v *View) forgetStrays() bool {
	if !v.learning() {
		return false
	}
	forgot := false
	for id, m := range v.members {
		if v.stray(m) && !v.now.Before(m.last.Add(strayAfter)) {
			delete(v.members, id)
			forgot = true
		}
	}
	if forgot {
		v.resort()
	}
	return forgot
}
