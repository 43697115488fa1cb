package ha

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// ErrNotLeader is returned by Propose on a node that does not lead.
var ErrNotLeader = errors.New("this node is not the group's leader")

// Node is this process's member of the group.
type Node struct {
	cfg       Config
	raft      *raft.Raft
	fsm       *fsm
	transport *raft.NetworkTransport
	store     *raftboltdb.BoltStore
	log       *slog.Logger
}

// Start opens the node's data_dir, bootstraps the group from the
// configured peers if this node has never been part of it, and joins the
// group. m receives every committed command.
func Start(cfg Config, m Machine, log *slog.Logger) (*Node, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("ha.data_dir: %w", err)
	}
	n := &Node{cfg: cfg, fsm: &fsm{m: m}, log: log}
	if err := n.open(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) open() error {
	var err error
	if n.store, err = raftboltdb.NewBoltStore(filepath.Join(n.cfg.DataDir, "raft.db")); err != nil {
		return fmt.Errorf("ha.data_dir: %w", err)
	}
	logOutput := logWriter{n.log}
	snaps, err := raft.NewFileSnapshotStore(n.cfg.DataDir, 2, logOutput)
	if err != nil {
		return fmt.Errorf("ha.data_dir: %w", err)
	}
	if n.transport, err = transport(n.cfg, logOutput); err != nil {
		return err
	}
	conf := n.raftConfig(logOutput)
	existing, err := raft.HasExistingState(n.store, n.store, snaps)
	if err != nil {
		return fmt.Errorf("ha.data_dir: %w", err)
	}
	if !existing {
		if err := raft.BootstrapCluster(conf, n.store, n.store, snaps, n.transport, n.configuration()); err != nil {
			return fmt.Errorf("ha: bootstrap: %w", err)
		}
	}
	n.raft, err = raft.NewRaft(conf, n.fsm, n.store, n.store, snaps, n.transport)
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	return nil
}

func (n *Node) raftConfig(out io.Writer) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = raft.ServerID(n.cfg.NodeID)
	c.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: out})
	// A snapshot every few thousand entries keeps the log and a new node's
	// catch-up short; the state is small.
	c.SnapshotThreshold = 4096
	return c
}

// configuration is the group as the config lists it.
func (n *Node) configuration() raft.Configuration {
	var c raft.Configuration
	for _, p := range n.cfg.Peers {
		c.Servers = append(c.Servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address), Suffrage: raft.Voter})
	}
	return c
}

// Propose appends c to the group's log and returns once it is committed
// and applied here. Only the leader can propose: others get ErrNotLeader.
func (n *Node) Propose(c Command, timeout time.Duration) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	err = n.raft.Apply(data, timeout).Error()
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
		return ErrNotLeader
	}
	return err
}

// Barrier returns once every entry committed before it is applied here:
// a new leader calls it before it acts on its state.
func (n *Node) Barrier(timeout time.Duration) error { return n.raft.Barrier(timeout).Error() }

// IsLeader reports whether this node leads the group.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// LeaderID is the id of the group's leader as this node knows it, or "".
func (n *Node) LeaderID() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// LeaderCh tells of this node's gaining (true) and losing (false) the
// lead. Changes may be coalesced: read IsLeader for the current state.
func (n *Node) LeaderCh() <-chan bool { return n.raft.LeaderCh() }

// IsMember reports whether this node is in the group's configuration (a
// node removed from the group is not, and must keep quiet).
func (n *Node) IsMember() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return true
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == n.cfg.NodeID {
			return true
		}
	}
	return false
}

// AddVoter adds a node to the group (on the leader).
func (n *Node) AddVoter(id, address string) error {
	return n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(address), 0, 10*time.Second).Error()
}

// RemoveServer removes a node from the group (on the leader).
func (n *Node) RemoveServer(id string) error {
	return n.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error()
}

// Close leaves the group: raft stops, the transport and the store close.
func (n *Node) Close() error {
	var errs []error
	if n.raft != nil {
		if n.IsLeader() {
			// A planned stop hands the lead over at once rather than
			// leaving the others to notice the silence.
			n.raft.LeadershipTransfer().Error()
		}
		// The next start restores this state rather than deciding the
		// log's entries again, maybe under a config changed meanwhile (a
		// renamed action would get its old firings again).
		if err := n.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
			errs = append(errs, fmt.Errorf("snapshot at stop: %w", err))
		}
		errs = append(errs, n.raft.Shutdown().Error())
	}
	if n.transport != nil {
		errs = append(errs, n.transport.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

// logWriter passes raft's log lines to the daemon's log.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	if w.log != nil {
		w.log.Warn("raft", "msg", strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
