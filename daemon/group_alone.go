package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/ha"
)

// failOpen is this node deciding and dispatching alone, because the group
// has had no leader for fail_open_after: a group that lost its majority
// must not mean no page. Deliveries keep their deterministic ids, so a
// receiver sees the same id from this node and from a leader on the other
// side of a split, and can drop the second.
type failOpen struct {
	since time.Time
	image []byte               // the group's state when this node went alone
	disp  *dispatch.Dispatcher // this node's, while alone
	stop  func()
	// taken are the members' events this node took in alone: the group
	// gets them once it is back, so that it knows what happened meanwhile.
	taken []ha.Command
}

// watchLeader starts fail-open once the group has had no leader for
// fail_open_after, and ends it when a leader is back.
func (g *group) watchLeader(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lost time.Time
	for {
		select {
		case <-ctx.Done():
			g.applyMu.Lock()
			fo := g.failOpen
			g.endFailOpen("stopping")
			g.applyMu.Unlock()
			if fo != nil {
				fo.stop() // before the daemon closes what it uses
			}
			return
		case <-tick.C:
		}
		if g.node.LeaderID() != "" {
			lost = time.Time{}
			g.applyMu.Lock()
			g.endFailOpen("the group has a leader again")
			g.applyMu.Unlock()
			continue
		}
		if lost.IsZero() {
			lost = time.Now()
		}
		after := g.cfg.FailOpen()
		if after > 0 && time.Since(lost) >= after && g.node.IsMember() {
			g.startFailOpen(ctx)
		}
	}
}

// startFailOpen makes this node decide and dispatch alone.
func (g *group) startFailOpen(ctx context.Context) {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if g.failOpen != nil {
		return
	}
	image, err := g.snapshot()
	if err != nil {
		g.log.Error("cannot go fail-open: the group's state cannot be kept", "err", err)
		return
	}
	g.log.Warn("the group has had no leader for fail_open_after: this node decides and dispatches alone until a leader is back",
		"fail_open_after", g.cfg.FailOpen().String())
	aloneCtx, cancel := context.WithCancel(ctx)
	disp, stopDispatch := g.dispatch(false)
	stopPolls := g.startPolls(aloneCtx)
	advanced := make(chan struct{})
	go func() { defer close(advanced); g.advance(aloneCtx, g.applyAlone) }()
	g.failOpen = &failOpen{since: time.Now(), image: image, disp: disp, stop: sync.OnceFunc(func() {
		cancel()
		stopDispatch() // first: what it still holds was decided alone
		<-advanced
		stopPolls()
	})}
	g.alone.Store(true)
}

// endFailOpen gives what this node decided alone up for the group's
// state as it was when it went alone; the group's log continues from there.
// Callers hold applyMu.
func (g *group) endFailOpen(why string) {
	fo := g.failOpen
	if fo == nil {
		return
	}
	g.failOpen = nil
	g.alone.Store(false)
	g.mu.Lock()
	g.stats.failOpenTotal += time.Since(fo.since)
	// At once, not when fo stops: the group's entries applied from here
	// on, this one's first, are the leader's to dispatch, not this node's.
	if g.disp == fo.disp {
		g.disp = nil
	}
	g.mu.Unlock()
	// Taken before the group's state replaces this node's: a snapshot of
	// the group would replace its memories too.
	remembered := g.changedAlone(fo.image)
	if err := g.restore(fo.image, false); err != nil {
		g.log.Error("cannot return to the group's state after fail-open", "err", err)
	}
	g.log.Info("fail-open ended: the group decides again", "why", why, "alone_for", time.Since(fo.since).Round(time.Millisecond).String())
	// Its goroutines may be waiting for applyMu: they stop on their own.
	go fo.stop()
	if why == "stopping" {
		return
	}
	// What this node posted alone first, so that the group's decisions
	// from the events it took in find it.
	go func() {
		g.handOver(g.ctx, remembered)
		g.resubmit(fo.taken)
	}()
}

// runningAlone reports whether this node is in fail-open.
func (g *group) runningAlone() bool { return g.alone.Load() }

// applyAlone applies one of this node's own inputs while it is in
// fail-open; once fail-open has ended it is dropped.
func (g *group) applyAlone(c ha.Command) error {
	g.applyMu.Lock()
	defer g.applyMu.Unlock()
	if g.failOpen == nil {
		return errNoLeader
	}
	if c.Kind == ha.Events {
		g.failOpen.taken = append(g.failOpen.taken, c)
	}
	g.apply(c)
	return nil
}

// resubmit hands the group the events this node took in alone. Decisions
// the group makes from them again carry the ids this node gave them.
func (g *group) resubmit(cmds []ha.Command) {
	for _, c := range cmds {
		g.submitRetrying(g.ctx, c)
	}
}

// failOpenSeconds is the time spent in fail-open so far, for the metrics.
func (g *group) failOpenSeconds() float64 {
	g.applyMu.Lock()
	fo := g.failOpen
	g.applyMu.Unlock()
	g.mu.Lock()
	total := g.stats.failOpenTotal
	g.mu.Unlock()
	if fo != nil {
		total += time.Since(fo.since)
	}
	return total.Seconds()
}
