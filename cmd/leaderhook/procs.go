package main

import (
	"context"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
)

// The daemon runs its Go code on one CPU (GOMAXPROCS=1) while it handles
// one thing at a time, unless GOMAXPROCS is set in the environment.
//
// Why: an event's path through leaderhook is a chain of short hand-offs
// between goroutines (HTTP handler, decision, delivery worker, HTTP
// client). With a second CPU idle, each hand-off wakes a thread there that
// spins, finds nothing and sleeps again: on a 2-vCPU guest that took the
// CPU the receiver and the sender needed, and one event's delivery took
// 0.24-0.28 ms at the median instead of 0.17-0.21 ms with one CPU, for a
// sixth to a fifth more CPU per delivery (BENCHMARKS.md).
//
// It goes back to Go's default (runtime.SetDefaultGOMAXPROCS, which also
// follows CPU quota changes) while work overlaps: while scripts run
// (starting a program, vfork, holds the CPU it runs on until the child has
// executed, which on a busy machine holds up everything else) and while
// several ingest requests are being decided (a flood decodes and decides in
// parallel). It returns to one CPU a second after the last such moment.
type procs struct {
	mu        sync.Mutex
	one       bool // what GOMAXPROCS should be: 1, or the default
	scripts   int  // shell actions running
	ingesting int  // ingest requests being decided
	lower     *time.Timer
	linger    time.Duration
	stopped   bool

	// applying serializes changes to GOMAXPROCS, which stop the world and
	// wait for a garbage collection in progress: outside mu, so that
	// requests that change nothing never wait for one.
	applying sync.Mutex
}

// newProcs returns nil when GOMAXPROCS is set (the operator's choice
// stands) or when there is only one CPU anyway.
func newProcs() *procs {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) <= 1 {
		return nil
	}
	return &procs{linger: time.Second}
}

// start goes down to one CPU.
func (p *procs) start() {
	if p == nil {
		return
	}
	p.change(func() { p.one = true })
}

// change runs f under mu, works out what GOMAXPROCS should be, and applies
// it if that changed.
func (p *procs) change(f func()) {
	p.mu.Lock()
	was := p.one
	f()
	p.decide()
	changed := p.one != was
	p.mu.Unlock()
	if changed {
		p.apply()
	}
}

// decide sets p.one for the work in flight, or arms the timer that lowers
// it after the linger. Callers hold mu.
func (p *procs) decide() {
	if p.stopped {
		return
	}
	if p.scripts > 0 || p.ingesting > 1 {
		if p.lower != nil {
			p.lower.Stop()
			p.lower = nil
		}
		p.one = false
		return
	}
	if p.one || p.lower != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(p.linger, func() {
		p.mu.Lock()
		lower := p.lower == t && !p.stopped && p.scripts == 0 && p.ingesting <= 1
		if p.lower == t {
			p.lower = nil
		}
		if lower {
			p.one = true
		}
		p.mu.Unlock()
		if lower {
			p.apply()
		}
	})
	p.lower = t
}

// apply sets GOMAXPROCS to what p.one says now: concurrent changes apply
// in turn, each the latest decision.
func (p *procs) apply() {
	p.applying.Lock()
	defer p.applying.Unlock()
	p.mu.Lock()
	one := p.one
	p.mu.Unlock()
	switch {
	case one && runtime.GOMAXPROCS(0) != 1:
		runtime.GOMAXPROCS(1)
	case !one:
		runtime.SetDefaultGOMAXPROCS()
	}
}

// ingest counts one ingest request being decided until the returned func
// is called.
func (p *procs) ingest() (done func()) {
	if p == nil {
		return func() {}
	}
	p.change(func() { p.ingesting++ })
	return func() { p.change(func() { p.ingesting-- }) }
}

// stop goes back to Go's default for what follows the daemon (tests run
// several daemons in one process) and makes no further change.
func (p *procs) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.lower != nil {
		p.lower.Stop()
		p.lower = nil
	}
	p.one, p.stopped = false, true
	p.mu.Unlock()
	p.apply()
}

// wrap has the shell actions among targets tell p while they run.
func (p *procs) wrap(targets map[string]dispatch.Target) map[string]dispatch.Target {
	if p == nil {
		return targets
	}
	out := make(map[string]dispatch.Target, len(targets))
	for name, t := range targets {
		if t.Spec.Type == actions.KindShell {
			t.Action = spawning{Action: t.Action, procs: p}
		}
		out[name] = t
	}
	return out
}

// spawning is a shell action that holds the daemon at its default number
// of CPUs while it runs.
type spawning struct {
	actions.Action
	procs *procs
}

func (s spawning) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	s.procs.change(func() { s.procs.scripts++ })
	defer s.procs.change(func() { s.procs.scripts-- })
	return s.Action.Run(ctx, n)
}
