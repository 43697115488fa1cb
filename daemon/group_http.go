package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
	"github.com/leaderhook/leaderhook/metrics"
)

// forwardCommand hands an input this node took in (events, a window of
// expected changes) to the leader, which proposes it.
func (g *group) forwardCommand(ctx context.Context, c ha.Command) error {
	g.mu.Lock()
	leaderAPI := g.leaderAPI
	g.mu.Unlock()
	if leaderAPI == "" || leaderAPI == g.api {
		return errNoLeader
	}
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, leaderAPI+"/v1/ha/forward", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token := g.d.config().Server.IngestToken; token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("forwarding to the leader at %s: %w", leaderAPI, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("forwarding to the leader at %s: %s: %s", leaderAPI, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// takeForwarded is POST /v1/ha/forward: events (or a window of expected
// changes) another node took in, or a change to an action's memory it
// made while it ran alone.
func (g *group) takeForwarded(_ context.Context, body []byte) error {
	var c ha.Command
	if err := json.Unmarshal(body, &c); err != nil || !forwardable(c) {
		return fmt.Errorf("not a forwarded batch of events: %v", err)
	}
	if len(c.Keys) > 0 { // taken over HTTP: the follower's sender hears it
		if err := g.backedUp(c.Cluster); err != nil {
			return err
		}
	}
	switch {
	case g.runningAlone() && c.Kind == ha.Events:
		return g.applyAlone(c)
	case g.node.IsLeader():
		if err := g.node.Propose(c, proposeTimeout); err != nil {
			return fmt.Errorf("%w: %v", api.ErrBusy, err)
		}
		return nil
	}
	return fmt.Errorf("%w: this node no longer leads the group", api.ErrBusy)
}

// backedUp is api.ErrBusy while this node dispatches (it leads, or runs
// alone) and one of the cluster's action queues is full. Unlike a daemon
// alone's check it does not hold the pipeline: requests at once may each
// pass and queue a little past the size, which never drops a delivery.
func (g *group) backedUp(cluster string) error {
	g.mu.Lock()
	disp := g.disp
	g.mu.Unlock()
	if disp != nil && disp.Full(cluster) {
		return fmt.Errorf("%w: the deliveries of cluster %s are backed up", api.ErrBusy, cluster)
	}
	return nil
}

// forwardable: what a node hands the leader to propose.
func forwardable(c ha.Command) bool {
	switch c.Kind {
	case ha.Events, ha.Expect:
		return true
	case ha.Memory:
		return c.Memory != nil && c.Memory.IfUnchanged
	}
	return false
}

// ingest is POST /v1/events in a group: nil (a 202) means the events are
// in the group's log, committed on a majority of nodes. Each carries its
// key as its member sent it, before dating (which makes a late event's
// time its arrival's), so that the group applies it once wherever and
// however often it is sent. While one of the cluster's action queues is
// full on the node that dispatches, it takes nothing and returns
// api.ErrBusy, as a daemon alone does: here, or from the leader a
// follower forwards to.
func (g *group) ingest(ctx context.Context, cluster string, evs []event.Event) error {
	if err := g.backedUp(cluster); err != nil {
		return err
	}
	keys := eventKeys(evs)
	g.date(evs)
	if err := g.submitEvents(ctx, ha.Command{Kind: ha.Events, Cluster: cluster, Events: evs, Keys: keys}); err != nil {
		return fmt.Errorf("%w: %v", api.ErrBusy, err)
	}
	return nil
}

// groupStatus is GET /v1/ha.
type groupStatus struct {
	ha.Status
	LeaderAPI       string  `json:"leader_api,omitempty"`
	FailOpen        bool    `json:"fail_open"`
	FailOpenAfter   string  `json:"fail_open_after"`
	PendingCount    int     `json:"pending_deliveries"`
	Dispatching     bool    `json:"dispatching"`
	LeaderChanges   int     `json:"leader_changes"`
	FailOpenSeconds float64 `json:"fail_open_seconds"`
}

func (g *group) status() groupStatus {
	s := groupStatus{Status: g.node.Status(), FailOpen: g.runningAlone(), FailOpenAfter: g.cfg.FailOpen().String(),
		FailOpenSeconds: g.failOpenSeconds()}
	if s.FailOpen {
		s.Role = "fail-open"
	}
	g.mu.Lock()
	s.LeaderAPI, s.PendingCount, s.Dispatching, s.LeaderChanges = g.leaderAPI, g.pending.Len(), g.disp != nil, g.stats.leaderChanges
	g.mu.Unlock()
	return s
}

func (g *group) apiHandlers() *api.Group {
	return &api.Group{
		Status:  func() any { return g.status() },
		Forward: g.takeForwarded,
		Join:    g.onLeader(func(id, addr string) error { return g.node.AddVoter(id, addr) }),
		Remove: func(id string) error {
			return g.onLeader(func(id, _ string) error { return g.node.RemoveServer(id) })(id, "")
		},
	}
}

// onLeader runs a change of the group's members, which only its leader
// can make.
func (g *group) onLeader(f func(id, addr string) error) func(id, addr string) error {
	return func(id, addr string) error {
		if !g.node.IsLeader() {
			g.mu.Lock()
			leader := g.leaderAPI
			g.mu.Unlock()
			return fmt.Errorf("%w: only the group's leader changes its members; the leader's API is %q", errNotLeaderHere, leader)
		}
		return f(id, addr)
	}
}

var errNotLeaderHere = errors.New("this node does not lead the group")

// ready: a node is ready while the group has a leader it can hand events
// to, or while it runs alone.
func (g *group) ready() error {
	if g.runningAlone() || g.node.LeaderID() != "" {
		return nil
	}
	return errors.New("the group has no leader yet (fail-open after " + g.cfg.FailOpen().String() + ")")
}

func (g *group) metrics() metrics.GroupStats {
	s := g.status()
	return metrics.GroupStats{Role: s.Role, Term: s.Term, AppliedIndex: s.AppliedIndex, CommitIndex: s.CommitIndex,
		LeaderChanges: s.LeaderChanges, FailOpenSeconds: s.FailOpenSeconds}
}
