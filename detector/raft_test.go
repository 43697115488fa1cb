package detector_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/demo"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
)

// raftWatch is a view fed by a RaftSource on each node of a real cluster.
type raftWatch struct {
	t       *testing.T
	members bool
	cluster *demo.Cluster
	ctx     context.Context
	wg      sync.WaitGroup
	events  chan event.Event
	view    *detector.View
	states  []event.Event
	reports []event.Event // the members' reports, as the view took them
}

// newRaftWatch starts a cluster of n nodes; members tells the sources to
// send the configuration.
func newRaftWatch(t *testing.T, n int, members bool) *raftWatch {
	return newRaftWatchTuned(t, n, members, nil)
}

// newRaftWatchTuned is newRaftWatch with each node's raft config passed
// through tune.
func newRaftWatchTuned(t *testing.T, n int, members bool, tune func(string, *raft.Config)) *raftWatch {
	cluster, err := demo.StartTuned(n, tune)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &raftWatch{t: t, members: members, cluster: cluster, ctx: ctx, events: make(chan event.Event, 64), view: detector.NewView("c", nil, 500*time.Millisecond)}
	t.Cleanup(func() {
		cancel()
		w.wg.Wait()
		cluster.Close()
	})
	return w
}

// observe starts a source on node id; the function returned stops it
// without a word more, as a killed process would.
func (w *raftWatch) observe(id string) (stop func()) {
	src := &detector.RaftSource{Raft: w.cluster.Node(id).Raft(), ID: id, Cluster: "c", Reconcile: 50 * time.Millisecond, Members: w.members}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	w.wg.Go(func() { src.Run(ctx, w.events); close(done) })
	return func() { cancel(); <-done }
}

// until feeds the view until cond holds, failing after a deadline.
func (w *raftWatch) until(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case ev := <-w.events:
			w.reports = append(w.reports, ev)
			w.states = w.view.Advance(ev.Time, w.states)
			w.states = w.view.Observe(ev, w.states)
		case now := <-tick.C:
			w.states = w.view.Advance(now, w.states)
		case <-deadline:
			w.t.Fatalf("timed out waiting until %s; members %q, states %+v", what, w.view.Members(), w.states)
		}
	}
}

