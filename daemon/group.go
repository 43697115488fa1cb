package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
	"github.com/leaderhook/leaderhook/pipeline"
)

// group is the daemon as one node of a group of leaderhook nodes (ha:).
// The group replicates the pipeline's inputs through raft: every node
// applies the same members' events, time advances and deliveries' ends to
// its own pipeline (Apply), and holds the same views, rule states and
// pending deliveries. Only the node that leads dispatches; one that has
// had no leader for fail_open_after decides and dispatches alone.
type group struct {
	d    *Daemon
	cfg  ha.Config
	node *ha.Node
	api  string // where this node's HTTP API is, for the others to forward to
	// client forwards to the leader's API, with the TLS settings of this
	// node's own (server.tls).
	client *http.Client
	log    *slog.Logger
	ctx    context.Context // of run

	// applyMu serializes what changes the pipeline: the raft log's entries,
	// and in fail-open this node's own inputs.
	applyMu sync.Mutex
	// seen: the keys of the events applied lately (ha.Events), under
	// applyMu. Replicated: every node applies the same entries.
	seen recent

	mu sync.Mutex
	// pending is replicated: the deliveries not finished, in the order
	// the group decided them (which the snapshot's list carries).
	pending   dispatch.PendingSet
	leaderAPI string                     // replicated: the leader's HTTP API
	disp      *dispatch.Dispatcher       // while this node dispatches
	targets   map[string]dispatch.Target // the actions a dispatcher is built with
	polls     *sources                   // the poll sources, while they run here
	stats     groupStats

	alone atomic.Bool // in fail-open
	// steppedDown: the leader's dispatcher was taken at a step-down; the
	// run loop reads it at raft's next change of leadership, and ends the
	// turn then if it has not ended already.
	steppedDown atomic.Bool
	failOpen    *failOpen // while alone; under applyMu
}

// groupStats are counted for the metrics.
type groupStats struct {
	leaderChanges int // leaders the group's log announced
	failOpenTotal time.Duration
}

func newGroup(d *Daemon, cfg ha.Config, targets map[string]dispatch.Target) *group {
	g := &group{d: d, cfg: cfg, log: d.log, targets: targets}
	g.replicateMemories(targets)
	return g
}

// setTargets replaces the actions after a config reload: those of the
// dispatcher running here, if any, and of the next one.
func (g *group) setTargets(targets map[string]dispatch.Target) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.targets = targets
	g.replicateMemories(targets)
	if g.disp != nil {
		g.disp.SetTargets(targets)
	}
}

// join starts this node's raft, whose log then replays into the pipeline.
// The HTTP listener must be bound: the others forward to it.
func (g *group) join() error {
	apiTLS := g.d.config().Server.TLS
	tlsConfig, err := apiTLS.Client()
	if err != nil {
		return fmt.Errorf("server.tls: %w", err)
	}
	g.client = tlsfiles.HTTPClient(tlsConfig, proposeTimeout+time.Second)
	g.api = apiTLS.Scheme() + "://" + apiAddress(g.d.config().Server.Listen, g.d.listener.Addr().String(), g.cfg.AdvertiseAddr())
	node, err := ha.Start(g.cfg, g, g.log)
	if err != nil {
		return err
	}
	g.node = node
	return nil
}

