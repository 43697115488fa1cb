package detector

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/event"
)

// RaftSource reports what one hashicorp/raft node sees of its cluster, for
// Go programs that embed raft: give each node you run a RaftSource, and the
// cluster's View aggregates their reports like any members' events.
//
// Delivery semantics: raft's observer is registered non-blocking, so raft
// never waits for leaderhook; an observation that finds the buffer full is
// dropped (counted by Dropped). A reconcile every Reconcile period compares
// Raft.LeaderWithID() and Raft.State() with what was last reported, so a
// dropped observation is corrected within that period and can never leave
// a stale view. Only changes are reported. When the node shuts down, it
// reports itself gone (peer.disconnected of itself): a dead leader stops
// counting at once, not when the followers' heartbeats time out.
type RaftSource struct {
	Raft    *raft.Raft
	ID      string // this node's ServerID, the member name in events
	Cluster string
	// Reconcile is how often the view is checked against the node's own
	// answer (default 1s).
	Reconcile time.Duration
	// Buffer is the observation channel's capacity (default 64).
	Buffer int
	Now    func() time.Time

	observer atomic.Pointer[raft.Observer]
}

// Dropped returns how many observations raft dropped because the buffer was
// full.
func (s *RaftSource) Dropped() uint64 {
	if o := s.observer.Load(); o != nil {
		return o.GetNumDropped()
	}
	return 0
}

// Run reports until ctx ends or the node shuts down.
func (s *RaftSource) Run(ctx context.Context, out chan<- event.Event) error {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	every := s.Reconcile
	if every <= 0 {
		every = time.Second
	}
	size := s.Buffer
	if size <= 0 {
		size = 64
	}
	ch := make(chan raft.Observation, size)
	observer := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	s.observer.Store(observer)
	s.Raft.RegisterObserver(observer)
	defer s.Raft.DeregisterObserver(observer)

	last := "\x00" // nothing reported yet
	report := func(leader string) bool {
		// The term read now: a node that stepped down for a newer
		// leader's election is already in its term.
		term := s.Raft.CurrentTerm()
		key := fmt.Sprint(leader, "\x00", term)
		if key == last {
			return true
		}
		last = key
		ev := event.Event{Source: s.ID, Time: now(), Type: event.Leaderless, Cluster: s.Cluster, Term: term}
		if leader != "" {
			ev.Type, ev.LeaderID = event.HasLeader, leader
		}
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	gone := func() {
		ev := event.Event{Source: s.ID, Time: now(), Type: event.PeerDisconnected, Peers: []string{s.ID}, Cluster: s.Cluster}
		select {
		case out <- ev:
		case <-ctx.Done():
		}
	}
	current := func() (string, bool) {
		if s.Raft.State() == raft.Shutdown {
			return "", false
		}
		_, id := s.Raft.LeaderWithID()
		return string(id), true
	}

	leader, alive := current()
	if !alive {
		gone()
		return nil
	}
	if !report(leader) {
		return ctx.Err()
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case o := <-ch:
			switch d := o.Data.(type) {
			case raft.LeaderObservation:
				if !report(string(d.LeaderID)) {
					return ctx.Err()
				}
			case raft.RaftState:
				if d == raft.Shutdown {
					gone()
					return nil
				}
			}
		case <-ticker.C:
			leader, alive := current()
			if !alive {
				gone()
				return nil
			}
			if !report(leader) {
				return ctx.Err()
			}
		}
	}
}
