// Package event defines the cluster event that flows through leaderhook: the
// OpenZiti `cluster` event format, used for members' reports coming in and for
// the detector's own state events going out.
package event

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Namespace is the only OpenZiti event namespace leaderhook reads.
const Namespace = "cluster"

// DetectorSource is the event_src_id of the state events leaderhook emits.
const DetectorSource = "leaderhook"

// OpenZiti cluster event types.
const (
	HasLeader        = "state.has_leader"
	Leaderless       = "state.is_leaderless"
	LeadershipGained = "leadership.gained"
	LeadershipLost   = "leadership.lost"
	PeerConnected    = "peer.connected"
	PeerDisconnected = "peer.disconnected"
	PeerNotMember    = "peer.not_member"
	MembersChanged   = "members.changed"
	ReadOnly         = "state.ro"
	ReadWrite        = "state.rw"
)

// leaderhook's own event types, beside OpenZiti's: what a poll source (the
// watcher) learns of a member when it gets no answer from it.
const (
	// MemberDown: nothing listens at the member's address any more
	// (connection refused or reset): its process is gone.
	MemberDown = "member.down"
	// MemberUnknown: the member has not answered for longer than the
	// source's grace period (timeouts, errors): its state is not known.
	MemberUnknown = "member.unknown"
	// SplitBrain: more than one member claims the lead, or one claims it
	// while a majority follows another, for longer than split_brain_after.
	// Leaders names the claimants. Announced by leaderhook, like the
	// state events.
	SplitBrain = "state.split_brain"
	// SplitBrainResolved: a single leader again (or none).
	SplitBrainResolved = "state.split_brain_resolved"
)

// How a leader changed (ChangeKind of a state.has_leader that names a new
// leader).
const (
	// ChangeTransfer: the old leader is alive and follows the new one (or
	// stepped down in the new term): a planned move or a graceful
	// step-down.
	ChangeTransfer = "transfer"
	// ChangeFailover: the old leader was lost first (down, not answering,
	// cut off in an older term, or the cluster was announced leaderless).
	ChangeFailover = "failover"
	// ChangeUnknown: the members' reports do not say.
	ChangeUnknown = "unknown"
)

// Claim is one member that claims to lead, with its raft term (0 when
// unknown).
type Claim struct {
	ID   string `json:"id"`
	Term uint64 `json:"term,omitempty"`
}

// Types lists every accepted cluster event type.
var Types = []string{
	HasLeader, Leaderless, LeadershipGained, LeadershipLost, PeerConnected,
	PeerDisconnected, PeerNotMember, MembersChanged, ReadOnly, ReadWrite,
	MemberDown, MemberUnknown, SplitBrain, SplitBrainResolved,
}

// KnownType reports whether t is an OpenZiti cluster event type.
func KnownType(t string) bool { return slices.Contains(Types, t) }

// Event is one cluster event. Members' reports fill Source, Time, Type and,
// depending on the type, LeaderID, Peers or Index, and Term when the member
// says its raft term (a poll source asks it). The detector's state events
// (Source == DetectorSource) also carry Cluster, PreviousLeaderID, Since and
// Members.
type Event struct {
	Source string    // event_src_id: the member that reported, or "leaderhook"
	Time   time.Time // timestamp
	// Sent is the member's own timestamp when the event was dated on
	// arrival instead (its clock was off, or it came late); zero when Time
	// is the member's. A leaderhook extension of the format (JSON
	// "sent_timestamp"), so that a recording tells an event sent again.
	Sent     time.Time
	Type     string   // eventType
	LeaderID string   // leaderId (state.has_leader)
	Peers    []string // ids of peers[] (peer.*, members.changed, leadership.*)
	Index    uint64   // index (members.changed)
	Reason   string   // reason (member.down, member.unknown): what the watcher saw
	// Term is the member's raft term, 0 when unknown: a leaderhook
	// extension of the format (JSON "term", left out when 0).
	Term uint64

	// Set on the detector's state events only.
	Cluster          string
	PreviousLeaderID string
	// Since is when the announced state truly began: for a loss of leader, the
	// moment the leader was lost, which precedes the announcement by the
	// stabilization period.
	Since time.Time
	// Baseline marks the first state of a cluster after start: a starting
	// point, not a change.
	Baseline bool
	Members  []string
	// ChangeKind, on a state.has_leader that names a new leader: transfer,
	// failover or unknown.
	ChangeKind string
	// Leaders, on state.split_brain: the members that claim the lead.
	Leaders []Claim
	// Seq numbers the cluster's states: the rules engine sets it, one more
	// with every change, and keeps it across restarts, so that a script
	// can tell whether the state it was started for is still the newest.
	// It is not part of the wire format.
	Seq uint64
}

// IsState reports whether e is a detector state event.
func (e *Event) IsState() bool {
	return e.Source == DetectorSource && (e.Type == HasLeader || e.Type == Leaderless)
}

// Health is what leaderhook knows of a cluster's members beside its
// leader, for rules (members_up, members_total, quorum_margin,
// unreachable, watcher_isolated) and payloads.
type Health struct {
	// MembersUp counts the members that answer, and those not heard from
	// since leaderhook started (presumed up until known otherwise).
	MembersUp    int
	MembersTotal int
	// Unreachable names the members that are down or do not answer.
	Unreachable []string
	// WatcherIsolated: leaderhook reaches too few members to judge the
	// cluster, while what it last heard from the others named a leader:
	// the fault may be leaderhook's own network, not the cluster.
	WatcherIsolated bool
	// Leaders are the members that claim the lead now, with their terms.
	Leaders []Claim
	// SplitBrain: more than one leader claimed (see state.split_brain) for
	// longer than split_brain_after.
	SplitBrain bool
	// Term is the cluster's raft term as its majority reports it, 0 when
	// the members do not say.
	Term uint64
}

