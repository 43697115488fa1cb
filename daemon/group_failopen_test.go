package daemon

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
)

// failOpenNode is the ha: block of node n1 of a group of two whose other
// node never runs: n1 has no leader, and soon decides and dispatches
// alone.
func failOpenNode(t *testing.T, dir string) string { return leaderlessNode(t, dir, "100ms") }

// leaderlessNode is the ha: block of node n1 of a group of two whose other
// node never runs, with fail_open_after: n1 never leads.
func leaderlessNode(t *testing.T, dir, failOpenAfter string) string {
	addr := freeAddr(t)
	return fmt.Sprintf("ha:\n  node_id: n1\n  bind: %q\n  data_dir: %s/raft\n  fail_open_after: %s\n  peers:\n"+
		"    - {id: n1, address: %q}\n    - {id: n2, address: %q}\n", addr, dir, failOpenAfter, addr, freeAddr(t))
}

// The group's first entry after a spell of fail-open ends it, and may
// itself decide a firing (here a loss the group took in). This node is a
// follower again: the group's leader delivers that firing, and this node
// must have stopped dispatching, not hand it to the dispatcher it ran
// alone with.
func TestGroupEntryEndingFailOpenIsNotDispatchedHere(t *testing.T) {
	srv := httptest.NewServer(&receiver{})
	t.Cleanup(srv.Close)
	h := newHarness(t, retireConfig, map[string]any{"Hook": srv.URL, "DB": false, "Rules": lostRule})
	h.write(map[string]any{"HA": failOpenNode(t, h.dir)})
	h.start(Options{})
	g := h.d.group
	at := time.Now().Round(0)
	for spell := range 3 {
		endSpell(t, g, spell, at)
		at = at.Add(time.Second)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending.Len() == 0 {
		t.Fatal("the entries decided no firing: the test proves nothing")
	}
}

// endSpell waits for this node to dispatch alone, then applies a group's
// entry deciding a firing, and checks that it ended the spell and its
// dispatcher at once.
func endSpell(t *testing.T, g *group, spell int, at time.Time) {
	t.Helper()
	waitFor(t, "this node to dispatch alone", func() bool { return g.runningAlone() && g.dispatching() })
	// The spell's dispatcher stops in the background, which would hide a
	// dispatcher kept: held until the check.
	release := make(chan struct{})
	defer close(release)
	g.applyMu.Lock()
	fo := g.failOpen
	stop := fo.stop
	fo.stop = func() { <-release; stop() }
	g.applyMu.Unlock()
	g.Apply(ha.Command{Kind: ha.Events, Cluster: "ziti", Events: []event.Event{
		{Source: "c1", Time: at, Type: event.HasLeader, LeaderID: "c1"},
		{Source: "c1", Time: at.Add(time.Millisecond), Type: event.Leaderless},
	}})
	// The group still has no leader, so another spell may begin at once:
	// what counts is that this one ended, its dispatcher with it.
	g.applyMu.Lock()
	ended := g.failOpen != fo
	g.applyMu.Unlock()
	if !ended {
		t.Fatal("the group committed an entry, and this node's spell alone goes on")
	}
	g.mu.Lock()
	kept := g.disp == fo.disp
	g.mu.Unlock()
	if kept {
		t.Fatalf("spell %d: a follower that was alone dispatches the group's firing, as only the leader may", spell)
	}
}
