package detector_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/demo"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
)

// BenchmarkRaftDetection measures detection overhead on a real 3-node raft
// cluster over TCP. Leadership is transferred; from the moment the transfer
// is asked for, it records when raft's own notification reaches the new
// leader's LeaderCh (what an application on raft would act on) and when
// RaftSource emits its has_leader event (the event's time, taken as it is
// sent). Both follow the same state change in parallel, so the difference
// per transfer can be negative: raft tells its observers before LeaderCh.
// One op is one leadership transfer.
func BenchmarkRaftDetection(b *testing.B) {
	cluster, err := demo.Start(3)
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	if _, err := cluster.WaitLeader("", 10*time.Second); err != nil {
		b.Fatal(err)
	}
	type stamp struct {
		id string
		at time.Time
	}
	events := make(chan event.Event, 64)
	became := make(chan stamp, 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, n := range cluster.Nodes() {
		src := &detector.RaftSource{Raft: n.Raft(), ID: n.ID, Cluster: "c"}
		go src.Run(ctx, events)
		go func(id string, ch <-chan bool) {
			for leader := range ch {
				if leader {
					became <- stamp{id, time.Now()}
				}
			}
		}(n.ID, n.Raft().LeaderCh())
	}
	// Forget the initial election.
	time.Sleep(300 * time.Millisecond)
	for len(became) > 0 {
		<-became
	}
	for len(events) > 0 {
		<-events
	}
	var raftLat, eventLat, diff []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		leader := cluster.Leader()
		asked := time.Now()
		if err := cluster.Node(leader).Raft().LeadershipTransfer().Error(); err != nil {
			b.Fatal(err)
		}
		var got stamp
		for got.id == "" || got.id == leader {
			select {
			case got = <-became:
			case <-time.After(10 * time.Second):
				b.Fatal("no new leader")
			}
		}
		for {
			ev := <-events
			if ev.Source == got.id && ev.Type == event.HasLeader && ev.LeaderID == got.id {
				raftLat = append(raftLat, got.at.Sub(asked))
				eventLat = append(eventLat, ev.Time.Sub(asked))
				diff = append(diff, ev.Time.Sub(got.at))
				break
			}
		}
		// Let the followers settle before the next transfer.
		time.Sleep(50 * time.Millisecond)
		for cluster.Leader() == "" {
			time.Sleep(time.Millisecond)
		}
	}
	b.StopTimer()
	report := func(lat []time.Duration, name string) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), name+"-p99-µs")
	}
	report(raftLat, "leaderch")
	report(eventLat, "event")
	report(diff, "overhead")
}
