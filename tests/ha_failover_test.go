package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// haRules: a loss of leader pages after a second without one, and
// resolves; a leader change is told once an hour at most.
const haRules = `  - name: lost
    when: leaderless && leaderless_for >= duration("1s")
    actions: [hook]
    on_resolve: [hook]
  - name: changed
    when: type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id
    actions: [hook]
    cooldown: 1h`

// TestHALeaderKilled20Times kills the leaderhook leader with SIGKILL in 20
// incidents, at three moments: before the firing is due, while its
// delivery is being retried, and after it was delivered. Every firing and
// resolve is delivered under one id; the cooldown holds across failovers.
func TestHALeaderKilled20Times(t *testing.T) {
	g := startGroup(t, "1m", haRules)
	for round := range 20 {
		before, after := fmt.Sprintf("r%02da", round), fmt.Sprintf("r%02db", round)
		leader := g.leader()
		other := (leader + 1) % haNodes
		start := time.Now()
		g.post(other, eventAt("c1", "state.has_leader", before, start))
		lossAt := start.Add(10 * time.Millisecond)
		moment := round % 3
		if moment == 1 {
			g.receiver.fail(true)
		}
		g.post(other, eventAt("c1", "state.is_leaderless", "", lossAt))
		switch moment {
		case 1: // while the delivery is being retried
			waitFor(t, "a failed attempt", func() bool { r, _ := g.receiver.deliveries("lost", "firing", before); return len(r) > 0 }, g.live()...)
		case 2: // after it was delivered
			g.waitDelivered(round, "lost", "firing", before)
		}
		g.kill9(leader)
		g.receiver.fail(false)
		g.waitDelivered(round, "lost", "firing", before)
		g.post(other, eventAt("c1", "state.has_leader", after, time.Now()))
		g.waitDelivered(round, "lost", "resolved", after)
		g.restart(leader)
	}
	// Only the first change of leader fires: the others fall in the cooldown.
	waitFor(t, "the first change of leader", func() bool { _, d := g.receiver.deliveries("changed", "firing", ""); return len(d) == 1 }, g.live()...)
	if r, _ := g.receiver.deliveries("changed", "firing", ""); len(r) != 1 {
		t.Errorf("changes of leader told under %d ids, want 1 (a cooldown of 1h): %v", len(r), r)
	}
}

// waitDelivered waits for a firing or resolve to be delivered, and checks
// that every request for it carried the same id.
func (g *haGroup) waitDelivered(round int, rule, status, marker string) {
	g.t.Helper()
	what := fmt.Sprintf("round %d: %s %s delivered", round, rule, status)
	waitFor(g.t, what, func() bool {
		_, delivered := g.receiver.deliveries(rule, status, marker)
		return len(delivered) > 0 && delivered[firstKey(delivered)]
	}, g.live()...)
	if requests, _ := g.receiver.deliveries(rule, status, marker); len(requests) != 1 {
		g.t.Fatalf("%s: decided %d times (ids %v), want once", what, len(requests), requests)
	}
}

func firstKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// TestHAPartitionedLeader cuts the leader off from the other two nodes:
// they elect a leader among themselves and page; the cut-off node, a
// minority without a leader (and not yet in fail-open), never dispatches.
// Healed, it catches up.
func TestHAPartitionedLeader(t *testing.T) {
	g := startGroup(t, "1m", haRules)
	cut := g.leader()
	g.isolate(cut, true)
	majority := []int{(cut + 1) % haNodes, (cut + 2) % haNodes}
	waitFor(t, "a leader on the majority side", func() bool {
		a, okA := g.status(majority[0])
		b, okB := g.status(majority[1])
		return okA && okB && a.LeaderID != "" && a.LeaderID == b.LeaderID && a.LeaderID != fmt.Sprintf("lh%d", cut+1) && b.LeaderAPI == a.LeaderAPI && a.LeaderAPI != ""
	}, g.live()...)
	start := time.Now()
	g.post(majority[0], eventAt("c1", "state.has_leader", "p1", start))
	g.post(majority[1], eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	g.waitDelivered(0, "lost", "firing", "p1")
	if s, _ := g.status(cut); s.Role == "leader" || s.Role == "fail-open" {
		t.Errorf("the cut-off node is %s", s.Role)
	}
	if ids := g.attempts(cut); len(ids) > 0 {
		t.Errorf("the cut-off node dispatched %v while the majority had a leader", ids)
	}
	g.isolate(cut, false)
	g.waitCaughtUp(cut)
}

// waitCaughtUp waits for node i to have applied what the leader has.
func (g *haGroup) waitCaughtUp(i int) {
	g.t.Helper()
	waitFor(g.t, fmt.Sprintf("lh%d to catch up", i+1), func() bool {
		leader := -1
		for j := range g.nodes {
			if s, ok := g.status(j); ok && s.Role == "leader" {
				leader = j
			}
		}
		if leader < 0 {
			return false
		}
		l, okL := g.status(leader)
		s, ok := g.status(i)
		if !ok || !okL || s.AppliedIndex < l.AppliedIndex || s.LeaderID != l.NodeID {
			return false
		}
		_, mine := get(g.t, g.nodes[i].baseURL(g.t)+"/v1/state")
		_, theirs := get(g.t, g.nodes[leader].baseURL(g.t)+"/v1/state")
		return clusterPart(mine) == clusterPart(theirs)
	}, g.live()...)
}

// clusterPart is the clusters' part of GET /v1/state, which every node of
// a group holds alike.
func clusterPart(state string) string {
	i := slices.Index([]byte(state), '[')
	if i < 0 {
		return state
	}
	return state[i:]
}

// TestHAFullSplitFailsOpen cuts every node off from every other: after
// fail_open_after each runs alone, and each pages the same loss under the
// same id. Healed, they agree again.
func TestHAFullSplitFailsOpen(t *testing.T) {
	g := startGroup(t, "2s", haRules)
	leader := g.leader()
	start := time.Now()
	g.post(leader, eventAt("c1", "state.has_leader", "s1", start))
	for i := range haNodes {
		g.waitCaughtUp(i)
	}
	for i := range haNodes {
		g.isolate(i, true)
	}
	waitFor(t, "every node in fail-open", func() bool {
		for i := range haNodes {
			if s, ok := g.status(i); !ok || s.Role != "fail-open" {
				return false
			}
		}
		return true
	}, g.live()...)
	loss := eventAt("c1", "state.is_leaderless", "", time.Now())
	for i := range haNodes {
		g.post(i, loss)
	}
	waitFor(t, "each node to page", func() bool {
		for i := range haNodes {
			if len(g.attempts(i)) == 0 {
				return false
			}
		}
		return true
	}, g.live()...)
	requests, delivered := g.receiver.deliveries("lost", "firing", "")
	if len(requests) != 1 || !delivered[firstKey(delivered)] {
		t.Fatalf("the loss paged under ids %v, want one id from every node", requests)
	}
	for i := range haNodes {
		if ids := g.attempts(i); !slices.Equal(ids[:1], []string{firstKey(delivered)}) {
			t.Errorf("lh%d paged under %v, want %s", i+1, ids, firstKey(delivered))
		}
	}
	for i := range haNodes {
		g.isolate(i, false)
	}
	g.leader()
	for i := range haNodes {
		g.waitCaughtUp(i)
	}
	if requests, _ := g.receiver.deliveries("lost", "firing", ""); len(requests) != 1 {
		t.Errorf("after the heal, the loss was paged under ids %v, want one", requests)
	}
}

// TestHANodeWithEmptyDataDirRejoins: a follower that lost its disk
// starts with an empty data_dir, rejoins and catches up.
func TestHANodeWithEmptyDataDirRejoins(t *testing.T) {
	g := startGroup(t, "1m", haRules)
	leader := g.leader()
	start := time.Now()
	g.post(leader, eventAt("c1", "state.has_leader", "e1", start))
	g.post(leader, eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	g.waitDelivered(0, "lost", "firing", "e1")
	lost := (leader + 1) % haNodes
	g.kill9(lost)
	if err := os.RemoveAll(filepath.Join(g.dir, fmt.Sprintf("lh%d", lost+1))); err != nil {
		t.Fatal(err)
	}
	g.restart(lost)
	g.waitCaughtUp(lost)
	if ids := g.attempts(lost); len(ids) > 0 {
		t.Errorf("the rejoined follower dispatched %v", ids)
	}
}

// TestHAEventFilesOnEveryNode: each node follows its own controller's
// event file and hands what it reads to the group, which decides once.
func TestHAEventFilesOnEveryNode(t *testing.T) {
	g := startGroupWith(t, "1m", haRules, "{type: events, file: {dir}/events.jsonl, http: true}", "")
	g.leader()
	file := func(i int) string { return filepath.Join(g.dir, fmt.Sprintf("lh%d", i+1), "events.jsonl") }
	appendLine(t, file(1), eventAt("c1", "state.has_leader", "f1", time.Now()))
	waitFor(t, "the group to see leader f1", func() bool {
		_, state := get(t, g.nodes[0].baseURL(t)+"/v1/state")
		return strings.Contains(state, `"f1"`)
	}, g.live()...)
	appendLine(t, file(2), eventAt("c1", "state.is_leaderless", "", time.Now()))
	g.waitDelivered(0, "lost", "firing", "f1")
	for i := range haNodes {
		if i != g.leader() {
			if ids := g.attempts(i); len(ids) > 0 {
				t.Errorf("lh%d, a follower, dispatched %v", i+1, ids)
			}
		}
	}
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

// TestHASameEventsToTwoNodes: a member's events sent to two nodes (as
// docs/ha.md allows: every controller's events to every node) are decided
// once. Late at the second node, they would be dated on arrival and page
// and resolve again.
func TestHASameEventsToTwoNodes(t *testing.T) {
	g := startGroup(t, "1m", "  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}")
	leader := g.leader()
	start := time.Now()
	g.post(leader, eventAt("c1", "state.has_leader", "s1", start))
	batch := eventAt("c1", "state.is_leaderless", "", start.Add(time.Millisecond)) + "\n" +
		eventAt("c1", "state.has_leader", "s2", start.Add(2*time.Millisecond))
	for _, i := range []int{(leader + 1) % haNodes, (leader + 2) % haNodes} {
		g.post(i, batch)
	}
	// Applied on the leader before each 202: nothing pending there means
	// every delivery the events caused was made.
	waitFor(t, "every delivery made", func() bool {
		s, ok := g.status(leader)
		_, fired := g.receiver.deliveries("lost", "firing", "")
		_, resolved := g.receiver.deliveries("lost", "resolved", "")
		return ok && s.Pending == 0 && len(fired) > 0 && len(resolved) > 0
	}, g.live()...)
	fired, _ := g.receiver.deliveries("lost", "firing", "")
	resolved, _ := g.receiver.deliveries("lost", "resolved", "")
	if len(fired) != 1 || len(resolved) != 1 {
		t.Errorf("lost fired under ids %v and resolved under ids %v, want one of each", fired, resolved)
	}
}