// LeaderIDs returns the ids of h.Leaders.
func (h Health) LeaderIDs() []string {
	ids := make([]string, len(h.Leaders))
	for i, c := range h.Leaders {
		ids[i] = c.ID
	}
	return ids
}

// QuorumMargin is how many more members can fail before the cluster loses
// its majority: 0 when it has no fault tolerance left, negative once the
// majority is gone.
func (h Health) QuorumMargin() int { return h.MembersUp - (h.MembersTotal/2 + 1) }

// DefaultMaxSkew bounds, unless configured, how far a live event's own
// timestamp may be from the daemon's clock: members' clocks are usually
// kept within milliseconds by NTP, and an event spends less than a second
// on its way.
const DefaultMaxSkew = 5 * time.Second

// TimeLayout is RFC 3339 with a fixed nine-digit fraction, so that times
// sort as strings and line up in logs.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

type peerJSON struct {
	ID string `json:"id"`
}

type wireJSON struct {
	Namespace        string     `json:"namespace"`
	Source           string     `json:"event_src_id"`
	Timestamp        string     `json:"timestamp"`
	Sent             string     `json:"sent_timestamp,omitempty"`
	Type             string     `json:"eventType"`
	LeaderID         string     `json:"leaderId,omitempty"`
	PreviousLeaderID string     `json:"previousLeaderId,omitempty"`
	Cluster          string     `json:"cluster,omitempty"`
	Since            string     `json:"since,omitempty"`
	Baseline         bool       `json:"baseline,omitempty"`
	Index            uint64     `json:"index,omitempty"`
	Reason           string     `json:"reason,omitempty"`
	Term             uint64     `json:"term,omitempty"`
	ChangeKind       string     `json:"change_kind,omitempty"`
	Leaders          []Claim    `json:"leaders,omitempty"`
	Peers            []peerJSON `json:"peers,omitempty"`
	Members          []string   `json:"members,omitempty"`
}

// MarshalJSON writes e in OpenZiti's cluster event shape.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wireJSON{
		Namespace:        Namespace,
		Source:           e.Source,
		Timestamp:        e.Time.Format(TimeLayout),
		Type:             e.Type,
		LeaderID:         e.LeaderID,
		PreviousLeaderID: e.PreviousLeaderID,
		Cluster:          e.Cluster,
		Baseline:         e.Baseline,
		Index:            e.Index,
		Reason:           e.Reason,
		Term:             e.Term,
		ChangeKind:       e.ChangeKind,
		Leaders:          e.Leaders,
		Members:          e.Members,
	}
	if !e.Since.IsZero() {
		w.Since = e.Since.Format(TimeLayout)
	}
	if !e.Sent.IsZero() {
		w.Sent = e.Sent.Format(TimeLayout)
	}
	for _, p := range e.Peers {
		w.Peers = append(w.Peers, peerJSON{ID: p})
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON wrote, strictly (see Decode).
func (e *Event) UnmarshalJSON(data []byte) error {
	ev, err := Decode(data)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// FieldNames are the keys the Fields of a state event (IsState) may hold,
// sorted: all that a template's .Event or a rule's `event` can read. A
// split brain's term and leaders are not among them: no rule sees one.
var FieldNames = []string{"change_kind", "cluster", "eventType", "event_src_id", "leaderId",
	"namespace", "previousLeaderId", "since", "timestamp"}

// Fields returns e as the map rules see in their `event` variable, keyed by
// the JSON names (FieldNames).
func (e *Event) Fields() map[string]any {
	m := make(map[string]any, 12) // room for every field: no growing
	m["namespace"] = Namespace
	m["event_src_id"] = e.Source
	m["timestamp"] = e.Time.Format(TimeLayout)
	m["eventType"] = e.Type
	if e.LeaderID != "" {
		m["leaderId"] = e.LeaderID
	}
	if e.PreviousLeaderID != "" {
		m["previousLeaderId"] = e.PreviousLeaderID
	}
	if e.Cluster != "" {
		m["cluster"] = e.Cluster
	}
	if !e.Since.IsZero() {
		m["since"] = e.Since.Format(TimeLayout)
	}
	if e.Term != 0 {
		m["term"] = e.Term
	}
	if e.ChangeKind != "" {
		m["change_kind"] = e.ChangeKind
	}
	if len(e.Leaders) > 0 {
		ls := make([]any, len(e.Leaders))
		for i, c := range e.Leaders {
			ls[i] = map[string]any{"id": c.ID, "term": c.Term}
		}
		m["leaders"] = ls
	}
	return m
}

// String is a short human form for logs and test failures, one line
// whatever the event holds.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Time.Format(TimeLayout))
	b.WriteByte(' ')
	b.WriteString(Printable(e.Source))
	b.WriteByte(' ')
	b.WriteString(Printable(e.Type))
	if e.LeaderID != "" {
		b.WriteString(" leader=")
		b.WriteString(Printable(e.LeaderID))
	}
	if len(e.Peers) > 0 {
		b.WriteString(" peers=")
		b.WriteString(Printable(strings.Join(e.Peers, ",")))
	}
	return b.String()
}
