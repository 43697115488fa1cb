package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
	"github.com/leaderhook/leaderhook/rules"
)

// proposeTimeout bounds how long a proposal waits to be committed.
const proposeTimeout = 5 * time.Second

// run does this node's part until ctx ends: it hands its sources' events
// to the group, leads while raft makes it the leader, and runs alone
// (fail-open) while the group has no leader.
func (g *group) run(ctx context.Context) error {
	g.ctx = ctx
	var wg sync.WaitGroup
	wg.Go(func() { g.forwardEvents(ctx) })
	wg.Go(func() { g.watchLeader(ctx) })
	defer wg.Wait()
	leading := leadership{start: g.lead}
	defer leading.stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-g.node.LeaderCh():
		}
		// Changes may be coalesced: what counts is the state now, and
		// whether this node stepped down meanwhile.
		leading.set(ctx, g.node.IsLeader(), g.steppedDown.Swap(false))
	}
}

// leadership runs start while this node leads. A stale turn (its node
// stepped down since it began) ends, and starts again if the node leads
// again: a loss and a gain coalesced would leave it leading without
// dispatching, and without catching up with the new term.
type leadership struct {
	start  func(ctx context.Context)
	cancel context.CancelFunc
	done   chan struct{}
}

func (l *leadership) set(ctx context.Context, leading, stale bool) {
	if stale || l.ended() {
		l.stop()
	}
	switch {
	case leading && l.cancel == nil:
		var leadCtx context.Context
		leadCtx, l.cancel = context.WithCancel(ctx)
		l.done = make(chan struct{})
		go func() { defer close(l.done); l.start(leadCtx) }()
	case !leading && l.cancel != nil:
		l.stop()
	}
}

// ended reports whether the turn returned by itself (it found the node
// no longer leading): a new one starts if the node leads again.
func (l *leadership) ended() bool {
	if l.cancel == nil {
		return false
	}
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *leadership) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
		l.cancel = nil
	}
}

// lead does the leader's work until ctx ends: it catches up with every
// entry committed before (a new leader must not act on a stale state),
// tells the group where its API is, dispatches every pending delivery with
// its id, runs the poll sources, and proposes time advances when the
// pipeline's next deadline comes.
func (g *group) lead(ctx context.Context) {
	if !g.catchUp(ctx, g.node, time.Second) {
		return
	}
	if err := g.node.Propose(ha.Command{Kind: ha.Leader, Node: g.cfg.NodeID, API: g.api, Time: g.d.opts.Clock.Now().Round(0)}, proposeTimeout); err != nil {
		g.log.Warn("cannot tell the group where this node's API is", "err", err)
	}
	disp, stop := g.dispatch(true)
	defer stop()
	if disp == nil {
		return // stepped down since it caught up: the run loop starts a new turn if it leads again
	}
	g.log.Info("this node leads the group", "node", g.cfg.NodeID)
	stopPolls := g.startPolls(ctx)
	defer stopPolls()
	g.advance(ctx, func(c ha.Command) error { return g.node.Propose(c, proposeTimeout) })
	g.log.Info("this node no longer leads the group", "node", g.cfg.NodeID)
}

// stepDown takes the leader's dispatcher off g.disp as soon as raft says
// this node no longer leads (it does so before applying the next leader's
// entries), not when the leader's turn ends: the entries applied from
// then on are the next leader's to dispatch. Callers hold applyMu, and
// have ended fail-open.
func (g *group) stepDown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.disp == nil || g.node.IsLeader() {
		return
	}
	g.disp = nil
	g.steppedDown.Store(true)
}

// barrier is what a new leader catches up with the log through: an
// ha.Node.
type barrier interface {
	Barrier(timeout time.Duration) error
}

// catchUp returns once every entry committed before is applied here
// (true), trying again every retry, or when this node no longer leads
// (ctx ends: false). A leader that gave up would lead without dispatching
// until the next election.
func (g *group) catchUp(ctx context.Context, node barrier, retry time.Duration) bool {
	for err := node.Barrier(30 * time.Second); err != nil; err = node.Barrier(30 * time.Second) {
		g.log.Error("new leader cannot catch up with the log; trying again", "err", err)
		if !sleep(ctx, retry) {
			return false
		}
	}
	return true
}

