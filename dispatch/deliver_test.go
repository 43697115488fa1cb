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

// No wait between attempts is longer than retry.max_backoff, jitter
// included, and a reload that lowers it shortens the wait after the next
// attempt.
func TestWaitsBetweenAttemptsKeepToMaxBackoff(t *testing.T) {
	backoffs := func(attempts int, initial, most time.Duration) actions.Spec {
		s := spec(attempts)
		s.Retry.InitialBackoff, s.Retry.MaxBackoff = initial, most
		return s
	}
	for _, tc := range []struct {
		name          string
		before, after actions.Spec // after: set by a reload once the first attempt failed; zero: no reload
		from          int          // the first attempt whose wait before it is checked
		longest       time.Duration
	}{
		{"jitter takes no wait past max_backoff", backoffs(20, 10*time.Second, 10*time.Second), actions.Spec{}, 1, 10 * time.Second},
		{"a reload lowering max_backoff shortens the next wait", backoffs(5, 40*time.Second, 80*time.Second),
			backoffs(5, time.Second, 2*time.Second), 2, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				act := &scripted{answers: slices.Repeat([]error{errors.New("503")}, tc.before.Retry.MaxAttempts)}
				d, _, _ := setup(map[string]Target{"hook": {Action: act, Spec: tc.before}})
				d.Submit(note("r"), []string{"hook"})
				synctest.Wait() // the first attempt failed; the retry waits
				if tc.after.Retry.MaxAttempts > 0 {
					d.SetTargets(map[string]Target{"hook": {Action: act, Spec: tc.after}})
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				d.Close(context.Background())
				calls := act.got()
				if len(calls) != tc.before.Retry.MaxAttempts {
					t.Fatalf("%d attempts, want %d", len(calls), tc.before.Retry.MaxAttempts)
				}
				for i := tc.from; i < len(calls); i++ {
					if wait := calls[i].at.Sub(calls[i-1].at); wait > tc.longest {
						t.Errorf("waited %s before attempt %d, max_backoff %s", wait, i+1, tc.longest)
					}
				}
			})
		})
	}
}