// apiAddress is where the others reach this node's HTTP API: the host of
// server.listen as written (the name its certificate carries, not the
// address it resolved to), with the raft advertise host when it listens on
// every interface, and the port it is bound to.
func apiAddress(listen, bound, advertise string) string {
	_, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if h, _, err := net.SplitHostPort(advertise); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

// Apply applies one entry of the group's log (or, in fail-open, one of
// this node's own inputs) to the pipeline. It is deterministic: the same
// entries give every node the same state.
func (g *group) Apply(c ha.Command) {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	// An entry committed means the group works again: what this node
	// decided alone gives way to the group's state.
	g.endFailOpen("the group committed an entry")
	g.stepDown()
	g.apply(c)
}

func (g *group) apply(c ha.Command) {
	switch c.Kind {
	case ha.Events:
		evs := g.unseen(c)
		g.d.driver.Do(func() {
			for _, ev := range evs {
				ev.Cluster = c.Cluster
				g.d.metrics.Event(ev)
				g.d.driver.Handle(ev)
			}
		})
	case ha.Advance:
		g.d.driver.Do(func() { g.d.driver.AdvanceTo(c.Time) })
	case ha.Pending:
		g.mu.Lock()
		g.pending.Put(*c.Delivery)
		g.mu.Unlock()
	case ha.Done:
		g.mu.Lock()
		g.pending.Remove(c.ID)
		g.mu.Unlock()
		g.applyEnd(c)
	case ha.Leader:
		g.mu.Lock()
		g.leaderAPI = c.API
		g.stats.leaderChanges++
		g.mu.Unlock()
		if !c.Time.IsZero() { // an entry of an older version has none
			g.d.driver.Do(func() { g.d.driver.Resume(c.Time) })
		}
	case ha.Expect:
		g.applyExpect(c)
	case ha.Memory:
		if c.Memory != nil {
			g.applyMemory(*c.Memory)
		}
	}
}

// unseen returns the events of c not applied already, by their keys (a
// batch sent again, or to several nodes): decided again, a loss would page
// twice. An entry without a key for each event is applied whole.
func (g *group) unseen(c ha.Command) []event.Event {
	if len(c.Keys) != len(c.Events) {
		return c.Events
	}
	kept := c.Events[:0:0]
	for i, k := range c.Keys {
		if !g.seen.repeat(k) {
			kept = append(kept, c.Events[i])
		}
	}
	return kept
}

// Submit records what a decision made while applying an entry: on every
// node the deliveries join the replicated pending set; the node that
// dispatches queues them too.
func (g *group) Submit(n actions.Notification, names []string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, name := range names {
		del := dispatch.Delivery{ID: dispatch.DeliveryID(&n, name), Action: name, Notification: n}
		del.Notification.DeliveryID = del.ID
		g.pending.Put(del)
		if g.disp != nil {
			g.disp.Resume([]dispatch.Delivery{del})
		}
	}
	return nil
}

// StateChanged passes a cluster's new state on to the dispatcher, while
// this node dispatches: it fences the runs decided for earlier states
// (cancel_on_change). Every node applies the same states; only the one
// that dispatches has runs to fence.
func (g *group) StateChanged(cluster string, seq uint64) {
	g.mu.Lock()
	disp := g.disp
	g.mu.Unlock()
	if disp != nil {
		disp.StateChanged(cluster, seq)
	}
}

// groupImage is the group's state in a snapshot.
type groupImage struct {
	Pipeline  pipeline.Image      `json:"pipeline"`
	Pending   []dispatch.Delivery `json:"pending"`
	LeaderAPI string              `json:"leader_api,omitempty"`
	// Memories: what each action remembers, by action.
	Memories map[string]json.RawMessage `json:"memories,omitempty"`
	// Seen: the keys of the events applied lately, oldest first, so that
	// a node restoring the snapshot leaves out the events the others do.
	Seen []string `json:"seen,omitempty"`
}

// Snapshot returns the state the log's entries so far made (in
// fail-open, the state when this node went alone).
func (g *group) Snapshot() ([]byte, error) {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if g.failOpen != nil {
		return g.failOpen.image, nil
	}
	return g.snapshot()
}

func (g *group) snapshot() ([]byte, error) {
	var img groupImage
	g.d.driver.Do(func() { img.Pipeline = g.d.driver.Image() })
	g.mu.Lock()
	img.Pending, img.LeaderAPI, img.Memories = g.pendingList(), g.leaderAPI, g.memoryImages()
	g.mu.Unlock()
	img.Seen = g.seen.keys()
	return json.Marshal(img)
}

// Restore makes the state what a snapshot of the group says.
func (g *group) Restore(data []byte) error {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	g.endFailOpen("the group sent its state")
	g.stepDown()
	return g.restore(data, true)
}

// restore makes the state what data says, and with memories, what the
// actions remember too. Returning from fail-open keeps the memories: they
// say what this node posted meanwhile.
func (g *group) restore(data []byte, memories bool) error {
	var img groupImage
	if err := json.Unmarshal(data, &img); err != nil {
		return fmt.Errorf("ha snapshot: %w", err)
	}
	engine, views, err := pipeline.Engine(g.d.config(), g.log)
	if err != nil {
		return err
	}
	g.d.driver.Do(func() { g.d.driver.Reset(engine, views, img.Pipeline) })
	g.seen = restoreRecent(img.Seen)
	g.mu.Lock()
	g.pending = dispatch.PendingSet{}
	for _, del := range img.Pending { // in the order they were decided
		g.pending.Put(del)
	}
	g.leaderAPI = img.LeaderAPI
	if memories {
		g.restoreMemories(img.Memories)
	}
	g.mu.Unlock()
	// Into the pending deliveries restored: the resolves of the firings
	// of a rule or cluster this node's config no longer has, at the
	// snapshot's time, so that every node that restores it decides them
	// alike.
	g.d.driver.Do(func() { g.d.driver.ResolveRetired(img.Pipeline.Now) })
	return nil
}

// pendingList is the pending deliveries in the order they were decided.
// Callers hold mu.
func (g *group) pendingList() []dispatch.Delivery { return g.pending.List() }

// isPoll picks the clusters whose sources run on the leader only.
func isPoll(c detector.Cluster) bool { return c.Source.Type == detector.SourcePoll }
