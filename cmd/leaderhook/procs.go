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
// 0.26 ms at the median instead of 0.18 ms with one CPU, for a fifth more
// CPU per delivery.
//
// It uses its default number of CPUs while work overlaps: while scripts
// run (starting a program, vfork, holds the CPU it runs on until the child
// has executed, which on a busy machine holds up everything else) and
// while several ingest requests are in flight (a flood decodes and decides
// in parallel). It returns to one CPU a second after the last such moment.
type procs struct {
	mu        sync.Mutex
	low       int
	high      int
	current   int
	scripts   int // shell actions running
	ingesting int // POST /v1/events in flight
	lower     *time.Timer
	linger    time.Duration
	stopped   bool
}

// newProcs returns nil when GOMAXPROCS is set (the operator's choice
// stands) or when there is only one CPU anyway.
func newProcs() *procs {
	high := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") != "" || high <= 1 {
		return nil
	}
	return &procs{low: 1, high: high, current: high, linger: time.Second}
}

// start goes down to one CPU.
func (p *procs) start() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.scripts == 0 && p.ingesting <= 1 {
		p.set(p.low)
	}
}

// update sets GOMAXPROCS for the work in flight. Callers hold p.mu.
func (p *procs) update() {
	if p.stopped {
		return
	}
	if p.scripts > 0 || p.ingesting > 1 {
		if p.lower != nil {
			p.lower.Stop()
			p.lower = nil
		}
		p.set(p.high)
		return
	}
	if p.current == p.low || p.lower != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(p.linger, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.lower == t {
			p.lower = nil
			if !p.stopped && p.scripts == 0 && p.ingesting <= 1 {
				p.set(p.low)
			}
		}
	})
	p.lower = t
}

func (p *procs) set(n int) {
	if p.current != n {
		runtime.GOMAXPROCS(n)
		p.current = n
	}
}

// ingest counts one ingest request until the returned func is called.
func (p *procs) ingest() (done func()) {
	if p == nil {
		return func() {}
	}
	p.mu.Lock()
	p.ingesting++
	p.update()
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.ingesting--
		p.update()
		p.mu.Unlock()
	}
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
	p.set(p.high)
	p.stopped = true
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
	p := s.procs
	p.mu.Lock()
	p.scripts++
	p.update()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.scripts--
		p.update()
		p.mu.Unlock()
	}()
	return s.Action.Run(ctx, n)
}
