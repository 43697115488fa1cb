package detector

import (
	"maps"
	"time"
)

// Image is a view's whole state, members' reports included, so that
// another process continues it exactly: a group of leaderhook nodes hands
// it to a node that catches up from a snapshot. (State is what survives a
// restart: the announced state, the change pending and members' last
// reports, not the clock.)
type Image struct {
	Fixed        bool                   `json:"fixed,omitempty"`
	Members      map[string]MemberImage `json:"members"`
	MembersIndex uint64                 `json:"members_index,omitempty"`
	HasIndex     bool                   `json:"has_index,omitempty"`
	Started      bool                   `json:"started,omitempty"`
	FirstSeen    time.Time              `json:"first_seen,omitzero"`
	Baselined    bool                   `json:"baselined,omitempty"`
	Raw          string                 `json:"raw,omitempty"`
	Announced    string                 `json:"announced,omitempty"`
	LastLeader   string                 `json:"last_leader,omitempty"`
	Since        time.Time              `json:"since,omitzero"`
	PendingChange
	Isolated   bool      `json:"isolated,omitempty"`
	Now        time.Time `json:"now,omitzero"`
	SplitSince time.Time `json:"split_since,omitzero"`
	Split      bool      `json:"split,omitempty"`
}

// PendingChange is the change a view waits to announce: a loss within its
// stabilize period, or a new leader held for its old leader's word. Both
// an Image and a State carry it.
type PendingChange struct {
	Pending   bool      `json:"pending,omitempty"` // a loss, announced at LossStart+stabilize
	LossStart time.Time `json:"loss_start,omitzero"`
	LossFrom  string    `json:"loss_from,omitempty"`
	ChangeAt  time.Time `json:"change_at,omitzero"` // when a majority began to follow a leader not yet announced
}

// MemberImage is one member in an Image.
type MemberImage struct {
	Follows  string    `json:"follows,omitempty"`
	Down     bool      `json:"down,omitempty"`
	Unknown  bool      `json:"unknown,omitempty"`
	Reported bool      `json:"reported,omitempty"`
	Last     time.Time `json:"last,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	Term     uint64    `json:"term,omitempty"`
	Held     string    `json:"held,omitempty"`
	Lost     string    `json:"lost,omitempty"`
	Named    bool      `json:"named,omitempty"`
}

// Image returns the view's whole state.
func (v *View) Image() Image {
	img := Image{Fixed: v.fixed, Members: make(map[string]MemberImage, len(v.members)), MembersIndex: v.membersIndex,
		HasIndex: v.hasIndex, Started: v.started, FirstSeen: v.firstSeen, Baselined: v.baselined, Raw: v.raw,
		Announced: v.announced, LastLeader: v.lastLeader, Since: v.since, PendingChange: v.pendingChange(),
		Isolated: v.isolated, Now: v.now, SplitSince: v.splitSince, Split: v.split}
	for id, m := range v.members {
		img.Members[id] = MemberImage{Follows: m.follows, Down: m.down, Unknown: m.unknown, Reported: m.reported, Last: m.last, Reason: m.reason, Term: m.term,
			Held: m.held, Lost: m.lost, Named: m.named}
	}
	return img
}

// LoadImage makes the view what img describes; its stabilize period stays
// the configured one.
func (v *View) LoadImage(img Image) {
	v.fixed, v.membersIndex, v.hasIndex = img.Fixed, img.MembersIndex, img.HasIndex
	v.started, v.firstSeen, v.baselined, v.raw = img.Started, img.FirstSeen, img.Baselined, img.Raw
	v.announced, v.lastLeader, v.since = img.Announced, img.LastLeader, img.Since
	v.setPendingChange(img.PendingChange)
	v.isolated, v.now = img.Isolated, img.Now
	v.splitSince, v.split = img.SplitSince, img.Split
	v.members = make(map[string]*member, len(img.Members))
	for id, m := range maps.All(img.Members) {
		v.members[id] = &member{follows: m.Follows, down: m.Down, unknown: m.Unknown, reported: m.Reported, last: m.Last, reason: m.Reason, term: m.Term,
			held: m.Held, lost: m.Lost, named: m.Named}
	}
	v.resort()
}

func (v *View) pendingChange() PendingChange {
	return PendingChange{Pending: v.pending, LossStart: v.lossStart, LossFrom: v.lossFrom, ChangeAt: v.changeAt}
}

func (v *View) setPendingChange(p PendingChange) {
	v.pending, v.lossStart, v.lossFrom, v.changeAt = p.Pending, p.LossStart, p.LossFrom, p.ChangeAt
}
