package dispatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// remembering keeps the notifications it gets, and says where it delivers.
type remembering struct {
	mu   sync.Mutex
	seen []actions.Notification
	err  error
}

func (r *remembering) Run(_ context.Context, n *actions.Notification) (actions.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, *n)
	return actions.Outcome{}, r.err
}

func (r *remembering) Where() string {
	return "https://user:hunter2hunter2@pd.example/v2/enqueue?token=abcdefghij"
}

// An on_failure action is told which delivery failed for good, to where
// and why, with the secrets redacted.
func TestFallbackSaysWhatFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		page := &remembering{err: actions.Permanent(errors.New("POST pd.example: answered 400: routing key sekret-routing-key is invalid"))}
		chat := &remembering{}
		pageSpec := spec(3, "chat")
		pageSpec.Type = "pagerduty"
		d, _, _ := setup(map[string]Target{
			"page": {Action: page, Spec: pageSpec, Secrets: []string{"sekret-routing-key"}},
			"chat": {Action: chat, Spec: spec(1)},
		})
		d.Submit(note("r"), []string{"page"})
		synctest.Wait()
		d.Close(context.Background())
		if len(chat.seen) != 1 {
			t.Fatalf("the fallback ran %d times", len(chat.seen))
		}
		got := chat.seen[0].Failure
		want := actions.Failure{Action: "page", Kind: "pagerduty", Where: "https://REDACTED@pd.example/v2/enqueue?token=REDACTED",
			Error: "POST pd.example: answered 400: routing key REDACTED is invalid", Attempts: 1}
		if got != want {
			t.Errorf("failure %+v\nwant %+v", got, want)
		}
		if page.seen[0].Failure.Action != "" {
			t.Error("the failed delivery itself carries a failure")
		}
	})
}

// background counts its starts and stops.
type background struct {
	scripted
	mu            sync.Mutex
	starts, stops int
}

func (b *background) Start() { b.mu.Lock(); b.starts++; b.mu.Unlock() }
func (b *background) Stop()  { b.mu.Lock(); b.stops++; b.mu.Unlock() }

func (b *background) counts() (int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts, b.stops
}

// The dispatcher starts the background work of the actions it takes on,
// and stops it when a reload replaces them and at shutdown.
func TestBackgroundWorkFollowsTheTargets(t *testing.T) {
	old, replacement := &background{}, &background{}
	d, _, _ := setup(map[string]Target{"am": {Action: old, Spec: spec(1)}})
	if s, e := old.counts(); s != 1 || e != 0 {
		t.Fatalf("at start: %d starts, %d stops", s, e)
	}
	d.SetTargets(map[string]Target{"am": {Action: replacement, Spec: spec(1)}})
	if s, e := old.counts(); s != 1 || e != 1 {
		t.Errorf("the replaced action: %d starts, %d stops", s, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.Close(ctx)
	if s, e := replacement.counts(); s != 1 || e != 1 {
		t.Errorf("the new action: %d starts, %d stops", s, e)
	}
}

// A drain that runs out of time reports the deliveries it leaves, and
// only then: with nothing queued or in flight, even a drain of no time
// (--drain-timeout 0) has nothing to warn of.
func TestCloseReportsOnlyUnfinishedDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &scripted{answers: []error{&actions.RetryAfterError{Err: errors.New("429"), After: time.Hour}}}
		d, _, _ := setup(map[string]Target{"hook": {Action: hook, Spec: spec(3)}})
		expired, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Close(expired); err != nil {
			t.Errorf("nothing queued: Close = %v, want nil", err)
		}

		d, _, _ = setup(map[string]Target{"hook": {Action: hook, Spec: spec(3)}})
		d.Submit(note("r"), []string{"hook"})
		synctest.Wait() // the first attempt failed; the retry waits an hour
		err := d.Close(expired)
		if err == nil || !strings.Contains(err.Error(), "1 delivery") {
			t.Errorf("a delivery waiting for its retry: Close = %v, want an error counting it", err)
		}
	})
}
