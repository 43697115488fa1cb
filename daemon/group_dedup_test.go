package daemon

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
)

// Every node of a group may be sent the same events (docs/ha.md), and a
// sender whose answer was lost sends its batch again: the group decides
// each event once, also after a restart from its snapshot. Decided again,
// a loss and its end resent would page and resolve a second time.
func TestGroupDecidesAResentBatchOnce(t *testing.T) {
	recv := &receiver{}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	h := newHarness(t, retireConfig, map[string]any{"Hook": srv.URL, "DB": false, "Rules": lostRule})
	h.write(map[string]any{"HA": oneNodeGroup(t, h.dir)})
	h.start(Options{})
	post := func(what, body string) {
		t.Helper()
		if code, answer := h.post("/v1/events?cluster=ziti", "", body); code != 202 {
			t.Fatalf("%s: %d %s", what, code, answer)
		}
	}
	now := time.Now()
	post("baseline", evAt("c1", event.HasLeader, "c1", now))
	// A loss and its end in one batch, as a forwarder sends them.
	batch := evAt("c1", event.Leaderless, "", now.Add(time.Millisecond)) + "\n" +
		evAt("c1", event.HasLeader, "c2", now.Add(2*time.Millisecond)) + "\n"
	post("batch", batch)
	post("the batch sent again", batch)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	post("the batch sent again after a restart", batch)

	// A notification decided after them, and nothing pending: every
	// delivery they caused was made.
	post("the next notification", ev("c1", event.HasLeader, "c9"))
	waitFor(t, "every delivery made", func() bool {
		return recv.received("other", "firing") == 1 && h.d.group.status().PendingCount == 0
	})
	if f, r := recv.received("lost", "firing"), recv.received("lost", "resolved"); f != 1 || r != 1 {
		t.Errorf("%d firings and %d resolves of lost, want 1 and 1: %+v", f, r, recv.deliveries())
	}
}

// An entry of the group's log is applied whole without a key for each
// event (an older version's, a node's own sources'), and once with them.
func TestGroupLeavesOutEventsAppliedAlready(t *testing.T) {
	evs := []event.Event{{Source: "c1", Type: event.Leaderless}, {Source: "c1", Type: event.HasLeader, LeaderID: "c2"}}
	for _, tc := range []struct {
		name  string
		keys  []string
		again int // events applied the second time
	}{
		{name: "without keys", again: 2},
		{name: "with a key for each", keys: eventKeys(evs), again: 0},
		{name: "with too few keys", keys: eventKeys(evs[:1]), again: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &group{}
			c := ha.Command{Kind: ha.Events, Cluster: "ziti", Events: evs, Keys: tc.keys}
			if n := len(g.unseen(c)); n != 2 {
				t.Fatalf("applied %d events the first time, want 2", n)
			}
			if n := len(g.unseen(c)); n != tc.again {
				t.Errorf("applied %d events the second time, want %d", n, tc.again)
			}
		})
	}
}

// A node restoring a snapshot forgets the events it remembers in the
// order the others do, so that all leave out the same ones.
func TestRestoredRecentForgetsInTheSameOrder(t *testing.T) {
	var r recent
	for i := range recentEvents + 10 {
		r.repeat(strconv.Itoa(i))
	}
	restored := restoreRecent(r.keys())
	for name, x := range map[string]*recent{"kept": &r, "restored": &restored} {
		x.repeat("new") // forgets 10, the oldest
		if !x.repeat("11") || !x.repeat("new") || x.repeat("10") || x.repeat("9") {
			t.Errorf("%s: does not remember 11 to new and only them", name)
		}
	}
}
