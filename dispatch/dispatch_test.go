package dispatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// A last attempt answered with a Retry-After fails with the receiver's
// answer, not with the wait it asked for.
func TestLastRetryAfterKeepsTheAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &scripted{answers: []error{&actions.RetryAfterError{Err: errors.New("503 Service Unavailable: draining"), After: time.Minute}}}
		d, _, a := setup(map[string]Target{"hook": {Action: act, Spec: spec(1)}})
		d.Submit(note("r"), []string{"hook"})
		synctest.Wait()
		d.Close(context.Background())
		a.mu.Lock()
		defer a.mu.Unlock()
		last := a.records[len(a.records)-1]
		if last.Kind != "failed" || !strings.Contains(last.Error, "503 Service Unavailable: draining") {
			t.Errorf("last record %+v, want failed with the receiver's answer", last)
		}
	})
}

// A Retry-After of 0 (or a date already past) gives way to the backoff:
// the attempts are not all spent at once.
func TestRetryAfterZeroBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := &actions.RetryAfterError{Err: errors.New("503"), After: 0}
		act := &scripted{answers: []error{now, now, now}}
		d, _, _ := setup(map[string]Target{"hook": {Action: act, Spec: spec(3)}})
		d.Submit(note("r"), []string{"hook"})
		time.Sleep(time.Minute)
		synctest.Wait()
		calls := act.got()
		if len(calls) != 3 || !calls[1].at.After(calls[0].at) || !calls[2].at.After(calls[1].at) {
			t.Errorf("calls %+v, want three attempts apart", calls)
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
		// The last attempt is audited as failed: no retry follows it.
		want := []string{"queued", "attempt:retry", "attempt:retry", "attempt:failed", "failed:failed"}
		if got := a.kinds("hook"); !slices.Equal(got, want) {
			t.Errorf("audit %v, want %v", got, want)
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
		if got := a.kinds("hook"); !slices.Equal(got, []string{"queued", "attempt:failed", "failed:failed"}) {
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

// answering is an Action whose every attempt gets the same answer.
type answering struct {
	out actions.Outcome
	err error
}

func (a answering) Run(context.Context, *actions.Notification) (actions.Outcome, error) {
	return a.out, a.err
}

// The audit hides a target's secrets in answers and errors: those it
// started with, and those a reload gave it.
func TestAuditKeepsTheAnswerRedacted(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	act := answering{out: actions.Outcome{HTTPStatus: 403, Detail: `{"error":"bad token ` + secret + `"}`},
		err: actions.Permanent(errors.New("403 Forbidden: bad token " + secret))}
	hook := Target{Action: act, Spec: spec(3), Secrets: []string{secret}}
	for _, tc := range []struct {
		name   string
		start  Target
		reload map[string]Target // nil: none
	}{
		{"as started", hook, nil},
		{"after a reload", Target{Action: act, Spec: spec(3), Secrets: []string{"0ld-t0ken-gone"}}, map[string]Target{"hook": hook}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d, _, a := setup(map[string]Target{"hook": tc.start})
				if tc.reload != nil {
					d.SetTargets(tc.reload)
				}
				d.Submit(note("r"), []string{"hook"})
				synctest.Wait()
				d.Close(context.Background())
				var attempt Record
				for _, r := range a.records {
					if r.Kind == "attempt" {
						attempt = r
					}
					if strings.Contains(fmt.Sprintf("%+v", r), secret) {
						t.Errorf("%s record shows the secret: %+v", r.Kind, r)
					}
				}
				if attempt.HTTPStatus != 403 || attempt.Detail != `{"error":"bad token `+actions.Redacted+`"}` {
					t.Errorf("attempt record %+v: want status 403 and the answer with the token redacted", attempt)
				}
			})
		})
	}
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

// gatedJournal holds the Pending of one delivery until release closes;
// entered closes as it begins.
type gatedJournal struct {
	*memJournal
	id      string
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedJournal) Pending(del Delivery) error {
	if del.ID == g.id {
		g.once.Do(func() { close(g.entered); <-g.release })
	}
	return g.memJournal.Pending(del)
}

// A fallback reserved just before Close begins, and queued once its
// queue's workers have left the drain, waits in the journal, to run after
// the restart, as one started during the shutdown does: it was queued for
// no worker, and the dispatcher kept it under way.
func TestFallbackQueuedAsTheDrainEndsWaitsInTheJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hook := &scripted{answers: []error{actions.Permanent(errors.New("400"))}}
		chat := &scripted{}
		n := note("r")
		fb := fallbackID(DeliveryID(&n, "hook"), "chat")
		j := &gatedJournal{memJournal: &memJournal{pending: map[string]Delivery{}}, id: fb,
			entered: make(chan struct{}), release: make(chan struct{})}
		a := &memAudit{}
		d := New(Options{Journal: j, Audit: a, Targets: map[string]Target{
			"hook": {Action: hook, Spec: spec(1, "chat")}, "chat": {Action: chat, Spec: spec(1)}}})
		d.Submit(n, []string{"hook"})
		<-j.entered // the fallback is reserved: its queue and its worker exist
		closed := make(chan error)
		go func() { closed <- d.Close(context.Background()) }()
		synctest.Wait() // the chat queue's worker has left
		close(j.release)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if len(chat.got()) != 0 || len(a.kinds("chat")) != 0 {
			t.Errorf("the fallback was made %d times, audited %v: want it left for the restart", len(chat.got()), a.kinds("chat"))
		}
		if del, ok := j.pending[fb]; len(j.pending) != 1 || !ok || del.Action != "chat" {
			t.Errorf("journal %+v, want only the chat fallback", j.pending)
		}
		if len(d.active) != 0 {
			t.Errorf("still under way: %v", d.active)
		}
	})
}

