package dispatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// scripted is an Action whose attempts answer from a script.
type scripted struct {
	mu      sync.Mutex
	answers []error // per attempt; nil = success; past the end: success
	calls   []call
	block   bool // wait for ctx instead
}

type call struct {
	id   string
	rule string
	at   time.Time
}

func (s *scripted) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	s.mu.Lock()
	i := len(s.calls)
	s.calls = append(s.calls, call{id: n.DeliveryID, rule: n.Rule, at: time.Now()})
	s.mu.Unlock()
	if s.block {
		<-ctx.Done()
		return actions.Outcome{}, fmt.Errorf("timed out: %w", ctx.Err())
	}
	if i < len(s.answers) && s.answers[i] != nil {
		return actions.Outcome{HTTPStatus: 500}, s.answers[i]
	}
	return actions.Outcome{HTTPStatus: 200}, nil
}

func (s *scripted) got() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

type memJournal struct {
	mu      sync.Mutex
	pending map[string]Delivery
}

func (j *memJournal) Pending(d Delivery) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pending[d.ID] = d
	return nil
}

func (j *memJournal) Done(id string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.pending, id)
	return nil
}

type memAudit struct {
	mu      sync.Mutex
	records []Record
}

func (a *memAudit) Record(r Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, r)
}

func (a *memAudit) kinds(action string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		if r.Action == action {
			s := r.Kind
			if r.Outcome != "" {
				s += ":" + r.Outcome
			}
			out = append(out, s)
		}
	}
	return out
}

func spec(attempts int, onFailure ...string) actions.Spec {
	return actions.Spec{Type: "webhook", Timeout: time.Second, OnFailure: onFailure,
		Retry: actions.Retry{MaxAttempts: attempts, InitialBackoff: time.Second, MaxBackoff: 10 * time.Second}}
}

// patient is a spec with one attempt that waits an hour for an answer:
// for gated actions, which answer when the test says so.
func patient() actions.Spec {
	s := spec(1)
	s.Timeout = time.Hour
	return s
}

func note(rule string) actions.Notification {
	return actions.Notification{Rule: rule, Status: actions.StatusFiring, Cluster: "c1"}
}

func setup(targets map[string]Target) (*Dispatcher, *memJournal, *memAudit) {
	j := &memJournal{pending: map[string]Delivery{}}
	a := &memAudit{}
	return New(Options{Targets: targets, Journal: j, Audit: a}), j, a
}

func TestRetryUntilSuccessKeepsTheDeliveryID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &scripted{answers: []error{errors.New("502"), errors.New("503")}}
		d, j, a := setup(map[string]Target{"hook": {Action: act, Spec: spec(5)}})
		d.Submit(note("r"), []string{"hook"})
		synctest.Wait()
		time.Sleep(time.Minute)
		synctest.Wait()
		calls := act.got()
		if len(calls) != 3 || calls[0].id != calls[1].id || calls[1].id != calls[2].id {
			t.Fatalf("calls = %+v", calls)
		}
		if gap := calls[1].at.Sub(calls[0].at); gap < 500*time.Millisecond || gap > 1500*time.Millisecond {
			t.Errorf("first backoff %s, want 1s ± 50%% jitter", gap)
		}
		want := []string{"queued", "attempt:retry", "attempt:retry", "attempt:ok", "delivered:ok"}
		if got := a.kinds("hook"); !slices.Equal(got, want) {
			t.Errorf("audit %v, want %v", got, want)
		}
		if len(j.pending) != 0 {
			t.Errorf("journal still holds %v", j.pending)
		}
		d.Close(context.Background())
	})
}

func TestPermanentFailureRunsFallbackOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &scripted{answers: []error{actions.Permanent(errors.New("400 bad request"))}}
		fallback := &scripted{answers: []error{actions.Permanent(errors.New("also broken"))}}
		d, _, a := setup(map[string]Target{
			"hook": {Action: hook, Spec: spec(5, "chat")},
			"chat": {Action: fallback, Spec: spec(5, "hook")}, // a loop the dispatcher must not follow
		})
		d.Submit(note("r"), []string{"hook"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(hook.got()) != 1 || len(fallback.got()) != 1 {
			t.Errorf("hook tried %d times, fallback %d, want 1 and 1", len(hook.got()), len(fallback.got()))
		}
		if got := a.kinds("chat"); !slices.Equal(got, []string{"queued", "attempt:failed", "failed:failed"}) {
			t.Errorf("fallback audit %v", got)
		}
		d.Close(context.Background())
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &scripted{answers: []error{&actions.RetryAfterError{Err: errors.New("429"), After: 30 * time.Second}}}
		d, _, _ := setup(map[string]Target{"hook": {Action: act, Spec: spec(3)}})
		d.Submit(note("r"), []string{"hook"})
		time.Sleep(time.Minute)
		synctest.Wait()
		calls := act.got()
		if len(calls) != 2 || calls[1].at.Sub(calls[0].at) != 30*time.Second {
			t.Errorf("calls %+v, want a second attempt 30s after the first", calls)
		}
		d.Close(context.Background())
	})
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := errors.New("connection refused")
		act := &scripted{answers: []error{fail, fail, fail, fail}}
		d, j, a := setup(map[string]Target{"hook": {Action: act, Spec: spec(3)}})
		d.Submit(note("r"), []string{"hook"})
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(act.got()) != 3 {
			t.Errorf("%d attempts, want 3", len(act.got()))
		}
		if got := a.kinds("hook"); got[len(got)-1] != "failed:failed" {
			t.Errorf("audit %v", got)
		}
		if len(j.pending) != 0 {
			t.Error("a delivery given up must leave the journal")
		}
		d.Close(context.Background())
	})
}

func TestAHungActionDelaysNothingElse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &scripted{block: true}
		fast := &scripted{}
		d, _, _ := setup(map[string]Target{"hung": {Action: hung, Spec: spec(1)}, "fast": {Action: fast, Spec: spec(1)}})
		start := time.Now()
		d.Submit(note("r"), []string{"hung", "fast"})
		synctest.Wait()
		if calls := fast.got(); len(calls) != 1 || calls[0].at != start {
			t.Errorf("the fast action waited: %+v", calls)
		}
		d.Close(context.Background())
	})
}

func TestOrderPerClusterAndAction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &scripted{answers: []error{errors.New("first attempt of r0 fails")}}
		d, _, _ := setup(map[string]Target{"hook": {Action: act, Spec: spec(3)}})
		for i := range 5 {
			d.Submit(note(fmt.Sprintf("r%d", i)), []string{"hook"})
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		var rules []string
		for _, c := range act.got() {
			rules = append(rules, c.rule)
		}
		// r0's retry happens before r1 goes out: a resolve never overtakes its firing.
		if want := []string{"r0", "r0", "r1", "r2", "r3", "r4"}; !slices.Equal(rules, want) {
			t.Errorf("order %v, want %v", rules, want)
		}
		d.Close(context.Background())
	})
}

func TestFullQueueRefusesWithoutBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &scripted{block: true}
		d, _, a := setup(map[string]Target{"hung": {Action: hung, Spec: spec(1), QueueSize: 2}})
		var errs []error
		for i := range 5 {
			errs = append(errs, d.Submit(note(fmt.Sprintf("r%d", i)), []string{"hung"})...)
			synctest.Wait() // the worker takes r0 and hangs on it
		}
		// One in flight, two queued, two refused.
		if len(errs) != 2 {
			t.Errorf("refused %d, want 2: %v", len(errs), errs)
		}
		dropped := 0
		for _, k := range a.kinds("hung") {
			if k == "dropped" {
				dropped++
			}
		}
		if dropped != 2 {
			t.Errorf("audit shows %d drops", dropped)
		}
		d.Close(context.Background())
	})
}

