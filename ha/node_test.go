package ha

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// machine records the clusters of the commands applied to it.
type machine struct {
	mu      sync.Mutex
	applied []string
}

func (m *machine) Apply(c Command) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applied = append(m.applied, c.Cluster)
}

func (m *machine) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return json.Marshal(m.applied)
}

func (m *machine) Restore(data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return json.Unmarshal(data, &m.applied)
}

func (m *machine) seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.applied)
}

type testGroup struct {
	t     *testing.T
	cfgs  []Config
	nodes []*Node
	ms    []*machine
}

func newGroup(t *testing.T, n int) *testGroup {
	return newGroupTLS(t, n, TLS{})
}

func newGroupTLS(t *testing.T, n int, tlsFiles TLS) *testGroup {
	g := &testGroup{t: t}
	var peers []Peer
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, Peer{ID: fmt.Sprint("lh", i+1), Address: l.Addr().String()})
		l.Close()
	}
	dir := t.TempDir()
	for i, p := range peers {
		g.cfgs = append(g.cfgs, Config{NodeID: p.ID, Bind: p.Address, Peers: peers, DataDir: filepath.Join(dir, p.ID), TLS: tlsFiles})
		g.nodes = append(g.nodes, nil)
		g.ms = append(g.ms, &machine{})
		g.start(i)
	}
	t.Cleanup(func() {
		for _, n := range g.nodes {
			if n != nil {
				n.Close()
			}
		}
	})
	return g
}

func (g *testGroup) start(i int) {
	n, err := Start(g.cfgs[i], g.ms[i], nil)
	if err != nil {
		g.t.Fatal(err)
	}
	g.nodes[i] = n
}

func (g *testGroup) stop(i int) {
	g.nodes[i].Close()
	g.nodes[i] = nil
}

func (g *testGroup) leader() int {
	g.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for i, n := range g.nodes {
			if n != nil && n.IsLeader() {
				return i
			}
		}
	}
	g.t.Fatal("no leader elected")
	return -1
}

func (g *testGroup) waitApplied(i int, want []string) {
	g.t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !slices.Equal(g.ms[i].seen(), want); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			g.t.Fatalf("node %d applied %v, want %v", i, g.ms[i].seen(), want)
		}
	}
}

// Every node applies what the leader proposes, in order; a follower cannot
// propose; a new leader takes over when the leader goes; a node whose disk
// was lost catches up.
func TestGroup(t *testing.T) {
	g := newGroup(t, 3)
	l := g.leader()
	if err := g.nodes[(l+1)%3].Propose(Command{Kind: Events, Cluster: "x"}, time.Second); err != ErrNotLeader {
		t.Errorf("a follower proposing: %v, want ErrNotLeader", err)
	}
	if err := g.nodes[l].Propose(Command{Kind: Events, Cluster: "a"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		g.waitApplied(i, []string{"a"})
	}
	g.stop(l)
	l2 := g.leader()
	if err := g.nodes[l2].Propose(Command{Kind: Events, Cluster: "b"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The old leader's disk is lost: it starts empty and catches up.
	g.cfgs[l].DataDir += "-new"
	g.ms[l] = &machine{}
	g.start(l)
	g.waitApplied(l, []string{"a", "b"})
	if st := g.nodes[l].Status(); st.LeaderID != g.cfgs[l2].NodeID || len(st.Peers) != 3 {
		t.Errorf("status of the rejoined node: %+v", st)
	}
}

// The applied index (GET /v1/ha, leaderhook_ha_apply_lag) counts raft's own
// entries and survives a restart from a snapshot: an idle node that applied
// everything shows no lag.
func TestAppliedIndexAfterRestart(t *testing.T) {
	g := newGroup(t, 1)
	g.leader()
	for i := range 3 {
		if err := g.nodes[0].Propose(Command{Kind: Events, Cluster: fmt.Sprint(i)}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	before := g.nodes[0].Status()
	g.stop(0) // takes a snapshot
	g.ms[0] = &machine{}
	g.start(0)
	g.leader()
	g.waitApplied(0, []string{"0", "1", "2"})
	var st Status
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		// The new term's first entry is committed once the node leads.
		if st = g.nodes[0].Status(); st.CommitIndex > before.CommitIndex && st.AppliedIndex == st.CommitIndex {
			return
		}
	}
	t.Errorf("idle after a restart: applied %d, commit %d (before the restart: applied %d, commit %d)",
		st.AppliedIndex, st.CommitIndex, before.AppliedIndex, before.CommitIndex)
}