// failAfter is an Action whose attempts fail for good once release is
// closed.
type failAfter struct{ release chan struct{} }

func (f failAfter) Run(ctx context.Context, _ *actions.Notification) (actions.Outcome, error) {
	<-f.release
	return actions.Outcome{HTTPStatus: 400}, actions.Permanent(errors.New("400 bad request"))
}

// A full queue is reported to ingest, and drops nothing: every delivery is
// made once the action answers.
func TestFullQueueDropsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := gated{gate: make(chan struct{})}
		d, j, _ := setup(map[string]Target{"hook": {Action: slow, Spec: patient(), QueueSize: 2}})
		for i := range 4 {
			if err := d.Submit(note(fmt.Sprintf("r%d", i)), []string{"hook"}); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the worker takes r0 and waits on it
		}
		if !d.Full("c1") || d.Full("c2") {
			t.Errorf("Full(c1) %v, Full(c2) %v with 3 waiting in a queue of 2", d.Full("c1"), d.Full("c2"))
		}
		for range 4 {
			slow.gate <- struct{}{}
		}
		synctest.Wait()
		if d.Full("c1") || len(j.pending) != 0 {
			t.Errorf("Full %v, %d pending after every answer, want none", d.Full("c1"), len(j.pending))
		}
		d.Close(context.Background())
	})
}

// A reload that raises an action's workers lets more deliveries run at
// once in the queues that exist; lowering it lets the surplus stop.
func TestSetTargetsChangesWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &counting{gate: make(chan struct{})}
		d, _, _ := setup(map[string]Target{"script": {Action: slow, Spec: patient(), Workers: 1}})
		for i := range 4 {
			d.Submit(note(fmt.Sprintf("r%d", i)), []string{"script"})
		}
		synctest.Wait()
		if n := slow.running(); n != 1 {
			t.Fatalf("%d running with 1 worker", n)
		}
		d.SetTargets(map[string]Target{"script": {Action: slow, Spec: patient(), Workers: 3}})
		synctest.Wait()
		if n := slow.running(); n != 3 {
			t.Errorf("%d running after raising the workers to 3", n)
		}
		d.SetTargets(map[string]Target{"script": {Action: slow, Spec: patient(), Workers: 1}})
		for range 3 {
			slow.gate <- struct{}{}
		}
		synctest.Wait()
		if n := slow.running(); n != 1 {
			t.Errorf("%d running after lowering the workers to 1", n)
		}
		slow.gate <- struct{}{}
		d.Close(context.Background())
	})
}

