package main

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/dispatch"
)

// seeProcs is an action that records GOMAXPROCS while it runs.
type seeProcs struct{ during chan int }

func (s seeProcs) Run(context.Context, *actions.Notification) (actions.Outcome, error) {
	s.during <- runtime.GOMAXPROCS(0)
	return actions.Outcome{}, nil
}

func TestOneCPUExceptWhileScriptsRun(t *testing.T) {
	def := defaultProcs(t)
	p := &procs{linger: 500 * time.Millisecond, cpuTime: processCPUTime}
	p.start()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d after start, want 1", got)
	}
	during := make(chan int, 2)
	targets := p.wrap(map[string]dispatch.Target{
		"script": {Action: seeProcs{during}, Spec: actions.Spec{Type: shell.Name}},
		"hook":   {Action: seeProcs{during}, Spec: actions.Spec{Type: webhook.Name}},
	})
	targets["hook"].Action.Run(context.Background(), &actions.Notification{})
	if got := <-during; got != 1 {
		t.Errorf("a webhook ran with GOMAXPROCS %d, want 1", got)
	}
	targets["script"].Action.Run(context.Background(), &actions.Notification{})
	if got := <-during; got != def {
		t.Errorf("a script ran with GOMAXPROCS %d, want the default %d", got, def)
	}
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Errorf("GOMAXPROCS %d just after a script, want the default %d for a while", got, def)
	}
	waitProcs(t, 1, "long after the last script")

	p.stop()
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Errorf("GOMAXPROCS %d after stop, want the default %d", got, def)
	}
}

// TestAllCPUsWhileOneIsNotEnough: while events come in, one CPU used to
// the full raises GOMAXPROCS; a linger later it comes down to see whether
// one is enough again. The sampler stops once events stop.
func TestAllCPUsWhileOneIsNotEnough(t *testing.T) {
	def := defaultProcs(t)
	// The process's CPU time, as a share of a CPU set by the test.
	var share atomic.Int64 // percent
	var mu sync.Mutex
	var used time.Duration
	last := time.Now()
	cpuTime := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		used += now.Sub(last) * time.Duration(share.Load()) / 100
		last = now
		return used
	}
	p := &procs{linger: 300 * time.Millisecond, cpuTime: cpuTime}
	p.start()
	defer p.stop()
	stopIngest := make(chan struct{})
	ingestDone := make(chan struct{})
	go func() { // a steady flow of events
		defer close(ingestDone)
		for {
			select {
			case <-stopIngest:
				return
			case <-time.After(20 * time.Millisecond):
				p.ingesting()
			}
		}
	}()

	share.Store(60)
	time.Sleep(5 * sampleEvery)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS %d with 60%% of one CPU used, want 1", got)
	}
	share.Store(100)
	waitProcs(t, def, "with one CPU used to the full")
	share.Store(60)
	waitProcs(t, 1, "a linger after one CPU was enough again")

	close(stopIngest)
	<-ingestDone
	deadline := time.Now().Add(5 * time.Second)
	for p.sampling.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the sampler still runs long after the last event")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// defaultProcs sets Go's default GOMAXPROCS for the test, restores the
// value before it at the end, and returns the default, which must be 2 or
// more to be told from one.
func defaultProcs(t *testing.T) int {
	t.Helper()
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	if def < 2 {
		t.Fatalf("this test needs 2 CPUs or more to tell one from Go's default (%d)", def)
	}
	return def
}

func waitProcs(t *testing.T, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS still %d %s, want %d", runtime.GOMAXPROCS(0), when, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGOMAXPROCSFromTheEnvironmentStands(t *testing.T) {
	t.Setenv("GOMAXPROCS", "3")
	if p := newProcs(); p != nil {
		t.Errorf("newProcs() = %+v with GOMAXPROCS set, want nil (left alone)", p)
	}
	var p *procs // nil: every method is a no-op
	p.start()
	p.ingesting()
	p.stop()
	targets := map[string]dispatch.Target{"script": {Spec: actions.Spec{Type: shell.Name}}}
	if got := p.wrap(targets); got["script"].Action != nil {
		t.Error("a nil procs wrapped an action")
	}
}
