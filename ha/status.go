package ha

import (
	"time"

	"github.com/hashicorp/raft"
)

// Status is GET /v1/ha: what this node knows of the group.
type Status struct {
	NodeID        string       `json:"node_id"`
	Role          string       `json:"role"` // leader, follower, candidate (or fail-open: see the daemon)
	LeaderID      string       `json:"leader_id"`
	Term          uint64       `json:"term"`
	AppliedIndex  uint64       `json:"applied_index"` // raft's: its own entries and a restored snapshot's included
	CommitIndex   uint64       `json:"commit_index"`
	LastContactMS int64        `json:"last_contact_ms"` // since the leader was last heard from; 0 on the leader, -1 never
	Peers         []PeerStatus `json:"peers"`
}

// PeerStatus is one node of the group as the raft configuration has it.
type PeerStatus struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
}

// Status says what this node knows of the group.
func (n *Node) Status() Status {
	s := Status{NodeID: n.cfg.NodeID, Role: roleOf(n.raft.State()), LeaderID: n.LeaderID(), Term: n.raft.CurrentTerm(),
		AppliedIndex: n.raft.AppliedIndex(), CommitIndex: n.raft.CommitIndex(), Peers: []PeerStatus{}}
	switch contact := n.raft.LastContact(); {
	case s.Role == "leader":
	case contact.IsZero():
		s.LastContactMS = -1
	default:
		s.LastContactMS = time.Since(contact).Milliseconds()
	}
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			s.Peers = append(s.Peers, PeerStatus{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Suffrage == raft.Voter})
		}
	}
	return s
}

func roleOf(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Shutdown:
		return "shutdown"
	}
	return "follower"
}
