package daemon

import (
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
)

// The group's time is what its log says: the instants of the events and
// time advances applied. A reload on one node must not move it to that
// node's clock: the events the group applies next, dated before it, would
// be late there only, and its rules' episodes would begin at other
// instants than on the other nodes (other delivery ids after a failover).
func TestGroupReloadKeepsTheGroupsTime(t *testing.T) {
	h := newHarness(t, retireConfig, map[string]any{"Hook": closedURL(t), "DB": false, "Rules": lostRule})
	h.write(map[string]any{"HA": leaderlessNode(t, h.dir, "0s")})
	h.runSources(Options{})
	g := h.d.group
	groupTime := func() (now time.Time) {
		h.d.driver.Do(func() { now = h.d.driver.Now() })
		return now
	}
	at := time.Now().Add(-time.Hour).Round(0) // a quiet group's last entry
	g.Apply(ha.Command{Kind: ha.Events, Cluster: "ziti", Events: []event.Event{{Source: "c1", Time: at, Type: event.HasLeader, LeaderID: "c1"}}})
	h.reloadTo("POST /-/reload", nil)
	if now := groupTime(); !now.Equal(at) {
		t.Fatalf("after a reload on a follower, the group's time there is %v, want %v as the log left it", now, at)
	}
	g.Apply(ha.Command{Kind: ha.Events, Cluster: "ziti", Events: []event.Event{{Source: "c1", Time: at.Add(time.Second), Type: event.Leaderless}}})
	if now := groupTime(); !now.Equal(at.Add(time.Second)) {
		t.Errorf("the group's next entry applied at %v, want %v", now, at.Add(time.Second))
	}
}
