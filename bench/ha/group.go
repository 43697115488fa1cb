package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// groupSize is the number of nodes of the group.
const groupSize = 3

// group is the three nodes of a leaderhook group on 127.0.0.1.
type group struct {
	nodes []*node
}

// startGroup starts a group and waits until its nodes agree on a leader.
func startGroup(ctx context.Context, bin, dir, receiver string) (*group, error) {
	g := &group{}
	peers := make([]peer, groupSize)
	for i := range peers {
		bind, err := freeAddr()
		if err != nil {
			return g, err
		}
		peers[i] = peer{id: fmt.Sprintf("lh%d", i+1), bind: bind}
	}
	for i, p := range peers {
		n, err := newNode(bin, dir, p.id, receiver, i, peers)
		if err != nil {
			return g, err
		}
		g.nodes = append(g.nodes, n)
	}
	for _, n := range g.nodes {
		if err := n.start(ctx); err != nil {
			return g, err
		}
	}
	leader, err := g.agree(ctx, time.Minute)
	if err == nil {
		slog.Info("group up", "leader", g.nodes[leader].name)
	}
	return g, err
}

func (g *group) stop() {
	for _, n := range g.nodes {
		n.stop()
	}
}

// agree waits until every node names the same leader and its API, the
// leader says it leads, and returns the leader's index.
func (g *group) agree(ctx context.Context, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for {
		if i, ok := g.agreed(); ok {
			return i, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("the group did not agree on a leader within %s", within)
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return -1, err
		}
	}
}

func (g *group) agreed() (int, bool) {
	leader, id, api := -1, "", ""
	for i, n := range g.nodes {
		s, err := n.status()
		if err != nil || s.LeaderID == "" || s.LeaderAPI == "" {
			return -1, false
		}
		if id != "" && (s.LeaderID != id || s.LeaderAPI != api) {
			return -1, false
		}
		id, api = s.LeaderID, s.LeaderAPI
		if s.Role == "leader" {
			leader = i
		}
	}
	return leader, leader >= 0 && g.nodes[leader].api == api
}

// newLeader returns the index of a node other than lost that says it
// leads the group, or -1.
func (g *group) newLeader(lost int) int {
	for i, n := range g.nodes {
		if i == lost {
			continue
		}
		if s, err := n.status(); err == nil && s.Role == "leader" {
			return i
		}
	}
	return -1
}