// dispatch starts a dispatcher for this node's turn at dispatching and
// queues every pending delivery; stop ends the turn (attempts in flight
// are cancelled, and stay pending for whoever dispatches next). A
// leader's turn (asLeader) on a node that no longer leads starts none
// (nil): the pending deliveries are the next leader's.
func (g *group) dispatch(asLeader bool) (_ *dispatch.Dispatcher, stop func()) {
	d := g.d
	// Built under mu: a reload in between would not reach it, and a
	// step-down (stepDown, under mu too) comes before or after it whole.
	g.mu.Lock()
	if asLeader && !g.node.IsLeader() {
		g.mu.Unlock()
		return nil, func() {}
	}
	disp := dispatch.New(dispatch.Options{Targets: g.targets, Journal: g, Audit: d.auditors(), Log: d.log, OnRetry: d.history.retrying,
		OnDone: g.delivered, Fallbacks: g.memory(dispatch.FallbackMemory)})
	g.disp = disp
	pending := g.pendingList()
	g.mu.Unlock()
	// As on a daemon alone that starts: a delivery decided for a state
	// the group has since left is fenced (cancel_on_change), and one to
	// an action the config no longer has is dropped. States applied from
	// here on reach disp by StateChanged.
	var clusters []rules.ClusterSnapshot
	d.driver.Do(func() { clusters = d.driver.Image().Engine.Clusters })
	fenceSaved(disp, clusters)
	pending = d.dropOrphans(pending, g, g.delivered)
	if len(pending) > 0 {
		g.log.Info("dispatching the deliveries still pending", "count", len(pending))
	}
	disp.Resume(pending)
	return disp, func() {
		g.mu.Lock()
		if g.disp == disp {
			g.disp = nil
		}
		g.mu.Unlock()
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		disp.Close(stopped)
	}
}

// startPolls runs the poll sources, which run only where the group's
// decisions are made.
func (g *group) startPolls(ctx context.Context) (stop func()) {
	pollCtx, cancel := context.WithCancel(ctx)
	polls := g.d.newSources(pollCtx, isPoll)
	if p, err := polls.prepare(g.d.config()); err != nil {
		g.log.Error("poll sources", "err", err)
	} else {
		polls.apply(p)
	}
	g.mu.Lock()
	g.polls = polls
	g.mu.Unlock()
	return func() {
		cancel()
		polls.wait()
		g.mu.Lock()
		if g.polls == polls {
			g.polls = nil
		}
		g.mu.Unlock()
	}
}

// preparePolls readies a reload of the poll sources running here, if
// any; apply applies it. On a daemon alone (g nil) it does nothing.
func (g *group) preparePolls(cfg *config.Config) (apply func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	g.mu.Lock()
	polls := g.polls
	g.mu.Unlock()
	if polls == nil {
		return func() {}, nil
	}
	p, err := polls.prepare(cfg)
	if err != nil {
		return nil, err
	}
	return func() { polls.apply(p) }, nil
}

// advance proposes the passage of time whenever the pipeline's next
// deadline is due, until ctx ends. The time proposed is this node's clock;
// each deadline is applied at its own instant.
func (g *group) advance(ctx context.Context, propose func(ha.Command) error) {
	for {
		var at time.Time
		var due bool
		g.d.driver.Do(func() { at, due = g.d.driver.Deadline() })
		// An entry applied meanwhile may bring a sooner deadline: look again
		// every so often.
		wait := 250 * time.Millisecond
		if due {
			wait = min(max(time.Until(at), 0), wait)
		}
		if !sleep(ctx, wait) {
			return
		}
		if now := g.d.opts.Clock.Now(); due && !now.Before(at) {
			if err := propose(ha.Command{Kind: ha.Advance, Time: now}); err != nil && ctx.Err() == nil {
				g.log.Warn("cannot propose the passage of time", "err", err)
			}
		}
	}
}

// Pending journals, through the group, a delivery's attempt count or a
// fallback: the dispatcher's Journal.
func (g *group) Pending(del dispatch.Delivery) error {
	return g.decide(ha.Command{Kind: ha.Pending, Delivery: &del})
}

// Done journals, through the group, a delivery's end.
func (g *group) Done(id string) error { return g.decide(ha.Command{Kind: ha.Done, ID: id}) }

