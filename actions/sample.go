package actions

import (
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// SampleSpec says what a sample notification is of.
type SampleSpec struct {
	Status  string // StatusFiring, StatusResolved or StatusVerifyFailed
	Rule    string
	Cluster string
	Labels  map[string]string // the cluster's with the rule's over them
	// Members are the cluster's member ids, as the daemon orders them
	// (sorted); made-up ones when the config does not fix them.
	Members []string
	Now     time.Time
	// Episode keys the rule's episode (dedup keys); Now when zero. It is
	// not when the sample's firing began: that is the loss, SampleOutage
	// before a resolve.
	Episode time.Time
}

// SampleOutage is how long the sample's cluster has been without a leader.
const SampleOutage = 42 * time.Second

// sampleMembers stand in for a cluster whose members are learnt from its
// events.
var sampleMembers = []string{"sample-leader", "sample-leader-2", "sample-member-3"}

// Sample is the notification the daemon sends for a rule on a leader
// loss: the first member, which led, is down; a firing (or a failed
// verification) comes while no member leads, a resolve once the second
// member is elected. Its Event is the detector's state event, as a real
// notification carries it. Templates are checked at load with one, and
// `leaderhook fire` sends one, so that both see what a real one holds.
func Sample(s SampleSpec) Notification {
	members := s.Members
	if len(members) == 0 {
		members = sampleMembers
	}
	prev, next := members[0], members[min(1, len(members)-1)]
	episode := s.Episode
	if episode.IsZero() {
		episode = s.Now
	}
	st := event.Event{Source: event.DetectorSource, Time: s.Now, Type: event.Leaderless, Cluster: s.Cluster,
		PreviousLeaderID: prev, Since: s.Now.Add(-SampleOutage), Members: members}
	h := event.Health{MembersTotal: len(members), Unreachable: []string{prev}}
	if s.Status == StatusResolved {
		st.Type, st.LeaderID, st.Since = event.HasLeader, next, s.Now
		h.Leaders = []event.Claim{{ID: next}}
		if next != prev {
			st.ChangeKind = event.ChangeFailover
		} else {
			h.Unreachable = nil // the only member is back
		}
	}
	h.MembersUp = len(members) - len(h.Unreachable)
	n := Notification{Rule: s.Rule, Status: s.Status, Cluster: s.Cluster, Labels: s.Labels, FiredAt: s.Now, Episode: episode,
		EventType: st.Type, Event: st.Fields(), LeaderID: st.LeaderID, PreviousLeaderID: prev,
		Leaderless: st.Type == event.Leaderless, StateSince: st.Since, ChangeKind: st.ChangeKind,
		MembersUp: h.MembersUp, MembersTotal: h.MembersTotal, QuorumMargin: h.QuorumMargin(), Unreachable: h.Unreachable,
		Leaders: h.LeaderIDs(), SplitBrain: h.SplitBrain, Term: h.Term, WatcherIsolated: h.WatcherIsolated}
	if n.Leaderless {
		n.LeaderlessFor = SampleOutage
	} else {
		// A rule on the loss fired as the leader went down.
		n.LastOutage, n.Lasted = SampleOutage, SampleOutage
	}
	return n
}
