package daemon

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
)

// A leader that steps down keeps its dispatcher until its turn has ended
// (its polls stopped, its advance returned), while raft already applies
// the next leader's entries. Those entries' firings are the next leader's
// to deliver: as soon as raft says this node no longer leads, the first
// entry applied must find it no longer dispatching. Here the node never
// leads (its only peer never runs), and a dispatcher started as lead()
// does plays the turn not yet ended.
func TestGroupEntryAfterSteppingDownIsNotDispatchedHere(t *testing.T) {
	srv := httptest.NewServer(&receiver{})
	t.Cleanup(srv.Close)
	h := newHarness(t, retireConfig, map[string]any{"Hook": srv.URL, "DB": false, "Rules": lostRule})
	h.write(map[string]any{"HA": leaderlessNode(t, h.dir, "0s")})
	h.runSources(Options{})
	g := h.d.group
	_, stop := g.dispatch(false)
	defer stop()
	at := time.Now().Round(0)
	g.Apply(ha.Command{Kind: ha.Events, Cluster: "ziti", Events: []event.Event{
		{Source: "c1", Time: at, Type: event.HasLeader, LeaderID: "c1"},
		{Source: "c1", Time: at.Add(time.Millisecond), Type: event.Leaderless},
	}})
	if g.dispatching() {
		t.Error("a node that no longer leads dispatches the firing of an entry applied after it stepped down")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending.Len() == 0 {
		t.Fatal("the entry decided no firing: the test proves nothing")
	}
}

// A leader's turn that lost the lead after catching up with the log (raft
// stepped down in between) starts no dispatcher: it would resume every
// pending delivery, the next leader's included, on a node that no longer
// leads. Here the node never leads.
func TestLeaderTurnThatNoLongerLeadsDoesNotDispatch(t *testing.T) {
	h := newHarness(t, retireConfig, map[string]any{"Hook": closedURL(t), "DB": false, "Rules": lostRule})
	h.write(map[string]any{"HA": leaderlessNode(t, h.dir, "0s")})
	h.runSources(Options{})
	g := h.d.group
	disp, stop := g.dispatch(true)
	defer stop()
	if disp != nil || g.dispatching() {
		t.Error("a leader's turn on a node that no longer leads started dispatching")
	}
}

// A turn whose dispatcher was taken at a step-down starts again when raft
// tells of a change, even if this node leads again by then (the loss and
// the gain coalesced): a turn left running would lead without dispatching.
func TestLeadershipStartsAgainAfterASteppedDownTurn(t *testing.T) {
	for _, tc := range []struct {
		name            string
		leading, stale  []bool
		starts, running int32
		endsAlone       bool // the first turn returns by itself, as lead() after a step-down
	}{
		{name: "gained", leading: []bool{true}, stale: []bool{false}, starts: 1, running: 1},
		{name: "gained twice", leading: []bool{true, true}, stale: []bool{false, false}, starts: 1, running: 1},
		{name: "lost", leading: []bool{true, false}, stale: []bool{false, true}, starts: 1, running: 0},
		{name: "lost and gained, coalesced", leading: []bool{true, true}, stale: []bool{false, true}, starts: 2, running: 1},
		{name: "turn ended by itself, then gained", leading: []bool{true, true}, stale: []bool{false, false}, starts: 2, running: 1, endsAlone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var starts, running atomic.Int32
			l := leadership{start: func(ctx context.Context) {
				first := starts.Add(1) == 1
				running.Add(1)
				defer running.Add(-1)
				if first && tc.endsAlone {
					return
				}
				<-ctx.Done()
			}}
			defer l.stop()
			for i := range tc.leading {
				if i > 0 && tc.endsAlone {
					waitFor(t, "the first turn to end by itself", l.ended)
				}
				l.set(ctx, tc.leading[i], tc.stale[i])
			}
			waitFor(t, fmt.Sprintf("%d turns started, %d running", tc.starts, tc.running), func() bool {
				return starts.Load() == tc.starts && running.Load() == tc.running
			})
		})
	}
}
