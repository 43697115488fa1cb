// Package detector turns members' reports about a cluster's leader into
// clean cluster state events: state.has_leader and state.is_leaderless,
// emitted on transitions only.
package detector

import (
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// View aggregates the reports of a cluster's members into one view of the
// cluster: does it have a leader that a majority of its members follow?
//
// Each member's last report is kept: the leader it follows ("" for none) and
// whether it is presumed down. The rules, in the order they matter:
//
//   - state.has_leader from M: M follows leaderId. leadership.gained: M
//     follows itself. state.is_leaderless, leadership.lost: M follows nobody.
//   - Any event from M shows M is alive; peer.connected P shows P is alive.
//   - peer.disconnected P from a member M: P is presumed down and its last
//     report is set aside (a killed member's "I am the leader" goes stale, it
//     does not stay true); if M followed P, M has lost its leader. A link
//     cut between two live members looks the same at first, so what was set
//     aside comes back when a link is up again: P's report at P's own
//     peer.connected (a restarted member's first word is its startup
//     report), M's vote for P at M's peer.connected P, unless P said since
//     that it does not lead, and P's vote for M there while M still leads.
//   - member.down M (a poll source found nothing listening at M's address):
//     M is presumed down. member.unknown M (no answer for the source's grace
//     period): M does not vote until it answers again.
//   - The cluster has leader L when L is not presumed down and more than half
//     of the members follow L. Members are the fixed list given in the
//     config, or else every member seen (reporters and peers), narrowed to the
//     newest members.changed list once one arrives; a learned stray is
//     forgotten (see strayAfter), and learning stops at MaxLearnedMembers.
//
// A follower notices a dead leader within milliseconds (peer.disconnected)
// but reports state.is_leaderless only after the election timeout, seconds
// later; the rules above date the loss from the first notice. A restarting
// member's brief "leaderless" is one vote out of many and changes nothing.
//
// Stabilization: a loss is announced only after it held for the stabilize
// period, dated from its true start (Since); a loss that ends sooner with the
// same leader is invisible, and A → gap → B is announced as a change from A
// to B. A leader is announced as soon as a majority follows it, unless the
// old leader still claims the lead (see announceLeader). But when no
// majority of the members can be up (presumed down or not answering), no
// election can be in progress: the loss is announced at once.
//
// Isolation: when leaderhook hears from none of the members, or only from a
// minority while what the others last said named a leader, the fault may be
// its own network: nothing is announced until they answer again, and
// Health says so (WatcherIsolated).
//
// Baseline: the first state after start is announced with Baseline set, as a
// starting point rather than a change. It is taken as soon as a leader has a
// majority, or once the stabilize period has passed since the first report
// (members report one by one, so the first report alone says little; a
// PollSource sends its first round's reports together).
//
// View is not safe for concurrent use; timestamps must not go backwards.
type View struct {
	cluster   string
	stabilize time.Duration
	fixed     bool // membership from config

	members      map[string]*member
	order        []string // membership, sorted
	membersIndex uint64   // index of the members.changed list in use
	hasIndex     bool

	started    bool
	firstSeen  time.Time
	baselined  bool
	raw        string // leader a majority follows now, "" for none
	announced  string // announced leader, "" when leaderless
	lastLeader string // the leader before the current state (previousLeaderId)
	since      time.Time
	lossStart  time.Time // when raw went from a leader to none, pending announcement
	lossFrom   string
	pending    bool // a loss awaits announcement at lossStart+stabilize
	isolated   bool // leaderhook reaches too few members to judge
	now        time.Time

	splitAfter time.Duration // how long a split must hold to be announced
	splitSince time.Time     // when more than one leader began to be claimed; zero if not
	split      bool          // state.split_brain announced, not yet resolved
	changeKind string        // of the has_leader being announced
	changeAt   time.Time     // when a majority began to follow a leader not yet announced

	log  *slog.Logger
	full bool // warned that the learned membership is full
}

type member struct {
	follows  string
	down     bool      // presumed down: evidence that its process is gone
	unknown  bool      // no answer for longer than its source's grace period
	reported bool      // heard from since leaderhook started
	last     time.Time // when it last reported
	reason   string    // what the watcher saw of a member down or unknown
	term     uint64    // its raft term, as it last said; 0 if it does not say
	held     string    // its last word, set aside by a peer's peer.disconnected until it reports a link up
	lost     string    // the leader it followed until it reported losing its link to it
	named    bool      // another member named it: a peer, or the leader it follows
}

// counts reports how many members answer (or are not heard from yet, and
// so presumed up), are presumed down, and are not known.
func (v *View) counts() (up, down, unknown int) {
	for _, id := range v.order {
		switch m := v.members[id]; {
		case m.down:
			down++
		case m.unknown:
			unknown++
		default:
			up++
		}
	}
	return up, down, unknown
}

// quorumLost reports whether fewer than a majority of the members can be
// up: then no leader can exist, and no election can be in progress.
func (v *View) quorumLost() bool {
	up, _, _ := v.counts()
	return len(v.order) > 0 && up*2 <= len(v.order)
}

// watcherIsolated reports whether leaderhook reaches too few members to
// judge the cluster: none at all, or only a minority while what the others
// last said named a leader. A fault of leaderhook's own network must not
// be announced as the cluster's outage.
func (v *View) watcherIsolated() bool {
	n := len(v.order)
	_, _, unknown := v.counts()
	if unknown == 0 || (n-unknown)*2 > n {
		return false
	}
	return unknown == n || v.vote(true) != ""
}

// NewView returns the view of one cluster. members may be empty (learned from
// events); stabilize is the flap-damping period.
func NewView(cluster string, members []string, stabilize time.Duration) *View {
	v := &View{cluster: cluster, stabilize: stabilize, members: map[string]*member{}, splitAfter: DefaultSplitBrainAfter}
	if len(members) > 0 {
		v.fixed = true
		for _, m := range members {
			v.members[m] = &member{}
		}
		v.resort()
	}
	return v
}

// Reconfigure applies a reload to a running view: members (empty: learned
// from the events) and the stabilize period. Members' reports are kept for
// those still members. It appends the state events the change makes due at
// now: a cluster whose new membership no longer gives its leader a
// majority starts to lose it then.
func (v *View) Reconfigure(now time.Time, members []string, stabilize time.Duration, out []event.Event) []event.Event {
	if now.After(v.now) {
		v.now = now
	}
	v.stabilize = stabilize
	v.fixed = len(members) > 0
	if v.fixed {
		next := make(map[string]*member, len(members))
		for _, id := range members {
			if m, ok := v.members[id]; ok {
				next[id] = m
			} else {
				next[id] = &member{}
			}
		}
		v.members = next
		v.resort()
	}
	return v.update(out)
}

// Cluster returns the cluster's name.
func (v *View) Cluster() string { return v.cluster }

// Members returns the current membership, sorted. Do not modify it.
func (v *View) Members() []string { return v.order }

// Observe applies one member report and appends the resulting state events
// (usually none) to out. Call Advance(ev.Time) first so that due deadlines
// come out in time order.
func (v *View) Observe(ev event.Event, out []event.Event) []event.Event {
	if ev.Time.After(v.now) {
		v.now = ev.Time
	}
	if !v.started {
		v.started = true
		v.firstSeen = v.now
	}
	v.forgetStrays()
	v.apply(&ev)
	return v.update(out)
}

// Deadline returns when Advance must next be called, if a timer is pending.
// While leaderhook is cut off from the members, time alone changes
// nothing: the next report does.
func (v *View) Deadline() (time.Time, bool) {
	switch {
	case !v.started || v.isolated:
		return time.Time{}, false
	case !v.baselined:
		return v.firstSeen.Add(v.stabilize), true
	}
	var at time.Time
	if v.pending && v.changeAt.IsZero() { // a held new leader ends the loss instead
		at = v.lossStart.Add(v.stabilize)
	}
	if !v.changeAt.IsZero() {
		if due := v.changeAt.Add(v.changeHold()); at.IsZero() || due.Before(at) {
			at = due
		}
	}
	if !v.split && !v.splitSince.IsZero() {
		if due := v.splitSince.Add(v.splitAfter); at.IsZero() || due.Before(at) {
			at = due
		}
	}
	if due, ok := v.strayDue(); ok && (at.IsZero() || due.Before(at)) {
		at = due
	}
	return at, !at.IsZero()
}

// Advance moves the view's clock to now and appends the announcements that
// are due by then.
func (v *View) Advance(now time.Time, out []event.Event) []event.Event {
	if now.After(v.now) {
		v.now = now
	}
	if v.forgetStrays() {
		v.raw = v.majority() // a stray was no vote: the leader keeps its majority
	}
	return v.update(out)
}

func (v *View) apply(ev *event.Event) {
	src := v.see(ev.Source)
	if src != nil && ev.Type != event.MemberDown && ev.Type != event.MemberUnknown {
		src.down, src.unknown, src.reported, src.last, src.reason = false, false, true, ev.Time, ""
		if ev.Term != 0 {
			src.term = ev.Term
		}
	}
	switch ev.Type {
	case event.HasLeader, event.Leaderless, event.LeadershipGained, event.LeadershipLost:
		if src != nil {
			src.says(ev)
			if l := v.members[ev.LeaderID]; ev.Type == event.HasLeader && l != nil && l != src {
				l.named = true
			}
		}
	case event.PeerConnected:
		v.connected(src, ev.Peers)
	case event.PeerDisconnected:
		if src != nil { // a stranger's lost connection says nothing of the cluster
			v.disconnected(src, ev.Peers)
		}
	case event.MembersChanged:
		v.setMembership(ev)
	case event.MemberDown:
		if src != nil {
			src.down, src.unknown, src.follows, src.reason = true, false, "", ev.Reason
			src.held, src.lost = "", "" // its process is gone, and its word with it
		}
	case event.MemberUnknown:
		if src != nil && !src.down {
			src.unknown, src.reason = true, ev.Reason
		}
	}
}

// says applies a member's own word on the leader it follows. It overrides
// what leaderhook inferred from its links.
func (m *member) says(ev *event.Event) {
	m.held, m.lost = "", ""
	switch ev.Type {
	case event.HasLeader:
		m.follows = ev.LeaderID
	case event.Leaderless:
		m.follows = ""
	case event.LeadershipGained:
		m.follows = ev.Source
	case event.LeadershipLost:
		if m.follows == ev.Source {
			m.follows = ""
		}
	}
}

// connected applies src's peer.connected: the peers are alive, and so is
// src, linked again: its word set aside stands (a restarted member's first
// word is its startup report, not this). A reporter that lost its link to
// its leader and reached it again, without a word of a new one, follows it
// still: raft changes a follower's leader only after its heartbeat timeout,
// and OpenZiti then says so. Not when the leader has said since that it
// does not lead (it restarted). Likewise a leader that reaches again a
// follower whose vote for it was set aside gives that vote back.
func (v *View) connected(src *member, peers []string) {
	if src != nil && src.held != "" {
		src.follows, src.held = src.held, ""
	}
	for _, p := range peers {
		m := v.see(p)
		if m == nil {
			continue
		}
		m.down = false
		m.named = m.named || m != src
		if src != nil && src.lost == p && (m.follows == p || m.held == p) {
			src.follows, src.lost = p, ""
		}
		// A leader that reaches a follower again has its vote back: the
		// follower said nothing since, so it follows the leader still.
		if src != nil && m.held != "" && v.members[m.held] == src && src.follows == m.held {
			m.follows, m.held = m.held, ""
		}
	}
}

// disconnected applies src's peer.disconnected: each peer is presumed down
// and its last word set aside (a killed leader's "I am the leader" goes
// stale), and src, if it followed the peer, has lost its leader. A cut link
// looks the same at first, so both are kept to be given back when it is up
// again (see connected). The peer's own peer.disconnected does not: a member
// shutting down, or cut off from all, says it lost everyone.
func (v *View) disconnected(src *member, peers []string) {
	for _, p := range peers {
		if m := v.see(p); m != nil {
			m.down, m.named = true, m.named || m != src
			if m.follows != "" {
				m.held, m.follows = m.follows, ""
			}
		}
		if src.follows == p {
			src.follows, src.lost = "", p
		}
	}
}

// Health says how many members are up, which are not, and whether
// leaderhook is cut off from them.
func (v *View) Health() event.Health {
	h := event.Health{MembersTotal: len(v.order), WatcherIsolated: v.isolated, Leaders: v.claims(), SplitBrain: v.split, Term: v.term()}
	for _, id := range v.order {
		if m := v.members[id]; m.down || m.unknown {
			h.Unreachable = append(h.Unreachable, id)
		} else {
			h.MembersUp++
		}
	}
	return h
}

// SameHealth reports whether Health would return h, without building it:
// the driver asks at every report, and the health rarely changes.
func (v *View) SameHealth(h event.Health) bool {
	if h.MembersTotal != len(v.order) || h.WatcherIsolated != v.isolated || h.SplitBrain != v.split || h.Term != v.term() {
		return false
	}
	up, unreachable, leaders := 0, 0, 0
	for _, id := range v.order {
		m := v.members[id]
		if m.down || m.unknown {
			if unreachable >= len(h.Unreachable) || h.Unreachable[unreachable] != id {
				return false
			}
			unreachable++
		} else {
			up++
		}
		if v.claimsLead(id) {
			if leaders >= len(h.Leaders) || h.Leaders[leaders] != (event.Claim{ID: id, Term: m.term}) {
				return false
			}
			leaders++
		}
	}
	return up == h.MembersUp && unreachable == len(h.Unreachable) && leaders == len(h.Leaders)
}

// MaxLearnedMembers bounds a membership learned from the events: senders
// name their sources freely, and each would be kept, shown and counted in
// the quorum. Real clusters are far smaller; configure members beyond it.
const MaxLearnedMembers = 100

// SetLogger sets where the view warns of sources it ignores.
func (v *View) SetLogger(l *slog.Logger) { v.log = l }

// see returns the member named id, adding it to a learned membership.
func (v *View) see(id string) *member {
	if m, ok := v.members[id]; ok {
		return m
	}
	if v.fixed || v.hasIndex || id == "" {
		return nil // not a member: its reports do not count
	}
	if len(v.members) >= MaxLearnedMembers {
		if !v.full && v.log != nil {
			v.log.Warn("cluster has as many learned members as leaderhook keeps; ignoring new sources: configure members to set them",
				"cluster", v.cluster, "max", MaxLearnedMembers, "source", id)
		}
		v.full = true
		return nil
	}
	m := &member{}
	v.members[id] = m
	v.resort()
	return m
}

func (v *View) setMembership(ev *event.Event) {
	if v.fixed || len(ev.Peers) == 0 || (v.hasIndex && ev.Index < v.membersIndex) {
		return
	}
	v.hasIndex = true
	v.membersIndex = ev.Index
	if v.sameMembers(ev.Peers) {
		return // the usual case: a repeat of the list in use
	}
	next := make(map[string]*member, len(ev.Peers))
	for _, p := range ev.Peers {
		if m, ok := v.members[p]; ok {
			next[p] = m
		} else {
			next[p] = &member{}
		}
	}
	v.members = next
	v.resort()
}

func (v *View) sameMembers(ids []string) bool {
	if len(ids) != len(v.members) {
		return false
	}
	for _, id := range ids {
		if _, ok := v.members[id]; !ok {
			return false
		}
	}
	return true
}

func (v *View) resort() {
	v.order = slices.Sorted(maps.Keys(v.members))
}

// majority returns the leader that more than half of the members follow.
// A candidate presumed down cannot be leader, whatever the stale votes
// say, and a member that does not answer does not vote.
func (v *View) majority() string { return v.vote(false) }

// vote returns the leader that more than half of the members follow;
// withUnknown counts what members not answering last said.
func (v *View) vote(withUnknown bool) string {
	counts := func(m *member) bool { return !m.down && (withUnknown || !m.unknown) }
	n := len(v.order)
	for _, id := range v.order {
		candidate := v.members[id].follows
		if candidate == "" || !counts(v.members[id]) {
			continue
		}
		if c, ok := v.members[candidate]; ok && c.down {
			continue
		}
		votes := 0
		for _, other := range v.order {
			if m := v.members[other]; m.follows == candidate && counts(m) {
				votes++
			}
		}
		if votes*2 > n {
			return candidate
		}
	}
	return ""
}

func (v *View) update(out []event.Event) []event.Event {
	if !v.started {
		return out
	}
	if v.isolated = v.watcherIsolated(); v.isolated {
		return out // nothing leaderhook can judge: the announced state stands
	}
	raw := v.majority()
	if !v.baselined {
		v.raw = raw
		if raw == "" && v.now.Before(v.firstSeen.Add(v.stabilize)) && !v.quorumLost() {
			return out
		}
		v.baselined = true
		v.announced = raw
		v.since = v.firstSeen
		if raw != "" {
			v.since = v.now
		}
		return append(out, v.state(true))
	}
	if raw != v.raw {
		if raw == "" && v.announced != "" && !v.pending {
			v.startLoss(v.now)
		}
		v.raw = raw
		v.changeAt = time.Time{}
		if raw != "" && raw != v.announced {
			v.changeAt = v.now
		} else if raw != "" && v.pending {
			v.pending = false // the same leader came back in time: a blip
		}
	}
	if v.raw != "" && v.raw != v.announced {
		out = v.announceLeader(out)
	}
	// An election may end the loss within the stabilize period, unless no
	// majority can be up: then none can, and the loss is announced at once.
	// A new leader held for its old one's word ends the loss instead.
	if v.pending && v.changeAt.IsZero() && (!v.now.Before(v.lossStart.Add(v.stabilize)) || v.quorumLost()) {
		v.pending = false
		v.lastLeader = v.lossFrom
		v.announced = ""
		v.since = v.lossStart
		out = append(out, v.state(false))
	}
	return v.updateSplit(out)
}

// startLoss starts the stabilize period of the announced leader's loss,
// dated from at.
func (v *View) startLoss(at time.Time) {
	v.pending, v.lossStart, v.lossFrom = true, at, v.announced
}

func (v *View) state(baseline bool) event.Event {
	ev := event.Event{
		Source:           event.DetectorSource,
		Time:             v.now,
		Cluster:          v.cluster,
		PreviousLeaderID: v.lastLeader,
		Since:            v.since,
		Baseline:         baseline,
		Members:          slices.Clone(v.order),
	}
	if v.announced == "" {
		ev.Type = event.Leaderless
	} else {
		ev.Type = event.HasLeader
		ev.LeaderID = v.announced
		ev.ChangeKind = v.changeKind
	}
	return ev
}

// State is a snapshot of what the view has announced, of the change it
// waits to announce, and of what each member last said.
type State struct {
	Known            bool // a baseline has been taken
	LeaderID         string
	PreviousLeaderID string
	Since            time.Time
	Members          []string
	Reports          map[string]MemberReport `json:",omitempty"`
	// SplitBrain: a split brain was announced and has not been resolved,
	// since SplitSince. Restored, it goes on rather than ending at the
	// restart and being announced again split_brain_after later. Without
	// SplitBrain, SplitSince dates one not announced yet.
	SplitBrain bool      `json:"split_brain,omitempty"`
	SplitSince time.Time `json:"split_since,omitzero"`
	// A change pending goes on after a restart, to come due when it would
	// have without one: sources that report only changes may say nothing
	// more. A state saved without it (by an older release) has it worked
	// out again from the reports (see resumeChange).
	PendingChange
}

// MemberReport is one member's last word: the leader it follows ("" for
// none), or that it is presumed down.
type MemberReport struct {
	Follows string    `json:"follows"`
	Down    bool      `json:"down,omitempty"`
	Unknown bool      `json:"unknown,omitempty"` // no answer for longer than its source's grace period
	Reason  string    `json:"reason,omitempty"`  // what leaderhook saw of a member down or unknown
	Last    time.Time `json:"last,omitzero"`     // when it last reported; zero before it has
	// What a peer's peer.disconnected set aside, to be given back (see
	// View.disconnected): its own word, and the leader it lost its link to.
	Held string `json:"held,omitempty"`
	Lost string `json:"lost,omitempty"`
	// Named: another member named it, so that it is never forgotten as
	// a stray (see strayAfter).
	Named bool `json:"named,omitempty"`
}

// State returns what the view has announced so far.
func (v *View) State() State {
	reports := make(map[string]MemberReport, len(v.members))
	for id, m := range v.members {
		reports[id] = MemberReport{Follows: m.follows, Down: m.down, Unknown: m.unknown, Reason: m.reason, Last: m.last, Held: m.held, Lost: m.lost, Named: m.named}
	}
	st := State{Known: v.baselined, LeaderID: v.announced, PreviousLeaderID: v.lastLeader, Since: v.since, Members: v.order, Reports: reports,
		PendingChange: v.pendingChange()}
	st.SplitBrain, st.SplitSince = v.split, v.splitSince
	return st
}

// Restore sets the announced state from a saved State, before any event: a
// restart then continues the same outage (leaderless_for counts from its
// true start) instead of starting from a new baseline. Members' reports are
// restored too: sources that resume where they stopped (a followed file)
// do not say again what members said before, and members that report only
// changes may not speak for a long time. So is the change pending, which
// comes due when it would have without the restart.
func (v *View) Restore(s State) {
	if !s.Known {
		return
	}
	v.started, v.baselined = true, true
	v.announced = s.LeaderID
	v.lastLeader = s.PreviousLeaderID
	v.since = s.Since
	v.firstSeen = s.Since
	v.split, v.splitSince = s.SplitBrain, s.SplitSince
	if !v.fixed {
		for _, m := range s.Members {
			v.see(m)
		}
	}
	for id, r := range s.Reports {
		if m := v.members[id]; m != nil {
			// A member is heard from exactly when its last report is dated.
			m.follows, m.down, m.unknown, m.reason, m.last = r.Follows, r.Down, r.Unknown, r.Reason, r.Last
			m.held, m.lost, m.named = r.Held, r.Lost, r.Named
			m.reported = !r.Last.IsZero()
		}
	}
	v.setPendingChange(s.PendingChange)
	v.resumeChange(s)
}

// resumeChange sets the leader the restored reports give a majority. When
// that is not the leader announced and the state keeps no change pending
// (an older release saved none), the change is under way since the last
// report at the latest: its timer starts there, so that it comes due even
// if no member speaks again.
func (v *View) resumeChange(s State) {
	v.raw = v.majority()
	if v.raw == v.announced || v.pending || !v.changeAt.IsZero() {
		return
	}
	at := s.Since
	for _, r := range s.Reports {
		if r.Last.After(at) {
			at = r.Last
		}
	}
	if v.raw == "" {
		v.startLoss(at)
	} else {
		v.changeAt = at
	}
}
