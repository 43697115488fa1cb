package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/demo"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// watched is a real raft cluster on 127.0.0.1 watched by the raft source,
// the detector and the engine, as a Go program embedding raft would.
type watched struct {
	t       *testing.T
	cluster *demo.Cluster
	ctx     context.Context
	events  chan event.Event
	driver  *pipeline.Driver
	wg      sync.WaitGroup

	mu       sync.Mutex
	states   []event.Event
	outcomes []rules.Outcome
	reports  []event.Event // the members' reports, as the driver received them
}

func (w *watched) State(ev event.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states = append(w.states, ev)
}

func (w *watched) Outcome(o rules.Outcome) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outcomes = append(w.outcomes, o)
}

func (w *watched) report(ev event.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reports = append(w.reports, ev)
}

func watch(t *testing.T, n int, stabilize time.Duration) *watched {
	t.Helper()
	return watchTuned(t, n, stabilize, 0, nil)
}

// watchTuned is watch with each node's raft config passed through tune,
// and split_brain_after (0: the default).
func watchTuned(t *testing.T, n int, stabilize, splitAfter time.Duration, tune func(string, *raft.Config)) *watched {
	t.Helper()
	cluster, err := demo.StartTuned(n, tune)
	if err != nil {
		t.Fatal(err)
	}
	members := make([]string, n)
	for i := range members {
		members[i] = fmt.Sprintf("node%d", i+1)
	}
	engine, err := rules.New(rules.Options{Rules: []rules.Rule{
		{Name: "gone-2s", When: `leaderless_for >= duration("2s")`, Actions: []string{"a"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watched{t: t, cluster: cluster, ctx: ctx, events: make(chan event.Event, 256)}
	driver := pipeline.NewDriver(engine, []pipeline.ClusterView{{Name: "c", Members: members, Stabilize: stabilize, SplitBrainAfter: splitAfter}}, "c", w)
	driver.OnEvent = w.report
	w.driver = driver
	for _, node := range cluster.Nodes() {
		w.observe(node.ID)
	}
	done := make(chan struct{})
	go func() { driver.Run(ctx, w.events, clock.Real{}); close(done) }()
	t.Cleanup(func() { cancel(); <-done; w.wg.Wait(); cluster.Close() })
	return w
}

func (w *watched) observe(id string) {
	src := &detector.RaftSource{Raft: w.cluster.Node(id).Raft(), ID: id, Cluster: "c", Reconcile: 100 * time.Millisecond}
	w.wg.Add(1)
	go func() { defer w.wg.Done(); src.Run(w.ctx, w.events) }()
}

func (w *watched) stop(ids ...string) {
	for _, id := range ids {
		if err := w.cluster.Stop(id); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *watched) restart(ids ...string) {
	for _, id := range ids {
		if err := w.cluster.Restart(id); err != nil {
			w.t.Fatal(err)
		}
		w.observe(id)
	}
}

func (w *watched) leader(not string) string {
	l, err := w.cluster.WaitLeader(not, 15*time.Second)
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

// waitFollow waits until every running node follows leader.
func (w *watched) waitFollow(leader string) {
	w.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		all := true
		for _, l := range w.raftLeaders() {
			all = all && l == leader
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("running nodes follow %v, want all %s", w.raftLeaders(), leader)
		}
	}
}

// raftLeaders returns the leader each running node follows, "" for none.
func (w *watched) raftLeaders() map[string]string {
	leaders := map[string]string{}
	for _, n := range w.cluster.Nodes() {
		if r := n.Raft(); r != nil {
			_, id := r.LeaderWithID()
			leaders[n.ID] = string(id)
		}
	}
	return leaders
}

// settled reports whether the pipeline has taken in all that the nodes
// say now and has nothing pending: the view holds each running node's
// current leader and each stopped node as down, and neither the view nor
// the engine waits for a deadline. Until a node changes its mind, no
// state or outcome can follow.
func (w *watched) settled() bool {
	leaders := w.raftLeaders()
	var ids []string
	for _, n := range w.cluster.Nodes() {
		ids = append(ids, n.ID)
	}
	ok := false
	err := w.driver.Call(func() {
		if _, pending := w.driver.Deadline(); pending {
			return
		}
		reports := w.driver.View("c").State().Reports
		for _, id := range ids {
			r := reports[id]
			l, running := leaders[id]
			if running && (r.Down || r.Follows != l) || !running && !r.Down {
				return
			}
		}
		ok = true
	})
	return err == nil && ok
}

// waitStates waits until n states were announced and the pipeline has
// settled (anything more would be a duplicate), and returns them as "type
// leader prev".
func (w *watched) waitStates(n int) []string {
	w.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		w.mu.Lock()
		got := len(w.states)
		w.mu.Unlock()
		if got >= n && w.settled() {
			break
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, s := range w.states {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", s.Type, s.LeaderID, s.PreviousLeaderID)))
	}
	return out
}

func others(all []*demo.Node, not ...string) []string {
	var out []string
	for _, n := range all {
		skip := false
		for _, x := range not {
			skip = skip || n.ID == x
		}
		if !skip {
			out = append(out, n.ID)
		}
	}
	return out
}

func TestRaftClusters(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			w := watch(t, size, 2*time.Second)
			first := w.leader("")
			want := []string{"state.has_leader " + first}
			if got := w.waitStates(1); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("baseline %q, want %q", got, want)
			}

			// Leader shutdown: a failover faster than stabilize is one change.
			w.stop(first)
			second := w.leader(first)
			want = append(want, fmt.Sprintf("state.has_leader %s %s", second, first))
			if got := w.waitStates(2); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after the leader's shutdown %q, want %q", got, want)
			}
			w.restart(first)
			w.waitFollow(second)
			if got := w.waitStates(2); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after %s's restart %q, want %q", first, got, want)
			}

			// Quorum loss: kill the leader and enough followers.
			victims := append([]string{second}, others(w.cluster.Nodes(), second)[:size/2]...)
			lostAt := time.Now()
			w.stop(victims...)
			want = append(want, "state.is_leaderless  "+second)
			if got := w.waitStates(3); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after quorum loss %q, want %q", got, want)
			}
			// Dated from the stopped members' own reports as they stopped,
			// not from the survivors' timeouts: the leader's death, the
			// loss of its lead that raft may report just before it, or a
			// stopped follower's loss of its leader, by the leader's death.
			w.mu.Lock()
			since := w.states[2].Since
			var died []time.Time
			own := false
			for _, r := range w.reports {
				if !slices.Contains(victims, r.Source) || r.Time.Before(lostAt) {
					continue
				}
				own = own || r.Time.Equal(since)
				if r.Source == second && r.Type == event.PeerDisconnected {
					died = append(died, r.Time)
				}
			}
			w.mu.Unlock()
			if len(died) != 1 || !own || since.After(died[0]) {
				t.Errorf("the loss is dated %s, want one of %v's own reports, by the moment %s reported its death (%v)", since, victims, second, died)
			}
			// waitStates saw the engine with nothing pending: what the
			// outage fires has fired, and no more will until it ends.
			w.mu.Lock()
			during := 0
			for _, o := range w.outcomes {
				if o.Rule == "gone-2s" && o.Kind == rules.Fired {
					during++
				}
			}
			w.mu.Unlock()
			if during != 1 {
				t.Errorf("gone-2s fired %d times during the outage, want once", during)
			}

			// Restore.
			w.restart(victims...)
			third := w.leader("")
			want = append(want, fmt.Sprintf("state.has_leader %s %s", third, second))
			if got := w.waitStates(4); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after restore %q, want %q", got, want)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			fired := 0
			for _, o := range w.outcomes {
				if o.Rule == "gone-2s" && o.Kind == rules.Fired {
					fired++
					if !o.Time.Equal(since.Add(2 * time.Second)) {
						t.Errorf("gone-2s fired at %s, want since+2s = %s", o.Time, since.Add(2*time.Second))
					}
				}
			}
			if fired != 1 {
				t.Errorf("gone-2s fired %d times, want once", fired)
			}
		})
	}
}