// decide makes c one of the group's decisions: through raft on the leader,
// at once on a node in fail-open.
func (g *group) decide(c ha.Command) error {
	if g.runningAlone() {
		return g.applyAlone(c)
	}
	return g.node.Propose(c, proposeTimeout)
}

// submitEvents hands a cluster's events (an ha.Events command), taken in
// by this node, to the group: the leader proposes them (and returns once
// they are committed and applied), a node in fail-open applies them,
// another forwards them to the leader.
func (g *group) submitEvents(ctx context.Context, c ha.Command) error {
	switch {
	case g.runningAlone():
		return g.applyAlone(c)
	case g.node.IsLeader():
		return g.node.Propose(c, proposeTimeout)
	}
	return g.forwardCommand(ctx, c)
}

// date dates events as they arrive at this node (see Driver.Date): the
// group applies them with these times, wherever and whenever it does.
func (g *group) date(evs []event.Event) {
	now := g.d.opts.Clock.Now()
	g.d.driver.Do(func() {
		for i := range evs {
			evs[i] = g.d.driver.Date(evs[i], now)
		}
	})
}

// forwardEvents hands this node's sources' events to the group until ctx
// ends, trying again while the group has no leader.
func (g *group) forwardEvents(ctx context.Context) {
	for {
		var ev event.Event
		select {
		case <-ctx.Done():
			return
		case ev = <-g.d.events:
		}
		// Taken before the queue is drained: every event the files were
		// read past is then in the batch, if it takes the whole queue.
		read := g.d.sources.positions.read()
		batch, whole := g.drain([]event.Event{ev})
		g.date(batch)
		handed := true
		for _, cluster := range clustersOf(batch) {
			handed = handed && g.submitRetrying(ctx, ha.Command{Kind: ha.Events, Cluster: cluster, Events: eventsOf(batch, cluster)})
		}
		// Only now may a file's saved position pass its events: saved
		// before, a restart would resume past events the group never had.
		if handed && whole {
			g.d.sources.positions.handOver(read)
			g.d.saver.changed()
		}
	}
}

// drain adds the events already waiting to batch; whole when it took
// them all.
func (g *group) drain(batch []event.Event) (_ []event.Event, whole bool) {
	for len(batch) < 256 {
		select {
		case ev := <-g.d.events:
			batch = append(batch, ev)
		default:
			return batch, true
		}
	}
	return batch, false
}

// submitRetrying submits c until the group has it (true) or ctx ends.
func (g *group) submitRetrying(ctx context.Context, c ha.Command) bool {
	logged := false
	for ctx.Err() == nil {
		err := g.submitEvents(ctx, c)
		if err == nil {
			return true
		}
		if !logged {
			g.log.Warn("events wait for the group", "cluster", c.Cluster, "err", err)
			logged = true
		}
		sleep(ctx, 200*time.Millisecond)
	}
	return false
}

// handOver makes cmds the group's entries, in order: proposed here while
// this node leads, forwarded to the leader otherwise. Each is tried again,
// across changes of leader, until the group commits it or ctx ends.
func (g *group) handOver(ctx context.Context, cmds []ha.Command) {
	for _, c := range cmds {
		logged := false
		for ctx.Err() == nil {
			err := errNoLeader // alone again: the group takes it once back
			switch {
			case g.runningAlone():
			case g.node.IsLeader():
				err = g.node.Propose(c, proposeTimeout)
			default:
				err = g.forwardCommand(ctx, c)
			}
			if err == nil {
				break
			}
			if !logged {
				g.log.Warn("what this node did alone waits for the group", "kind", c.Kind, "err", err)
				logged = true
			}
			sleep(ctx, 200*time.Millisecond)
		}
	}
}

func clustersOf(evs []event.Event) []string {
	var out []string
	for _, ev := range evs {
		if !containsString(out, ev.Cluster) {
			out = append(out, ev.Cluster)
		}
	}
	return out
}

func eventsOf(evs []event.Event, cluster string) []event.Event {
	var out []event.Event
	for _, ev := range evs {
		if ev.Cluster == cluster {
			out = append(out, ev)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sleep waits for d or the end of ctx, and reports whether ctx goes on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// errNoLeader: nobody to forward to.
var errNoLeader = errors.New("the group has no leader")
