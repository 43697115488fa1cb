package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// ruleDelay is how long a cluster goes without a leader before the rule
// pages.
const ruleDelay = time.Second

// round is one kill of the group's leader; times are seconds after the
// kill.
type round struct {
	Killed    string  `json:"killed"`
	NewLeader string  `json:"new_leader"`
	Due       float64 `json:"due_s"`       // the firing was due: the loss + ruleDelay
	NoLeader  float64 `json:"no_leader_s"` // a survivor says it leads the group
	Page      float64 `json:"page_s"`      // the receiver got the page
}

// failoverDelay is the delay the failover caused: kill → page, less the
// wait for the rule that would have elapsed anyway.
func (r round) failoverDelay() float64 { return r.Page - max(0, r.Due) }

// failovers kills the group's leader n times, one round after the other.
func (g *group) failovers(ctx context.Context, n int, recv *receiver) ([]round, error) {
	var rounds []round
	for i := range n {
		r, err := g.failover(ctx, fmt.Sprintf("round%02d", i+1), recv)
		if err != nil {
			return rounds, fmt.Errorf("round %d: %w", i+1, err)
		}
		slog.Info("leader killed", "round", i+1, "killed", r.Killed, "new_leader", r.NewLeader,
			"no_leader_s", r.NoLeader, "page_s", r.Page, "failover_s", r.failoverDelay())
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// failover is one round: a member reports a leader, then none, to a
// follower; the group's leader is killed at once, before the firing is
// due; the round ends when the page arrived and the group has a leader
// again, and the killed node is started again.
func (g *group) failover(ctx context.Context, marker string, recv *receiver) (round, error) {
	leader, err := g.agree(ctx, time.Minute)
	if err != nil {
		return round{}, err
	}
	url := eventsURL(g.nodes[(leader+1)%groupSize], clusterIncidents)
	if _, err := post(ctx, http.DefaultClient, url, eventAt("c1", "state.has_leader", marker, time.Now()), 10*time.Second); err != nil {
		return round{}, fmt.Errorf("the baseline event: %w", err)
	}
	lossAt := time.Now()
	if _, err := post(ctx, http.DefaultClient, url, eventAt("c1", "state.is_leaderless", "", lossAt), 10*time.Second); err != nil {
		return round{}, fmt.Errorf("the loss event: %w", err)
	}
	killedAt := time.Now()
	g.nodes[leader].kill()
	r := round{Killed: g.nodes[leader].name, Due: lossAt.Add(ruleDelay).Sub(killedAt).Seconds()}
	if err := g.watchFailover(ctx, leader, killedAt, marker, recv, &r); err != nil {
		return r, err
	}
	if err := g.nodes[leader].start(ctx); err != nil {
		return r, fmt.Errorf("restarting the killed node: %w", err)
	}
	return r, nil
}

// watchFailover waits for a survivor to lead and for the page, and notes
// when each came.
func (g *group) watchFailover(ctx context.Context, lost int, killedAt time.Time, marker string, recv *receiver, r *round) error {
	deadline := killedAt.Add(time.Minute)
	for r.NewLeader == "" || r.Page == 0 {
		if r.NewLeader == "" {
			if i := g.newLeader(lost); i >= 0 {
				r.NewLeader, r.NoLeader = g.nodes[i].name, time.Since(killedAt).Seconds()
			}
		}
		if at, ok := recv.firstFiring("lost", marker); ok && r.Page == 0 {
			r.Page = at.Sub(killedAt).Seconds()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no new leader (%q) or no page (%.2f s) within a minute of the kill", r.NewLeader, r.Page)
		}
		if err := pause(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
