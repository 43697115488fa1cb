package store

import (
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
)

// BenchmarkJournal: one delivery journaled as pending, then done: what
// each firing costs the decision goroutine and the worker.
func BenchmarkJournal(b *testing.B) {
	d, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	now := time.Now()
	del := dispatch.Delivery{ID: "msg_1", Action: "hook", Notification: actions.Notification{
		Rule: "leaderless-30s", Status: actions.StatusFiring, Cluster: "ziti", FiredAt: now,
		EventType: event.HasLeader, LeaderID: "ctrl2", PreviousLeaderID: "ctrl1",
		Event: map[string]any{"namespace": "cluster", "event_src_id": "leaderhook", "timestamp": now.Format(event.TimeLayout),
			"eventType": event.HasLeader, "leaderId": "ctrl2", "cluster": "ziti", "previousLeaderId": "ctrl1"},
	}}
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Pending(del); err != nil {
			b.Fatal(err)
		}
		if err := d.Done(del.ID); err != nil {
			b.Fatal(err)
		}
	}
}