func TestCloseDrainsThenCancelsAndKeepsThePending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &scripted{block: true}
		fast := &scripted{}
		s := spec(5)
		s.Timeout = time.Hour
		d, j, _ := setup(map[string]Target{"hung": {Action: hung, Spec: s}, "fast": {Action: fast, Spec: spec(1)}})
		d.Submit(note("r"), []string{"fast", "hung"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := d.Close(ctx)
		if err == nil || time.Since(start) != 5*time.Second {
			t.Errorf("Close = %v after %s, want a deadline error after 5s", err, time.Since(start))
		}
		if len(fast.got()) != 1 {
			t.Error("the fast delivery was not drained")
		}
		if len(j.pending) != 1 {
			t.Fatalf("journal %v: the interrupted delivery must stay pending", j.pending)
		}
		for _, del := range j.pending {
			if del.Action != "hung" || del.Attempts != 1 {
				t.Errorf("pending %+v", del)
			}
		}
	})
}

func TestResumeContinuesAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := errors.New("503")
		act := &scripted{answers: []error{fail, fail, fail}}
		d, _, a := setup(map[string]Target{"hook": {Action: act, Spec: spec(3)}})
		n := note("r")
		n.DeliveryID = "msg_resumed"
		d.Resume([]Delivery{{ID: "msg_resumed", Action: "hook", Notification: n, Attempts: 2}})
		time.Sleep(time.Hour)
		synctest.Wait()
		calls := act.got()
		if len(calls) != 1 || calls[0].id != "msg_resumed" {
			t.Errorf("calls %+v, want one last attempt with the same id", calls)
		}
		if got := a.kinds("hook"); !slices.Equal(got, []string{"queued", "attempt:retry", "failed:failed"}) {
			t.Errorf("audit %v", got)
		}
		d.Close(context.Background())
	})
}

// gated is an Action whose attempts each wait for a value on gate.
type gated struct{ gate chan struct{} }

func (g gated) Run(ctx context.Context, _ *actions.Notification) (actions.Outcome, error) {
	select {
	case <-g.gate:
		return actions.Outcome{HTTPStatus: 200}, nil
	case <-ctx.Done():
		return actions.Outcome{}, ctx.Err()
	}
}

func TestPaceWaitsForRoomInTheClustersQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := gated{gate: make(chan struct{})}
		s := patient()
		d, _, _ := setup(map[string]Target{"hook": {Action: slow, Spec: s}})
		for i := range 5 {
			d.Submit(note(fmt.Sprint(i)), []string{"hook"}) // cluster c1
		}
		synctest.Wait() // the worker holds the first; 4 wait
		if err := d.Pace(context.Background(), "c2", 2); err != nil {
			t.Fatalf("another cluster was held up: %v", err)
		}
		paced := make(chan error, 1)
		go func() { paced <- d.Pace(context.Background(), "c1", 2) }()
		for waiting := 4; waiting > 2; waiting-- {
			synctest.Wait()
			select {
			case err := <-paced:
				t.Fatalf("Pace returned (%v) with %d deliveries waiting, backlog 2", err, waiting)
			default:
			}
			slow.gate <- struct{}{}
		}
		synctest.Wait()
		select {
		case err := <-paced:
			if err != nil {
				t.Fatalf("Pace: %v", err)
			}
		default:
			t.Fatal("Pace still waits with 2 deliveries waiting")
		}

		// A deadline ends the wait.
		for i := range 3 {
			d.Submit(note(fmt.Sprint("more", i)), []string{"hook"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if err := d.Pace(ctx, "c1", 2); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Pace with a deadline: %v after %s", err, time.Since(start))
		}
		close(slow.gate)
		d.Close(context.Background())
	})
}