// Servers removed from the cluster stop being members: after two of three
// are replaced, losing one more server leaves the leader its majority.
func TestRaftSourceMembershipFollowsTheConfiguration(t *testing.T) {
	w := newRaftWatch(t, 3, true)
	for _, node := range w.cluster.Nodes() {
		w.observe(node.ID)
	}
	leader, err := w.cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.until("the leader is announced", func() bool { return w.view.State().LeaderID == leader })
	w.states = nil // the baseline may be leaderless: the first election can outlast the stabilize period
	var old []string
	for _, node := range w.cluster.Nodes() {
		if node.ID != leader {
			old = append(old, node.ID)
		}
	}
	for i, id := range []string{"node4", "node5"} {
		if err := w.cluster.Add(id, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		w.observe(id)
		if err := w.cluster.Remove(old[i], 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{leader, "node4", "node5"}
	slices.Sort(want)
	w.until("the members are the new configuration", func() bool { return slices.Equal(w.view.Members(), want) })

	if err := w.cluster.Stop("node5"); err != nil {
		t.Fatal(err)
	}
	w.until("node5 is down", func() bool { return w.view.Health().MembersUp == 2 })
	for _, ev := range w.states {
		if ev.Type == event.Leaderless {
			t.Errorf("false loss announced: %+v", ev)
		}
	}
	if got := w.view.State().LeaderID; got != leader {
		t.Errorf("leader = %q, want %q", got, leader)
	}
}

// By default a node's source sends no membership: a view fed by that node
// alone follows its leader, as the members it never hears from do not
// count.
func TestRaftSourceAloneFollowsItsLeader(t *testing.T) {
	w := newRaftWatch(t, 3, false)
	w.observe("node1")
	leader, err := w.cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.until("the leader is announced", func() bool { return w.view.State().LeaderID == leader })
	if got := w.view.Members(); !slices.Equal(got, []string{"node1"}) {
		t.Errorf("members = %q, want only the node that reports", got)
	}
}

// A consumer that stalls while the lead moves on must not have the moves
// replayed as the node's current answer afterwards: the reports that
// follow name the leader now, in its term, and no leader that has lost
// the lead since.
func TestRaftSourceAfterAStallReportsTheLeaderNow(t *testing.T) {
	cluster, err := demo.Start(3)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	first, err := cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	node := cluster.Node(first).Raft()
	sees := func(id string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for _, l := node.LeaderWithID(); string(l) != id; _, l = node.LeaderWithID() {
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("%s does not see %s lead", first, id)
			}
		}
	}
	sees(first)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan event.Event) // unread: the source stalls on its first report
	src := &detector.RaftSource{Raft: node, ID: first, Cluster: "c", Reconcile: time.Hour}
	done := make(chan struct{})
	go func() { src.Run(ctx, out); close(done) }()
	defer func() { cancel(); <-done }()

	var others []*demo.Node
	for _, n := range cluster.Nodes() {
		if n.ID != first {
			others = append(others, n)
		}
	}
	from := first
	for _, to := range others {
		if err := cluster.Node(from).Raft().LeadershipTransferToServer(raft.ServerID(to.ID), raft.ServerAddress(to.Addr)).Error(); err != nil {
			t.Fatal(err)
		}
		sees(to.ID)
		from = to.ID
	}
	term := node.CurrentTerm()

	next := func() event.Event {
		t.Helper()
		select {
		case ev := <-out:
			return ev
		case <-time.After(10 * time.Second):
			t.Fatal("no report")
		}
		return event.Event{}
	}
	if ev := next(); ev.LeaderID != first {
		t.Fatalf("first report %+v, want %s", ev, first)
	}
	if ev := next(); ev.Type != event.HasLeader || ev.LeaderID != from || ev.Term != term {
		t.Errorf("after the stall: %s leader %q term %d, want %s in term %d", ev.Type, ev.LeaderID, ev.Term, from, term)
	}
}

// A leader killed outright (kill -9: no shutdown, its source never says it
// is gone) leaves its last "I lead" behind. The new leader's heartbeats to
// it fail and set that word aside: the new leader is announced, and no
// split brain, however long the dead node stays down.
func TestRaftSourceKilledLeaderIsNoSplitBrain(t *testing.T) {
	const splitAfter = time.Second
	w := newRaftWatch(t, 3, true)
	w.view.SetSplitBrainAfter(splitAfter)
	stop := map[string]func(){}
	for _, node := range w.cluster.Nodes() {
		stop[node.ID] = w.observe(node.ID)
	}
	old, err := w.cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.until(old+" is announced", func() bool { return w.view.State().LeaderID == old })
	stop[old]()
	var rest []string
	for _, node := range w.cluster.Nodes() {
		if node.ID != old {
			rest = append(rest, node.ID)
		}
	}
	w.cluster.Network().Partition([]string{old}, rest)
	next, err := w.cluster.WaitLeader(old, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	from := len(w.states)
	w.until(next+" is announced", func() bool { return w.view.State().LeaderID == next })
	// Past the moment a split brain of the two claims would be announced.
	end := time.Now().Add(splitAfter + 500*time.Millisecond)
	w.until("split_brain_after has passed", func() bool { return time.Now().After(end) })
	for _, ev := range w.states[from:] {
		if ev.Type == event.SplitBrain {
			t.Errorf("%s killed, %s leads: false split brain announced: %+v", old, next, ev)
		}
	}
	// raft observes every failed heartbeat; the source reports the change.
	n := 0
	for _, ev := range w.reports {
		if ev.Type == event.PeerDisconnected && ev.Source == next && slices.Equal(ev.Peers, []string{old}) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s reported %s disconnected %d times, want once", next, old, n)
	}
}

// A follower the leader's heartbeats fail to reach is set aside, and
// counted again once they reach it: it never changed its mind, and says
// nothing itself (its long timeouts keep it a follower meanwhile).
func TestRaftSourceFollowerReachedAgainCounts(t *testing.T) {
	const cut = "node3"
	w := newRaftWatchTuned(t, 3, true, func(id string, c *raft.Config) {
		if id == cut {
			c.HeartbeatTimeout, c.ElectionTimeout = time.Minute, time.Minute
		}
	})
	for _, node := range w.cluster.Nodes() {
		w.observe(node.ID)
	}
	leader, err := w.cluster.WaitLeader("", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	report := func() detector.MemberReport { return w.view.State().Reports[cut] }
	w.until(cut+" follows "+leader, func() bool { return report().Follows == leader && w.view.State().LeaderID == leader })
	w.cluster.Network().Partition([]string{cut}, []string{"node1", "node2"})
	w.until(cut+" is set aside", func() bool { return report().Down && report().Follows == "" })
	w.cluster.Network().Heal()
	w.until(cut+" counts again", func() bool { r := report(); return !r.Down && r.Follows == leader && r.Held == "" })
}