// TestRaftPartitions cuts the network (real TCP on 127.0.0.1) while every
// node keeps running: the side with a majority elects a leader, and that is
// a change of leader, not an outage; a cut that leaves no majority anywhere
// is an outage; healing brings the leader back without a spurious loss.
func TestRaftPartitions(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d nodes", size), func(t *testing.T) {
			w := watch(t, size, 2*time.Second)
			first := w.leader("")
			w.waitStates(1)

			// The leader (and, with 5 nodes, one follower) on the minority side.
			minority := []string{first}
			if size == 5 {
				minority = append(minority, others(w.cluster.Nodes(), first)[0])
			}
			w.cluster.Network().Partition(minority, others(w.cluster.Nodes(), minority...))
			second := w.leader(first)
			want := []string{"state.has_leader " + first, fmt.Sprintf("state.has_leader %s %s", second, first)}
			if got := w.waitStates(2); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("after partitioning the leader away %q, want %q", got, want)
			}

			// Heal: the old leader rejoins as a follower; nothing changes.
			w.cluster.Network().Heal()
			w.waitFollow(second)
			if got := w.waitStates(2); len(got) != 2 {
				t.Fatalf("healing announced %q", got[2:])
			}

			// No majority anywhere: every node alone.
			var groups [][]string
			for _, n := range w.cluster.Nodes() {
				groups = append(groups, []string{n.ID})
			}
			w.cluster.Network().Partition(groups...)
			want = append(want, "state.is_leaderless  "+w.currentLeader())
			got := w.waitStates(3)
			if len(got) < 3 || got[2] != want[2] {
				t.Fatalf("after splitting every node %q, want %q", got, want)
			}
			w.cluster.Network().Heal()
			third := w.leader("")
			got = w.waitStates(4)
			if len(got) != 4 || !strings.HasPrefix(got[3], "state.has_leader "+third) {
				t.Fatalf("after healing %q, want a leader %s", got, third)
			}
		})
	}
}

// currentLeader is the leader the view announced last.
func (w *watched) currentLeader() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.states) - 1; i >= 0; i-- {
		if w.states[i].LeaderID != "" {
			return w.states[i].LeaderID
		}
	}
	return ""
}
