package main

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
)

// seeProcs is an action that records GOMAXPROCS while it runs.
type seeProcs struct{ during chan int }

func (s seeProcs) Run(context.Context, *actions.Notification) (actions.Outcome, error) {
	s.during <- runtime.GOMAXPROCS(0)
	return actions.Outcome{}, nil
}

func TestOneCPUExceptWhileScriptsRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	if def < 2 {
		t.Fatalf("this test needs 2 CPUs or more to tell one from Go's default (%d)", def)
	}
	p := &procs{linger: 500 * time.Millisecond}
	p.start()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d after start, want 1", got)
	}
	during := make(chan int, 2)
	targets := p.wrap(map[string]dispatch.Target{
		"script": {Action: seeProcs{during}, Spec: actions.Spec{Type: actions.KindShell}},
		"hook":   {Action: seeProcs{during}, Spec: actions.Spec{Type: actions.KindWebhook}},
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

	// Ingest requests one at a time keep one CPU; overlapping ones get all.
	for range 3 {
		p.ingest()()
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS %d after ingest requests one at a time, want 1", got)
	}
	first := p.ingest()
	second := p.ingest()
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Errorf("GOMAXPROCS %d with two ingest requests in flight, want the default %d", got, def)
	}
	second()
	first()
	waitProcs(t, 1, "long after the last overlapping requests")
	p.stop()
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Errorf("GOMAXPROCS %d after stop, want the default %d", got, def)
	}
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
	p.ingest()()
	p.stop()
	targets := map[string]dispatch.Target{"script": {Spec: actions.Spec{Type: actions.KindShell}}}
	if got := p.wrap(targets); got["script"].Action != nil {
		t.Error("a nil procs wrapped an action")
	}
}
