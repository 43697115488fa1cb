// Package demo runs leaderhook against a real hashicorp/raft cluster on
// 127.0.0.1 and drives it through failures: what `leaderhook demo` shows,
// and what the end-to-end tests use as a cluster to break.
package demo

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Timing of the local cluster: fast elections, so the demo is short.
const (
	HeartbeatTimeout = 400 * time.Millisecond
	ElectionTimeout  = 400 * time.Millisecond
)

// Cluster is a raft cluster of in-process nodes talking over TCP on
// 127.0.0.1. Stopped nodes keep their log and can be restarted.
type Cluster struct {
	mu    sync.Mutex
	nodes []*Node
	net   *Network
	tune  func(id string, c *raft.Config)
}

// Network returns the network between the nodes, to partition it.
func (c *Cluster) Network() *Network { return c.net }

// Node is one raft server.
type Node struct {
	ID        string
	Addr      string
	raft      *raft.Raft
	transport *raft.NetworkTransport
	store     *raft.InmemStore
	snaps     *raft.InmemSnapshotStore
	// listener is the node's port, held from Start until the node first
	// starts: a port closed and listened on again could be handed to
	// another node in between.
	listener net.Listener
}

// Raft returns the node's raft instance, nil while it is stopped.
func (n *Node) Raft() *raft.Raft { return n.raft }

type noFSM struct{}

func (noFSM) Apply(*raft.Log) any                 { return nil }
func (noFSM) Snapshot() (raft.FSMSnapshot, error) { return noSnapshot{}, nil }
func (noFSM) Restore(r io.ReadCloser) error       { return r.Close() }

type noSnapshot struct{}

func (noSnapshot) Persist(s raft.SnapshotSink) error { return s.Close() }
func (noSnapshot) Release()                          {}

// Start starts n nodes named node1..nodeN and bootstraps them as one
// cluster.
func Start(n int) (*Cluster, error) { return StartTuned(n, nil) }

// StartTuned is Start with each node's raft config passed through tune
// first (tests give one node a long lease, say).
func StartTuned(n int, tune func(id string, c *raft.Config)) (*Cluster, error) {
	c := &Cluster{net: newNetwork(), tune: tune}
	var servers []raft.Server
	for i := 1; i <= n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.Close()
			return nil, err
		}
		addr := l.Addr().String()
		node := &Node{ID: fmt.Sprintf("node%d", i), Addr: addr, store: raft.NewInmemStore(), snaps: raft.NewInmemSnapshotStore(), listener: l}
		c.nodes = append(c.nodes, node)
		c.net.ids[addr] = node.ID
		servers = append(servers, raft.Server{ID: raft.ServerID(node.ID), Address: raft.ServerAddress(addr)})
	}
	for _, node := range c.nodes {
		// Bootstrapping only writes the configuration into the stores; the
		// transport it asks for is not used to talk.
		_, scratch := raft.NewInmemTransport("")
		if err := raft.BootstrapCluster(c.raftConfig(node.ID), node.store, node.store, node.snaps, scratch, raft.Configuration{Servers: servers}); err != nil {
			c.Close()
			return nil, fmt.Errorf("bootstrap %s: %w", node.ID, err)
		}
		if err := c.start(node); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (cl *Cluster) raftConfig(id string) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(id)
	c.HeartbeatTimeout = HeartbeatTimeout
	c.ElectionTimeout = ElectionTimeout
	c.LeaderLeaseTimeout = HeartbeatTimeout / 2
	c.CommitTimeout = 20 * time.Millisecond
	c.LogOutput = io.Discard
	if cl.tune != nil {
		cl.tune(id, c)
	}
	return c
}

func (c *Cluster) start(node *Node) error {
	l, err := node.listener, error(nil)
	node.listener = nil
	// Otherwise the port was just released by the stopped node: retry
	// briefly.
	for try := 0; l == nil; try++ {
		l, err = net.Listen("tcp", node.Addr)
		if err == nil || try == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("%s: listen: %w", node.ID, err)
	}
	transport := raft.NewNetworkTransport(&stream{net: c.net, self: node.ID, l: l}, 3, time.Second, io.Discard)
	r, err := raft.NewRaft(c.raftConfig(node.ID), noFSM{}, node.store, node.store, node.snaps, transport)
	if err != nil {
		transport.Close()
		return fmt.Errorf("%s: %w", node.ID, err)
	}
	node.raft, node.transport = r, transport
	return nil
}

// Nodes returns the nodes.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node returns the node with the given id.
func (c *Cluster) Node(id string) *Node {
	for _, n := range c.nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// Stop kills a node: its raft stops and its port closes.
func (c *Cluster) Stop(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.Node(id)
	if n == nil || n.raft == nil {
		return fmt.Errorf("%s is not running", id)
	}
	err := n.raft.Shutdown().Error()
	n.transport.Close()
	n.raft, n.transport = nil, nil
	return err
}

// Restart starts a stopped node again with its log.
func (c *Cluster) Restart(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.Node(id)
	if n == nil || n.raft != nil {
		return fmt.Errorf("%s is not stopped", id)
	}
	return c.start(n)
}

// Add starts a new node and has the leader add it as a voter.
func (c *Cluster) Add(id string, timeout time.Duration) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	node := &Node{ID: id, Addr: l.Addr().String(), store: raft.NewInmemStore(), snaps: raft.NewInmemSnapshotStore(), listener: l}
	c.net.mu.Lock()
	c.net.ids[node.Addr] = id
	c.net.mu.Unlock()
	c.mu.Lock()
	c.nodes = append(c.nodes, node)
	err = c.start(node)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.change(timeout, func(r *raft.Raft) raft.IndexFuture {
		return r.AddVoter(raft.ServerID(id), raft.ServerAddress(node.Addr), 0, timeout)
	})
}

// Remove has the leader remove a node from the cluster; the node, told so,
// shuts down.
func (c *Cluster) Remove(id string, timeout time.Duration) error {
	return c.change(timeout, func(r *raft.Raft) raft.IndexFuture {
		return r.RemoveServer(raft.ServerID(id), 0, timeout)
	})
}

// change applies a configuration change on the leader.
func (c *Cluster) change(timeout time.Duration, f func(*raft.Raft) raft.IndexFuture) error {
	leader, err := c.WaitLeader("", timeout)
	if err != nil {
		return err
	}
	c.mu.Lock()
	r := c.Node(leader).raft
	c.mu.Unlock()
	if r == nil {
		return fmt.Errorf("%s stopped", leader)
	}
	return f(r).Error()
}

// Leader returns the id of the node that a running node says is leader and
// that says so itself, or "".
func (c *Cluster) Leader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.raft != nil && n.raft.State() == raft.Leader {
			return n.ID
		}
	}
	return ""
}

// WaitLeader waits up to timeout for a leader other than not ("" for any).
func (c *Cluster) WaitLeader(not string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != "" && l != not {
			return l, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", errors.New("no leader elected")
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, n := range c.nodes {
		if n.raft != nil {
			c.Stop(n.ID)
		}
		if n.listener != nil {
			n.listener.Close()
			n.listener = nil
		}
	}
}
