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

// The daemon runs its Go code on one CPU (GOMAXPROCS=1) while no script
// runs, unless GOMAXPROCS is set in the environment.
//
// Why: an event's path through leaderhook is a chain of short hand-offs
// between goroutines (HTTP handler, decision, delivery worker, HTTP
// client). With a second CPU idle, each hand-off wakes a thread there that
// spins, finds nothing and sleeps again: on a 2-vCPU guest that took the
// CPU the receiver and the sender needed, and one event's delivery took
// 0.26 ms at the median instead of 0.19 ms with one CPU (p99 0.92 against
// 0.75 ms), for more CPU per delivery. One CPU takes several thousand
// deliveries a second.
//
// Why not while scripts run: starting a program (vfork) holds the CPU it
// runs on until the child has executed, and on a busy machine that is long
// enough to hold up everything else; with scripts in flight the daemon
// uses its default number of CPUs, and returns to one a second after the
// last one ends.
type procs struct {
	mu      sync.Mutex
	low     int
	high    int
	running int
	lower   *time.Timer
	linger  time.Duration
}

// newProcs returns nil when GOMAXPROCS is set (the operator's choice
// stands) or when there is only one CPU anyway.
func newProcs() *procs {
	high := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") != "" || high <= 1 {
		return nil
	}
	return &procs{low: 1, high: high, linger: time.Second}
}

// start goes down to one CPU.
func (p *procs) start() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running == 0 {
		runtime.GOMAXPROCS(p.low)
	}
}

func (p *procs) enter() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running++
	if p.lower != nil {
		p.lower.Stop()
		p.lower = nil
	}
	if p.running == 1 && runtime.GOMAXPROCS(0) != p.high {
		runtime.GOMAXPROCS(p.high)
	}
}

func (p *procs) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running--
	if p.running > 0 {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(p.linger, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.lower == t && p.running == 0 {
			runtime.GOMAXPROCS(p.low)
			p.lower = nil
		}
	})
	p.lower = t
}

// stop leaves the default number of CPUs, for what follows the daemon
// (tests run several daemons in one process).
func (p *procs) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lower != nil {
		p.lower.Stop()
		p.lower = nil
	}
	p.running = 1 << 30 // no more changes
	runtime.GOMAXPROCS(p.high)
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
	s.procs.enter()
	defer s.procs.leave()
	return s.Action.Run(ctx, n)
}
