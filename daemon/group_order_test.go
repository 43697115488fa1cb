package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/ha"
)

// A firing and its resolve decided at the same instant (stabilize of 0,
// timestamps of one second) are resumed by the next leader in the order
// the group decided them, whatever their ids: a resolve never overtakes
// its firing. Every node applies the log in the same order, and so does
// one that restores a snapshot of it.
func TestGroupPendingKeepsTheOrderOfDecisions(t *testing.T) {
	for _, ids := range [][2]string{{"msg_b", "msg_a"}, {"msg_a", "msg_b"}} {
		t.Run(ids[0]+" then "+ids[1], func(t *testing.T) {
			h := newHarness(t, retireConfig, map[string]any{"Hook": closedURL(t), "DB": false, "Rules": lostRule})
			h.write(map[string]any{"HA": leaderlessNode(t, h.dir, "0s")})
			h.runSources(Options{})
			g := h.d.group
			at := time.Now().Truncate(time.Second)
			firing, resolve := orderedDelivery(ids[0], actions.StatusFiring, at), orderedDelivery(ids[1], actions.StatusResolved, at)
			for _, del := range []dispatch.Delivery{firing, resolve, firing} { // the last: an attempt of the firing failed
				g.Apply(ha.Command{Kind: ha.Pending, Delivery: &del})
			}
			pendingIDs := func() []string {
				g.mu.Lock()
				defer g.mu.Unlock()
				var got []string
				for _, del := range g.pendingList() {
					got = append(got, del.ID)
				}
				return got
			}
			if got := pendingIDs(); !slices.Equal(got, ids[:]) {
				t.Errorf("pending %v, want the order decided, %v", got, ids)
			}
			image, err := g.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids { // nothing left for the restore to keep
				g.Apply(ha.Command{Kind: ha.Done, ID: id})
			}
			if err := g.Restore(image); err != nil {
				t.Fatal(err)
			}
			if got := pendingIDs(); !slices.Equal(got, ids[:]) {
				t.Errorf("after a snapshot's restore, pending %v, want the order decided, %v", got, ids)
			}
		})
	}
}

func orderedDelivery(id, status string, firedAt time.Time) dispatch.Delivery {
	return dispatch.Delivery{ID: id, Action: "hook", Notification: actions.Notification{
		Rule: "lost", Status: status, Cluster: "ziti", FiredAt: firedAt, DeliveryID: id}}
}
