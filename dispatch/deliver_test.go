package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// probe is an action that fails at once, or after waiting for its
// timeout, or succeeds; it logs which action ran and for how long.
type probe struct {
	name    string
	block   bool
	succeed bool
	log     *attemptLog
}

type attemptLog struct {
	mu  sync.Mutex
	got []string
}

func (p *probe) Run(ctx context.Context, _ *actions.Notification) (actions.Outcome, error) {
	start := time.Now()
	if p.block {
		<-ctx.Done()
	}
	p.log.mu.Lock()
	p.log.got = append(p.log.got, fmt.Sprintf("%s %s", p.name, time.Since(start)))
	p.log.mu.Unlock()
	if p.succeed {
		return actions.Outcome{}, nil
	}
	return actions.Outcome{}, errors.New("503")
}

// A delivery being retried takes its action as a reload leaves it: its
// new target, timeout and retry budget.
func TestRetriesTakeTheReloadedAction(t *testing.T) {
	timeout := func(s actions.Spec, d time.Duration) actions.Spec { s.Timeout = d; return s }
	for _, tc := range []struct {
		name                  string
		before, after         probe
		beforeSpec, afterSpec actions.Spec
		want                  []string // the attempts, by action and duration
	}{
		{"its new target", probe{name: "old"}, probe{name: "new", succeed: true}, spec(5), spec(5),
			[]string{"old 0s", "new 0s"}},
		{"its new retry budget", probe{name: "hook"}, probe{name: "hook"}, spec(2), spec(4),
			[]string{"hook 0s", "hook 0s", "hook 0s", "hook 0s"}},
		{"its retry budget lowered to the attempts made: no other", probe{name: "hook"}, probe{name: "hook"}, spec(3), spec(1),
			[]string{"hook 0s"}},
		{"its new timeout", probe{name: "hook", block: true}, probe{name: "hook", block: true},
			timeout(spec(2), time.Second), timeout(spec(2), 5*time.Second), []string{"hook 1s", "hook 5s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &attemptLog{}
				before, after := tc.before, tc.after
				before.log, after.log = log, log
				d, _, _ := setup(map[string]Target{"hook": {Action: &before, Spec: tc.beforeSpec}})
				d.Submit(note("r"), []string{"hook"})
				synctest.Wait() // the first attempt has started
				d.SetTargets(map[string]Target{"hook": {Action: &after, Spec: tc.afterSpec}})
				time.Sleep(time.Hour)
				synctest.Wait()
				d.Close(context.Background())
				if !slices.Equal(log.got, tc.want) {
					t.Errorf("attempts %q, want %q", log.got, tc.want)
				}
			})
		})
	}
}

// A delivery waiting for a retry when a reload lowers retry.max_attempts to
// the attempts it made fails for good, with its last error, and its
// on_failure actions run.
func TestRetryBudgetLoweredDuringTheBackoffFailsForGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook, page := &scripted{answers: []error{errors.New("503"), errors.New("503")}}, &scripted{}
		d, _, a := setup(map[string]Target{"hook": {Action: hook, Spec: spec(3, "page")}, "page": {Action: page, Spec: spec(1)}})
		d.Submit(note("r"), []string{"hook"})
		synctest.Wait() // the first attempt failed; the retry waits
		d.SetTargets(map[string]Target{"hook": {Action: hook, Spec: spec(1, "page")}, "page": {Action: page, Spec: spec(1)}})
		time.Sleep(time.Hour)
		synctest.Wait()
		d.Close(context.Background())
		if want := []string{"queued", "attempt:retry", "failed:failed"}; !slices.Equal(a.kinds("hook"), want) {
			t.Errorf("audit %q, want %q", a.kinds("hook"), want)
		}
		if len(page.got()) != 1 {
			t.Errorf("on_failure ran %d times, want once", len(page.got()))
		}
	})
}