// counting is an Action that counts the attempts in progress, each
// waiting for a value on gate.
type counting struct {
	gate chan struct{}
	mu   sync.Mutex
	now  int
}

func (c *counting) Run(ctx context.Context, _ *actions.Notification) (actions.Outcome, error) {
	c.mu.Lock()
	c.now++
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.now--; c.mu.Unlock() }()
	select {
	case <-c.gate:
		return actions.Outcome{}, nil
	case <-ctx.Done():
		return actions.Outcome{}, ctx.Err()
	}
}

func (c *counting) running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// brokenJournal fails every write, as a full disk does.
type brokenJournal struct{}

func (brokenJournal) Pending(Delivery) error { return errors.New("no space left on device") }
func (brokenJournal) Done(string) error      { return errors.New("no space left on device") }

// A delivery that cannot be journaled is reported, and made all the same.
func TestSubmitReportsAJournalThatCannotBeWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := &scripted{}
		d := New(Options{Targets: map[string]Target{"hook": {Action: act, Spec: spec(1)}}, Journal: brokenJournal{}})
		err := d.Submit(note("r"), []string{"hook"})
		if !errors.Is(err, ErrNotJournaled) {
			t.Errorf("Submit = %v, want ErrNotJournaled", err)
		}
		synctest.Wait()
		if len(act.got()) != 1 {
			t.Error("the delivery was not made")
		}
		d.Close(context.Background())
	})
}

// The same decision made twice (a re-sent batch, a restart that decides
// it again) is one delivery, under one id; another decision is another.
func TestOneDeliveryPerDecision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := gated{gate: make(chan struct{})}
		d, _, _ := setup(map[string]Target{"hook": {Action: slow, Spec: patient()}})
		firing := note("r")
		firing.Episode = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		firing.FiredAt = firing.Episode.Add(30 * time.Second)
		resolve := firing
		resolve.Status, resolve.FiredAt = actions.StatusResolved, firing.FiredAt.Add(time.Minute)
		for _, n := range []actions.Notification{firing, firing, resolve} {
			if err := d.Submit(n, []string{"hook"}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if n := d.QueueDepth(); n != 1 {
			t.Errorf("%d waiting behind the first, want 1 (the resolve; the firing's repeat is the same delivery)", n)
		}
		if DeliveryID(&firing, "hook") == DeliveryID(&resolve, "hook") || DeliveryID(&firing, "hook") == DeliveryID(&firing, "chat") {
			t.Error("different decisions or actions share a delivery id")
		}
		again := firing
		if DeliveryID(&again, "hook") != DeliveryID(&firing, "hook") {
			t.Error("the same decision has two ids")
		}
		slow.gate <- struct{}{}
		slow.gate <- struct{}{}
		d.Close(context.Background())
	})
}

// ordered records, in order, what a journal and an action are told.
type ordered struct {
	mu  sync.Mutex
	log []string
}

func (o *ordered) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.log = append(o.log, s)
}

// Pending lets a worker that already has the delivery run first.
func (o *ordered) Pending(d Delivery) error {
	if d.Attempts == 0 {
		synctest.Wait()
	}
	o.add("pending")
	return nil
}

func (o *ordered) Done(string) error { o.add("done"); return nil }

func (o *ordered) Run(context.Context, *actions.Notification) (actions.Outcome, error) {
	o.add("attempt")
	return actions.Outcome{HTTPStatus: 404}, actions.Permanent(errors.New("404"))
}

// The journal has a delivery before a worker can take it: an attempt that
// ends at once cannot have its end journaled before its start, which would
// leave it pending, to be sent again after a restart.
func TestJournaledBeforeAWorkerTakesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &ordered{}
		d := New(Options{Targets: map[string]Target{"hook": {Action: o, Spec: spec(1)}}, Journal: o})
		if err := d.Submit(note("r"), []string{"hook"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if want := []string{"pending", "attempt", "pending", "done"}; !slices.Equal(o.log, want) {
			t.Errorf("journal and action saw %v, want %v", o.log, want)
		}
		d.Close(context.Background())
	})
}

