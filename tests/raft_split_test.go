package tests

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/event"
)

// waitState waits for a state or split-brain announcement that matches,
// after the first from, and returns it.
func (w *watched) waitState(what string, from int, match func(event.Event) bool) event.Event {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.mu.Lock()
		i := -1
		for j := from; j < len(w.states) && i < 0; j++ {
			if match(w.states[j]) {
				i = j
			}
		}
		var ev event.Event
		if i >= 0 {
			ev = w.states[i]
		}
		states := slices.Clone(w.states)
		w.mu.Unlock()
		if i >= 0 {
			return ev
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s; announced: %v", what, states)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRaftChangeKind: a leadership transfer is a transfer; killing the
// leader is a failover.
func TestRaftChangeKind(t *testing.T) {
	w := watch(t, 3, 2*time.Second)
	first := w.leader("")
	w.waitStates(1)
	if err := w.cluster.Node(first).Raft().LeadershipTransfer().Error(); err != nil {
		t.Fatal(err)
	}
	moved := w.waitState("the transfer", 0, func(ev event.Event) bool { return ev.Type == event.HasLeader && ev.LeaderID != first })
	if moved.ChangeKind != event.ChangeTransfer {
		t.Errorf("leadership transferred from %s to %s: change_kind %q, want transfer", first, moved.LeaderID, moved.ChangeKind)
	}
	before := w.count()
	w.stop(moved.LeaderID)
	failed := w.waitState("the failover", before, func(ev event.Event) bool { return ev.Type == event.HasLeader })
	if failed.ChangeKind != event.ChangeFailover {
		t.Errorf("leader %s killed, %s leads: change_kind %q, want failover: %v", moved.LeaderID, failed.LeaderID, failed.ChangeKind, w.kinds())
	}
}

// TestRaftSplitBrain cuts off a leader that holds its lease for seconds:
// the other two elect a leader in a newer term while the old one still
// claims the lead. The split brain is announced with both claimants and
// their terms, and resolved when the old leader steps down.
func TestRaftSplitBrain(t *testing.T) {
	const stale = "node1"
	w := watchTuned(t, 3, 2*time.Second, time.Second, func(id string, c *raft.Config) {
		if id == stale {
			c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 5*time.Second, 5*time.Second, 5*time.Second
		}
	})
	if first := w.leader(""); first != stale {
		node := w.cluster.Node(stale)
		if err := w.cluster.Node(first).Raft().LeadershipTransferToServer(raft.ServerID(stale), raft.ServerAddress(node.Addr)).Error(); err != nil {
			t.Fatal(err)
		}
	}
	w.waitState(stale+" leads", 0, func(ev event.Event) bool { return ev.Type == event.HasLeader && ev.LeaderID == stale })
	cut := w.count()
	w.cluster.Network().Partition([]string{stale}, others(w.cluster.Nodes(), stale))
	next := w.waitState("a new leader", cut, func(ev event.Event) bool { return ev.Type == event.HasLeader && ev.LeaderID != stale })
	if next.ChangeKind != event.ChangeFailover {
		t.Errorf("the leader cut off, %s leads: change_kind %q, want failover", next.LeaderID, next.ChangeKind)
	}
	split := w.waitState("the split brain", cut, func(ev event.Event) bool { return ev.Type == event.SplitBrain })
	ids := []string{split.Leaders[0].ID}
	if len(split.Leaders) == 2 {
		ids = append(ids, split.Leaders[1].ID)
	}
	if len(split.Leaders) != 2 || !slices.Contains(ids, stale) || !slices.Contains(ids, next.LeaderID) {
		t.Fatalf("split brain announced with leaders %v, want %s and %s", split.Leaders, stale, next.LeaderID)
	}
	var staleTerm, newTerm uint64
	for _, c := range split.Leaders {
		if c.ID == stale {
			staleTerm = c.Term
		} else {
			newTerm = c.Term
		}
	}
	if staleTerm == 0 || newTerm <= staleTerm {
		t.Errorf("claimants' terms: %s %d, %s %d: want the new leader's newer", stale, staleTerm, next.LeaderID, newTerm)
	}
	if held := split.Time.Sub(split.Since); held < time.Second {
		t.Errorf("split brain announced %s after it began, want at least split_brain_after (1s)", held)
	}
	w.waitState("the end of the split brain", cut, func(ev event.Event) bool { return ev.Type == event.SplitBrainResolved })
	w.cluster.Network().Heal()
}

func (w *watched) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.states)
}

func (w *watched) kinds() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, ev := range w.states {
		out = append(out, ev.String()+" kind="+ev.ChangeKind+" prev="+ev.PreviousLeaderID)
	}
	return out
}
