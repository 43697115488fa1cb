package detector

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// a stale view. An observation only prompts a report of the node's leader
// and term as they are then, so a backlog read after a slow consumer is
// not replayed as the node's current answer. Only changes are reported.
// When the node shuts down, it reports itself gone (peer.disconnected of
// itself): a dead leader stops counting at once, not when the followers'
// heartbeats time out.
//
// With Members, a leader also reports the followers its heartbeats fail to
// reach (peer.disconnected) and reach again (peer.connected): a killed
// process never reports itself gone, and its last "I lead" must not stand
// beside the new leader's as a split brain.
type RaftSource struct {
	Raft    *raft.Raft
	ID      string // this node's ServerID, the member name in events
	Cluster string
	// Reconcile is how often the view is checked against the node's own
	// answer (default 1s).
	Reconcile time.Duration
	// Buffer is the observation channel's capacity (default 64).
	Buffer int
	// Members makes the reconcile send the node's voters as members.changed
	// when they change, so that servers removed from the cluster stop
	// counting. Set it only when every node's source feeds the same view:
	// a view fed by one node alone would count members that never report.
	Members bool
	Now     func() time.Time

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
	r := &raftReporter{src: s, out: out, now: s.Now, last: "\x00"}
	if r.now == nil {
		r.now = time.Now
	}
	every := s.Reconcile
	if every <= 0 {
		every = time.Second
	}
	ch := s.observe()
	defer s.Raft.DeregisterObserver(s.observer.Load())

	if !r.reconcile(ctx) {
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
				// Only a wake-up: read after a stalled consumer or a
				// reconcile, its leader may have lost the lead since, and
				// the term read now would not be its term.
				if !r.report(ctx) {
					return ctx.Err()
				}
			case raft.RaftState:
				if d == raft.Shutdown {
					r.gone(ctx)
					return nil
				}
			case raft.FailedHeartbeatObservation:
				if !r.link(ctx, string(d.PeerID), false) {
					return ctx.Err()
				}
			case raft.ResumedHeartbeatObservation:
				if !r.link(ctx, string(d.PeerID), true) {
					return ctx.Err()
				}
			}
		case <-ticker.C:
			if !r.reconcile(ctx) {
				return ctx.Err()
			}
		}
	}
}

// observe registers a non-blocking observer of leader and state changes,
// and with Members of the leader's heartbeats failing and resuming.
func (s *RaftSource) observe() <-chan raft.Observation {
	size := s.Buffer
	if size <= 0 {
		size = 64
	}
	ch := make(chan raft.Observation, size)
	observer := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			// Alone in its view, the node would make its peers members
			// that never report.
			return s.Members
		}
		return false
	})
	s.observer.Store(observer)
	s.Raft.RegisterObserver(observer)
	return ch
}

// raftReporter turns one node's answers into events, reporting only
// changes.
type raftReporter struct {
	src     *RaftSource
	out     chan<- event.Event
	now     func() time.Time
	last    string // leader and term last reported; "\x00" before the first
	members string // voters last sent in members.changed
	// Peers this leader reported its heartbeats failing to reach, in the
	// term last reported; dropped: observations dropped so far.
	failing map[string]bool
	dropped uint64
}

// reconcile reports the node's own answer: its leader, or itself gone
// once it has shut down. False when ctx ended or the node is gone.
func (r *raftReporter) reconcile(ctx context.Context) bool {
	if r.src.Raft.State() == raft.Shutdown {
		r.gone(ctx)
		return false
	}
	// Membership first: the view then counts a new server's report.
	if r.src.Members && !(r.membership(ctx) && r.recover(ctx)) {
		return false
	}
	return r.report(ctx)
}

// recover gives back the peers reported failing once an observation was
// dropped: it may have been their heartbeats resuming. A peer still
// failing is reported again at its next failed heartbeat.
func (r *raftReporter) recover(ctx context.Context) bool {
	d := r.src.Dropped()
	if d == r.dropped {
		return true
	}
	r.dropped = d
	for _, p := range slices.Sorted(maps.Keys(r.failing)) {
		if !r.link(ctx, p, true) {
			return false
		}
	}
	return true
}

// link reports this leader's heartbeats to peer failing (peer.disconnected)
// or resumed (peer.connected), on change only: raft observes each failed
// heartbeat. False when ctx ended first.
func (r *raftReporter) link(ctx context.Context, peer string, up bool) bool {
	if down := !up; peer == "" || r.failing[peer] == down {
		return true
	}
	typ := event.PeerConnected
	if up {
		delete(r.failing, peer)
	} else {
		if r.failing == nil {
			r.failing = map[string]bool{}
		}
		r.failing[peer], typ = true, event.PeerDisconnected
	}
	return r.send(ctx, event.Event{Source: r.src.ID, Time: r.now(), Type: typ, Peers: []string{peer}, Cluster: r.src.Cluster})
}

// report sends the node's leader now ("" for none) with its term, if
// either changed; false when ctx ended first.
func (r *raftReporter) report(ctx context.Context) bool {
	_, id := r.src.Raft.LeaderWithID()
	leader := string(id)
	// The term read now: a node that stepped down for a newer leader's
	// election is already in its term.
	term := r.src.Raft.CurrentTerm()
	key := fmt.Sprint(leader, "\x00", term)
	if key == r.last {
		return true
	}
	r.last = key
	// Heartbeats are per leadership term: a new one starts with none
	// failed, and a failure in the old one is no news in it.
	r.failing = nil
	ev := event.Event{Source: r.src.ID, Time: r.now(), Type: event.Leaderless, Cluster: r.src.Cluster, Term: term}
	if leader != "" {
		ev.Type, ev.LeaderID = event.HasLeader, leader
	}
	return r.send(ctx, ev)
}

// membership sends the node's voters as members.changed if they changed;
// false when ctx ended first.
func (r *raftReporter) membership(ctx context.Context) bool {
	conf := r.src.Raft.GetConfiguration()
	if conf.Error() != nil {
		return true // shutting down: the next reconcile reports it gone
	}
	var ids []string
	for _, srv := range conf.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			ids = append(ids, string(srv.ID))
		}
	}
	slices.Sort(ids)
	key := strings.Join(ids, "\x00")
	if len(ids) == 0 || key == r.members {
		return true
	}
	r.members = key
	// raft leaves the future's Index at zero; the last log index, read
	// after the configuration, is at least the configuration's index for
	// all but a moment, and a node that missed a change has a lower one.
	index := r.src.Raft.LastIndex()
	return r.send(ctx, event.Event{Source: r.src.ID, Time: r.now(), Type: event.MembersChanged, Cluster: r.src.Cluster, Peers: ids, Index: index})
}

// gone reports the node itself disconnected: a dead leader stops counting
// at once.
func (r *raftReporter) gone(ctx context.Context) {
	r.send(ctx, event.Event{Source: r.src.ID, Time: r.now(), Type: event.PeerDisconnected, Peers: []string{r.src.ID}, Cluster: r.src.Cluster})
}

func (r *raftReporter) send(ctx context.Context, ev event.Event) bool {
	select {
	case r.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