func TestPaceIgnoresAQueueWaitingOnAFailingReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := errors.New("connection refused")
		act := &scripted{answers: []error{fail, fail, fail}}
		d, _, _ := setup(map[string]Target{"hook": {Action: act, Spec: spec(5)}})
		for i := range 5 {
			d.Submit(note(fmt.Sprint(i)), []string{"hook"})
		}
		synctest.Wait() // the first delivery failed once and waits to retry; 4 wait behind it
		start := time.Now()
		if err := d.Pace(context.Background(), "c1", 2); err != nil || time.Since(start) != 0 {
			t.Errorf("Pace waited %s (%v) on a queue stuck behind a failing receiver", time.Since(start), err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(act.got()); n != 8 {
			t.Errorf("%d attempts, want 3 failed and 5 delivered", n)
		}
		d.Close(context.Background())
	})
}

// answering is an Action whose every attempt gets the same answer.
type answering struct {
	out actions.Outcome
	err error
}

func (a answering) Run(context.Context, *actions.Notification) (actions.Outcome, error) {
	return a.out, a.err
}

func TestAuditKeepsTheAnswerRedacted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := answering{out: actions.Outcome{HTTPStatus: 403, Detail: `{"error":"bad token s3cr3t-t0ken"}`},
			err: actions.Permanent(errors.New("403 Forbidden"))}
		d, _, a := setup(map[string]Target{"hook": {Action: act, Spec: spec(3), Secrets: []string{"s3cr3t-t0ken"}}})
		d.Submit(note("r"), []string{"hook"})
		synctest.Wait()
		d.Close(context.Background())
		var attempt Record
		for _, r := range a.records {
			if r.Kind == "attempt" {
				attempt = r
			}
		}
		if attempt.HTTPStatus != 403 || attempt.Detail != `{"error":"bad token `+actions.Redacted+`"}` {
			t.Errorf("attempt record %+v: want status 403 and the answer with the token redacted", attempt)
		}
	})
}

func TestCrowdedAtHalfAQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := gated{gate: make(chan struct{})}
		s := patient()
		d, _, _ := setup(map[string]Target{"hook": {Action: slow, Spec: s, QueueSize: 8}, "big": {Action: slow, Spec: s}})
		if got := d.MaxBatch(); got != 4 {
			t.Errorf("MaxBatch %d, want 4 (half the smallest queue)", got)
		}
		for i := range 3 {
			d.Submit(note(fmt.Sprint(i)), []string{"hook"}) // cluster c1: the worker holds one, 2 wait
		}
		synctest.Wait()
		for _, c := range []struct {
			events int
			want   bool
		}{{0, false}, {1, false}, {2, false}, {3, true}} {
			if got := d.Crowded("c1", c.events); got != c.want {
				t.Errorf("2 of 8 waiting, a batch of %d: crowded %v, want %v", c.events, got, c.want)
			}
		}
		d.Submit(note("3"), []string{"hook"})
		d.Submit(note("4"), []string{"hook"})
		if !d.Crowded("c1", 1) {
			t.Error("4 of 8 waiting: crowded")
		}
		if d.Crowded("c2", 4) {
			t.Error("another cluster is not crowded")
		}
		close(slow.gate)
		d.Close(context.Background())
	})
}

func TestTrackingReportsTheDeliveriesQueuedDuringACall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := gated{gate: make(chan struct{})}
		s := patient()
		d, _, _ := setup(map[string]Target{"hook": {Action: slow, Spec: s}, "other": {Action: &scripted{}, Spec: s}})
		d.Submit(note("before"), []string{"hook"}) // not tracked
		made := d.Tracking("c1", func() {
			d.Submit(note("a"), []string{"hook"})
			d.Submit(note("b"), []string{"hook"})
			other := note("c")
			other.Cluster = "c2" // another cluster's delivery is not this call's
			d.Submit(other, []string{"other"})
		})
		d.Submit(note("after"), []string{"hook"}) // not tracked
		if len(made) != 2 {
			t.Fatalf("%d deliveries tracked, want the 2 queued during the call", len(made))
		}
		finished := func() (n int) {
			for _, tr := range made {
				select {
				case <-tr.Made:
					n++
				default:
				}
			}
			return n
		}
		// One at a time, in order: "before", "a", "b", "after".
		for i, want := range []int{0, 0, 1, 2} {
			synctest.Wait()
			if got := finished(); got != want {
				t.Fatalf("after %d deliveries made, %d tracked ones finished, want %d", i, got, want)
			}
			slow.gate <- struct{}{}
		}
		close(slow.gate)
		d.Close(context.Background())
	})
}

func TestTrackingCountsADroppedDeliveryAsFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := gated{gate: make(chan struct{})}
		s := patient()
		d, _, _ := setup(map[string]Target{"hook": {Action: slow, Spec: s, QueueSize: 1}})
		d.Submit(note("held"), []string{"hook"})
		synctest.Wait() // the worker holds it; the queue is empty
		d.Submit(note("waits"), []string{"hook"})
		made := d.Tracking("c1", func() { d.Submit(note("dropped"), []string{"hook"}) })
		select {
		case <-made[0].Made:
		default:
			t.Error("a dropped delivery is never made, and must not be waited for")
		}
		close(slow.gate)
		d.Close(context.Background())
	})
}

func TestTrackingWaitsForTheFirstAttemptOnlyAndNotForFallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := errors.New("connection refused")
		hook := &scripted{answers: []error{fail, fail, fail}} // then fails for good
		chat := gated{gate: make(chan struct{})}
		d, _, _ := setup(map[string]Target{
			"hook": {Action: hook, Spec: spec(3, "chat")},
			"chat": {Action: chat, Spec: spec(1)},
		})
		made := d.Tracking("c1", func() { d.Submit(note("down"), []string{"hook"}) })
		if len(made) != 1 {
			t.Fatalf("%d tracked, want 1", len(made))
		}
		synctest.Wait() // the first attempt failed; the retry waits a second
		select {
		case <-made[0].Made:
		default:
			t.Fatal("still waiting after the first attempt: a retry waits on the receiver, not on the sender")
		}
		// The fallback, queued by a worker while another call tracks, is
		// not that call's.
		var during []Tracked
		during = d.Tracking("c1", func() {
			time.Sleep(time.Hour) // the retries run out; "chat" is queued
			synctest.Wait()
		})
		if len(during) != 0 {
			t.Errorf("%d deliveries tracked, want none: a fallback is not the tracked call's", len(during))
		}
		if n := len(hook.got()); n != 3 {
			t.Errorf("%d attempts, want 3", n)
		}
		close(chat.gate)
		d.Close(context.Background())
	})
}

// When the drain runs out of time, deliveries still queued are not
// attempted: they stay pending with the attempts they had, and nothing
// records an attempt that was not made.
func TestDrainTimeoutSkipsQueuedDeliveries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hung := &scripted{block: true}
		s := spec(5)
		s.Timeout = time.Hour
		d, j, a := setup(map[string]Target{"hung": {Action: hung, Spec: s}})
		for _, r := range []string{"r1", "r2", "r3"} {
			d.Submit(note(r), []string{"hung"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Close(ctx); err == nil {
			t.Fatal("Close did not time out")
		}
		if n := len(hung.got()); n != 1 {
			t.Errorf("%d attempts started, want 1 (the one in flight)", n)
		}
		attempts := map[string]int{}
		for _, del := range j.pending {
			attempts[del.Notification.Rule] = del.Attempts
		}
		if want := map[string]int{"r1": 1, "r2": 0, "r3": 0}; !maps.Equal(attempts, want) {
			t.Errorf("pending attempts %v, want %v", attempts, want)
		}
		if got := a.kinds("hung"); !slices.Equal(got, []string{"queued", "queued", "queued", "attempt:retry"}) {
			t.Errorf("audit %v: only the attempt in flight is an attempt", got)
		}
	})
}

