package main

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/dispatch"
)

// The daemon runs its Go code on one CPU (GOMAXPROCS=1) unless that is not
// enough, and unless GOMAXPROCS is set in the environment.
//
// Why: an event's path through leaderhook is a chain of short hand-offs
// between goroutines (HTTP handler, decision, delivery worker, HTTP
// client). With a second CPU idle, each hand-off wakes a thread there that
// spins, finds nothing and sleeps again: on a 2-vCPU guest that took the
// CPU the receiver and the sender needed, and one event's delivery took
// 0.24-0.28 ms at the median instead of 0.17-0.21 ms with one CPU, for a
// sixth to a fifth more CPU per delivery. Under load it is the same: 8
// senders and their webhooks went 12 % faster on one CPU, at a quarter
// less CPU per delivery (BENCHMARKS.md).
//
// It goes back to Go's default (runtime.SetDefaultGOMAXPROCS, which also
// follows CPU quota changes) while scripts run (starting a program, vfork,
// holds the CPU it runs on until the child has executed, which on a busy
// machine holds up everything else), and while one CPU is not enough: when
// the process used at least saturatedShare of a CPU over a sampleEvery
// while it ingested events on one (a flood of events decodes and decides
// faster in parallel). It returns to one CPU a linger after the last
// script ends, or a linger after it went up for want of CPU; if one CPU is
// still not enough then, the next sample raises it again.
type procs struct {
	mu         sync.Mutex
	one        bool      // what GOMAXPROCS should be: 1, or the default
	oneSince   time.Time // when it last became 1
	scripts    int       // shell actions running
	lastScript time.Time // when the last one ended
	saturated  time.Time // when one CPU was last found not enough; zero once over
	lower      *time.Timer
	linger     time.Duration
	stopped    bool

	// Ingest marks itself in active (unix nanoseconds) without a lock;
	// the sampler runs while events come in, and stops a linger after.
	active   atomic.Int64
	sampling atomic.Bool
	cpuTime  func() time.Duration // the process's CPU time so far

	// applying serializes changes to GOMAXPROCS, which stop the world and
	// wait for a garbage collection in progress: outside mu, so that
	// requests that change nothing never wait for one.
	applying sync.Mutex
}

const (
	sampleEvery    = 100 * time.Millisecond
	saturatedShare = 0.9
)

// newProcs returns nil when GOMAXPROCS is set (the operator's choice
// stands) or when there is only one CPU anyway.
func newProcs() *procs {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) <= 1 {
		return nil
	}
	return &procs{linger: time.Second, cpuTime: processCPUTime}
}

// processCPUTime is the CPU time the process has used, user and system.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// start goes down to one CPU.
func (p *procs) start() {
	if p == nil {
		return
	}
	p.change(func() {})
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

// decide sets p.one for the work in flight, or arms the timer that decides
// again once the linger after the last script is over. Callers hold mu.
func (p *procs) decide() {
	if p.stopped {
		return
	}
	if p.scripts > 0 || !p.saturated.IsZero() {
		p.one = false
		return
	}
	if wait := p.linger - time.Since(p.lastScript); wait > 0 {
		if p.lower == nil {
			p.lower = time.AfterFunc(wait, func() { p.change(func() { p.lower = nil }) })
		}
		return
	}
	if !p.one {
		p.one, p.oneSince = true, time.Now()
	}
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

// ingesting notes an ingest request, and starts the sampler that watches
// whether one CPU is enough if it is not running.
func (p *procs) ingesting() {
	if p == nil {
		return
	}
	p.active.Store(time.Now().UnixNano())
	if p.sampling.CompareAndSwap(false, true) {
		go p.sample()
	}
}

// sample measures, every sampleEvery, the share of a CPU the process used,
// and raises GOMAXPROCS when one CPU is not enough (see procs). It ends a
// linger after the last ingest request.
func (p *procs) sample() {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	lastCPU, lastAt := p.cpuTime(), time.Now()
	for range tick.C {
		cpu, at, from := p.cpuTime(), time.Now(), lastAt
		share := float64(cpu-lastCPU) / float64(at.Sub(lastAt))
		lastCPU, lastAt = cpu, at
		var quiet, stopped bool
		p.change(func() {
			switch {
			case p.stopped:
			case p.one && !from.Before(p.oneSince) && share >= saturatedShare:
				// (A sample begun on every CPU says nothing of one.)
				p.saturated = at
			case !p.saturated.IsZero() && at.Sub(p.saturated) >= p.linger:
				p.saturated = time.Time{} // one CPU again; the next samples tell
			}
			stopped = p.stopped
			quiet = stopped || p.saturated.IsZero() && at.Sub(time.Unix(0, p.active.Load())) > p.linger
		})
		if !quiet {
			continue
		}
		p.sampling.Store(false)
		// An ingest request between the check and the store found the
		// sampler running and did not start one: go on for it.
		if !stopped && time.Since(time.Unix(0, p.active.Load())) <= p.linger && p.sampling.CompareAndSwap(false, true) {
			continue
		}
		return
	}
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
		if t.Spec.Type == shell.Name {
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
	defer s.procs.change(func() { s.procs.scripts--; s.procs.lastScript = time.Now() })
	return s.Action.Run(ctx, n)
}
