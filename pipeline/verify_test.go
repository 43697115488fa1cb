package pipeline

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// fakeAction answers every attempt with err, and keeps what it was sent.
type fakeAction struct {
	err error
	mu  sync.Mutex
	got []actions.Notification
}

func (f *fakeAction) Run(_ context.Context, n *actions.Notification) (actions.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, *n)
	return actions.Outcome{}, f.err
}

func (f *fakeAction) sent() []actions.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// verifying is a pipeline whose dispatcher's ends are counted by the
// engine: a rule runs script and chat 30 s into a loss; once both have
// succeeded, the cluster must have a leader within 2m, or page.
type verifying struct {
	driver             *Driver
	sink               *logSink
	script, chat, page *fakeAction
	mu                 sync.Mutex
	ends               []rules.ActionEnd
}

func newVerifying(t *testing.T, scriptErr error) *verifying {
	t.Helper()
	v := &verifying{sink: &logSink{}, script: &fakeAction{err: scriptErr}, chat: &fakeAction{}, page: &fakeAction{}}
	spec := func(onFailure ...string) actions.Spec {
		return actions.Spec{Type: "webhook", Timeout: time.Second, Retry: actions.Retry{MaxAttempts: 1}, OnFailure: onFailure}
	}
	disp := dispatch.New(dispatch.Options{Targets: map[string]dispatch.Target{
		"script": {Action: v.script, Spec: spec("chat")}, "chat": {Action: v.chat, Spec: spec()}, "page": {Action: v.page, Spec: spec()},
	}, OnDone: func(del dispatch.Delivery, ok bool) {
		if end, counts := Ended(del, ok); counts {
			v.mu.Lock()
			v.ends = append(v.ends, end)
			v.mu.Unlock()
		}
	}})
	t.Cleanup(func() { disp.Close(context.Background()) })
	engine, err := rules.New(rules.Options{Rules: []rules.Rule{{Name: "failover", When: `leaderless_for >= duration("30s")`,
		Actions: []string{"script", "chat"}, Verify: &rules.Verify{When: "!leaderless", Within: 2 * time.Minute, OnFailure: []string{"page"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	v.driver = NewDriver(engine, []ClusterView{{Name: "c", Stabilize: 2 * time.Second}}, "c", &Dispatching{Next: v.sink, To: disp})
	return v
}

// at lets time pass to now, then hands the engine the deliveries that
// ended meanwhile, as the daemon does.
func (v *verifying) at(now time.Time) {
	time.Sleep(time.Until(now))
	v.driver.AdvanceTo(now)
	synctest.Wait()
	v.mu.Lock()
	ends := v.ends
	v.ends = nil
	v.mu.Unlock()
	for _, end := range ends {
		v.driver.ActionDone(end, now)
	}
	synctest.Wait()
}

func TestVerifyCountsDeliveries(t *testing.T) {
	cases := []struct {
		name      string
		scriptErr error
		leaderAt  time.Duration // 0: none
		want      []string      // outcome kinds
		paged     bool
	}{
		{"both actions succeed, no leader: on_failure at success + within", nil, 0, []string{rules.Fired, rules.VerifyFailed}, true},
		{"both succeed, a leader in time: verified", nil, time.Minute, []string{rules.Fired, rules.Verified, rules.Resolved}, false},
		{"the script fails for good (its fallback succeeds): nothing to verify", actions.Permanent(errors.New("exit 1")), 0, []string{rules.Fired}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				v := newVerifying(t, tc.scriptErr)
				start := time.Now()
				v.driver.Handle(report(event.HasLeader, "m1"))
				v.at(start.Add(10 * time.Second))
				v.driver.Handle(report(event.Leaderless, ""))
				v.at(start.Add(40 * time.Second)) // fired; both delivered at once
				if tc.leaderAt > 0 {
					v.at(start.Add(tc.leaderAt))
					v.driver.Handle(report(event.HasLeader, "m1"))
				}
				v.at(start.Add(time.Hour))
				var kinds []string
				for _, o := range v.sink.outcomes {
					kinds = append(kinds, o.Kind)
				}
				if !slices.Equal(kinds, tc.want) {
					t.Errorf("outcomes %q, want %q", kinds, tc.want)
				}
				pages := v.page.sent()
				if !tc.paged {
					if len(pages) > 0 {
						t.Errorf("paged %+v", pages)
					}
					return
				}
				if len(pages) != 1 {
					t.Fatalf("paged %d times, want once", len(pages))
				}
				n := pages[0]
				firing := v.script.sent()[0]
				if n.Status != actions.StatusVerifyFailed || !n.FiredAt.Equal(start.Add(2*time.Minute+40*time.Second)) ||
					!n.Episode.Equal(firing.Episode) || n.DeliveryID != dispatch.DeliveryID(&n, "page") {
					t.Errorf("page got %+v", n)
				}
			})
		})
	}
}