// unrepeatable is a scripted action that must not run again unseen (a
// shell script); it notes whether its start was journaled before it ran.
type unrepeatable struct {
	*scripted
	journal        *memJournal
	startJournaled []bool
}

func (u *unrepeatable) Unrepeatable() {}

func (u *unrepeatable) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	u.journal.mu.Lock()
	u.startJournaled = append(u.startJournaled, u.journal.pending[n.DeliveryID].Unfinished)
	u.journal.mu.Unlock()
	return u.scripted.Run(ctx, n)
}

// An attempt of an unrepeatable action is journaled before it starts. One
// that a crash cut short (resumed Unfinished) counts: with no attempt
// left it fails for good, its fallbacks run, and it is not made again;
// with attempts left the next is made.
func TestUnrepeatableAttemptCutShortCounts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		attempts   int
		made       int  // before the restart
		unfinished bool // the last was cut short
		wantRuns   int
		wantAudit  []string
	}{
		{"no attempt left", 1, 1, true, 0, []string{"queued", "failed:failed"}},
		{"attempts left", 2, 1, true, 1, []string{"queued", "attempt:ok", "delivered:ok"}},
		{"none made yet", 1, 0, false, 1, []string{"queued", "attempt:ok", "delivered:ok"}},
		// Stopped by a drain that ran out: the attempt was journaled as
		// made, no longer as unfinished.
		{"cut short by a drain, no attempt left", 1, 1, false, 0, []string{"queued", "failed:failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				j := &memJournal{pending: map[string]Delivery{}}
				act := &unrepeatable{scripted: &scripted{}, journal: j}
				pager := &scripted{}
				a := &memAudit{}
				d := New(Options{Journal: j, Audit: a, Targets: map[string]Target{
					"script": {Action: act, Spec: spec(tc.attempts, "pager")}, "pager": {Action: pager, Spec: spec(1)}}})
				n := note("r")
				n.DeliveryID = "msg_cut"
				del := Delivery{ID: "msg_cut", Action: "script", Notification: n, Attempts: tc.made, Unfinished: tc.unfinished}
				_ = j.Pending(del)
				d.Resume([]Delivery{del})
				synctest.Wait()
				if got := len(act.got()); got != tc.wantRuns {
					t.Errorf("runs after the restart: %d, want %d", got, tc.wantRuns)
				}
				if slices.Contains(act.startJournaled, false) {
					t.Errorf("an attempt ran before its start was journaled: %v", act.startJournaled)
				}
				if got := a.kinds("script"); !slices.Equal(got, tc.wantAudit) {
					t.Errorf("audit %v, want %v", got, tc.wantAudit)
				}
				if ran := len(pager.got()) > 0; ran != (tc.wantRuns == 0) {
					t.Errorf("on_failure ran: %v", ran)
				}
				if len(j.pending) != 0 {
					t.Errorf("still pending: %+v", j.pending)
				}
				d.Close(context.Background())
			})
		})
	}
}

// causeOf is an Action that waits for its context to end and says why.
type causeOf struct{ why chan error }

func (c causeOf) Run(ctx context.Context, _ *actions.Notification) (actions.Outcome, error) {
	<-ctx.Done()
	c.why <- context.Cause(ctx)
	return actions.Outcome{}, ctx.Err()
}

// An attempt still running when Close's drain runs out learns why it is
// stopped, so that an interrupted script's audit record says so.
func TestDrainRanOutIsTheCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		act := causeOf{why: make(chan error, 1)}
		d := New(Options{Targets: map[string]Target{"hook": {Action: act, Spec: spec(1)}}})
		if err := d.Submit(note("r"), []string{"hook"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d.Close(ctx)
		if got := <-act.why; !errors.Is(got, ErrDrainRanOut) {
			t.Errorf("the attempt was stopped for %v, want %v", got, ErrDrainRanOut)
		}
	})
}
