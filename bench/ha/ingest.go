package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Where the ingest runs post.
const (
	viaAlone    = "alone"
	viaLeader   = "leader"
	viaFollower = "follower"
)

// ingestRow is the ingest runs of one target: events accepted (202) per
// second by one sender, and by concurrent senders; refusals (503) were
// sent again.
type ingestRow struct {
	Via        string  `json:"via"`
	Sequential float64 `json:"sequential_per_s"`
	Concurrent float64 `json:"concurrent_per_s"`
	Refused    int64   `json:"refused"`
}

// measureAlone measures one process without ha:.
func measureAlone(ctx context.Context, o options, dir, receiver string) (ingestRow, error) {
	n, err := newNode(o.bin, dir, "alone", receiver, 0, nil)
	if err != nil {
		return ingestRow{}, err
	}
	defer n.stop()
	if err := n.start(ctx); err != nil {
		return ingestRow{}, err
	}
	return ingest(ctx, viaAlone, eventsURL(n, clusterLoad), o)
}

// measureIngest measures the group through its leader, then through a
// follower, which forwards to the leader.
func (g *group) measureIngest(ctx context.Context, o options) ([]ingestRow, error) {
	leader, err := g.agree(ctx, time.Minute)
	if err != nil {
		return nil, err
	}
	var rows []ingestRow
	for _, via := range []string{viaLeader, viaFollower} {
		n := g.nodes[leader]
		if via == viaFollower {
			n = g.nodes[(leader+1)%groupSize]
		}
		row, err := ingest(ctx, via, eventsURL(n, clusterLoad), o)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func ingest(ctx context.Context, via, url string, o options) (ingestRow, error) {
	row := ingestRow{Via: via}
	for _, senders := range []int{1, o.senders} {
		rate, refused, err := load(ctx, url, senders, o.load)
		if err != nil {
			return row, fmt.Errorf("ingest via %s, %d senders: %w", via, senders, err)
		}
		slog.Info("ingest", "via", via, "senders", senders, "events_per_s", int(rate), "refused", refused)
		if senders == 1 {
			row.Sequential = rate
		} else {
			row.Concurrent = rate
		}
		row.Refused += refused
	}
	return row, nil
}

// load runs senders that each post one event per request, one at a time,
// for d; it returns the events accepted per second and the refusals.
func load(ctx context.Context, url string, senders int, d time.Duration) (float64, int64, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var accepted, refused atomic.Int64
	var failed atomic.Pointer[error]
	fail := func(err error) { failed.CompareAndSwap(nil, &err) }
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s; time.Now().Before(deadline) && failed.Load() == nil; i++ {
				body := eventAt(fmt.Sprintf("m%d", i%3), "state.has_leader", "m1", time.Now())
				code, wait, err := postOnce(ctx, client, url, body)
				switch {
				case err != nil:
					fail(err)
				case code == http.StatusAccepted:
					accepted.Add(1)
				case code == http.StatusServiceUnavailable:
					refused.Add(1)
					pause(ctx, min(wait, time.Until(deadline)))
				default:
					fail(fmt.Errorf("POST %s: answered %d", url, code))
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		return 0, 0, *err
	}
	return float64(accepted.Load()) / time.Since(start).Seconds(), refused.Load(), nil
}