// A delivery that fails for good while the dispatcher drains at shutdown
// leaves its fallback in the journal, to run after the restart.
func TestFallbackDuringShutdownWaitsInTheJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		hook := failAfter{release}
		withFallback := patient()
		withFallback.OnFailure = []string{"chat"}
		d, j, _ := setup(map[string]Target{
			"hook": {Action: hook, Spec: withFallback},
			"chat": {Action: &scripted{}, Spec: spec(1)},
		})
		d.Submit(note("r"), []string{"hook"})
		synctest.Wait()
		closed := make(chan error)
		go func() { closed <- d.Close(context.Background()) }()
		synctest.Wait() // Close is waiting for the hook's delivery
		close(release)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		var pending []Delivery
		for _, del := range j.pending {
			pending = append(pending, del)
		}
		if len(pending) != 1 || pending[0].Action != "chat" || !pending[0].Fallback || pending[0].Notification.DeliveryID != pending[0].ID {
			t.Fatalf("journal %+v, want only the chat fallback", pending)
		}

		// After the restart it runs.
		chat := &scripted{}
		d2, _, _ := setup(map[string]Target{"chat": {Action: chat, Spec: spec(1)}})
		d2.Resume(pending)
		synctest.Wait()
		if calls := chat.got(); len(calls) != 1 || calls[0].id != pending[0].ID {
			t.Errorf("resumed fallback calls %+v", calls)
		}
		d2.Close(context.Background())
	})
}

// failAfter is an Action whose attempts fail for good once release is
// closed.
type failAfter struct{ release chan struct{} }

func (f failAfter) Run(ctx context.Context, _ *actions.Notification) (actions.Outcome, error) {
	<-f.release
	return actions.Outcome{HTTPStatus: 400}, actions.Permanent(errors.New("400 bad request"))
}

// A tracked delivery is made only once it is done in the journal: after a
// success, so that a journal that writes behind need not write it at all;
// after a failure for good, once its fallbacks are queued (so journaled),
// so that ingest, which then writes the journal, leaves nothing only in
// memory.
func TestTrackedDeliveryIsMadeOnceItIsDone(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hook      Target
		succeeded bool
		journaled []string // actions pending once made
	}{
		{"a success", Target{Action: &scripted{}, Spec: spec(3, "chat")}, true, nil},
		{"a permanent error", Target{Action: &scripted{answers: []error{actions.Permanent(errors.New("400"))}}, Spec: spec(3, "chat")}, false, []string{"chat"}},
		{"the last attempt", Target{Action: &scripted{answers: []error{errors.New("503")}}, Spec: spec(1, "chat")}, false, []string{"chat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				chat := gated{gate: make(chan struct{})}
				j := &slowDone{memJournal: memJournal{pending: map[string]Delivery{}}, gate: make(chan struct{})}
				d := New(Options{Targets: map[string]Target{"hook": tc.hook, "chat": {Action: chat, Spec: patient()}}, Journal: j})
				made := d.Tracking("c1", func() { d.Submit(note("r"), []string{"hook"}) })
				if len(made) != 1 || made[0].ID == "" {
					t.Fatalf("tracked %+v, want one delivery with its id", made)
				}
				synctest.Wait() // the first attempt is over; Done is being recorded
				select {
				case <-made[0].Made:
					t.Fatal("made before the journal recorded it as done")
				default:
				}
				close(j.gate)
				synctest.Wait()
				select {
				case <-made[0].Made:
				default:
					t.Fatal("not made once done")
				}
				if got := made[0].Succeeded(); got != tc.succeeded {
					t.Errorf("succeeded %v, want %v", got, tc.succeeded)
				}
				j.mu.Lock()
				var journaled []string
				for _, del := range j.pending {
					journaled = append(journaled, del.Action)
				}
				j.mu.Unlock()
				if !slices.Equal(journaled, tc.journaled) {
					t.Errorf("journal holds %v once made, want %v", journaled, tc.journaled)
				}
				close(chat.gate)
				d.Close(context.Background())
			})
		})
	}
}

// slowDone is a journal whose Done waits for gate.
type slowDone struct {
	memJournal
	gate chan struct{}
}

func (j *slowDone) Done(id string) error {
	<-j.gate
	return j.memJournal.Done(id)
}
