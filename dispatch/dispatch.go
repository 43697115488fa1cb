// Package dispatch delivers notifications to actions off the decision path:
// bounded queues, one per cluster and action, so that a hung webhook or
// script delays only itself; retries with exponential backoff and jitter;
// a timeout per attempt; an audit record of every attempt; fallback actions
// when a delivery fails for good; and a journal of pending deliveries, so a
// restart resumes them with the same delivery id.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/google/uuid"

	"github.com/leaderhook/leaderhook/actions"
)

// DefaultQueueSize bounds each (cluster, action) queue.
const DefaultQueueSize = 1024

// Delivery is one notification on its way to one action.
type Delivery struct {
	ID           string               `json:"id"` // webhook-id: the same on every attempt, and after a restart
	Action       string               `json:"action"`
	Notification actions.Notification `json:"notification"`
	Attempts     int                  `json:"attempts"` // attempts made so far
	Fallback     bool                 `json:"fallback,omitempty"`

	track *track // if Tracked
}

// track is how a Tracked delivery reports its first attempt.
type track struct {
	made chan struct{}
	ok   atomic.Bool // set before made is closed
}

// Journal keeps deliveries that are not finished, so that a restart can
// resume them. Implementations must be safe for concurrent use. Pending
// comes before the first attempt; Done after the last, after the fallbacks
// of a delivery that failed for good are Pending, and before whoever
// Tracks the delivery hears that it is over: a journal may write behind,
// and need never write a delivery finished by then.
type Journal interface {
	Pending(d Delivery) error
	Done(id string) error
}

// Auditor records every firing and every attempt.
type Auditor interface {
	Record(r Record)
}

// Record is one line of the audit log.
type Record struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // "queued", "attempt", "delivered", "failed", "dropped"
	Rule       string    `json:"rule"`
	Status     string    `json:"status"`
	Cluster    string    `json:"cluster"`
	Action     string    `json:"action"`
	DeliveryID string    `json:"delivery_id"`
	Attempt    int       `json:"attempt,omitempty"`
	Outcome    string    `json:"outcome,omitempty"` // "ok", "retry", "failed"
	DurationMS int64     `json:"duration_ms,omitempty"`
	HTTPStatus int       `json:"http_status,omitempty"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	Output     string    `json:"output,omitempty"` // shell: bounded stdout and stderr
	Detail     string    `json:"detail,omitempty"` // webhook, slack: the start of the answer, or what went wrong
	Fallback   bool      `json:"fallback,omitempty"`
}

// Target is a configured action with its delivery policy.
type Target struct {
	Action    actions.Action
	Spec      actions.Spec // defaulted: Timeout, Retry, OnFailure
	Secrets   []string     // redacted from every error and log line
	Workers   int          // concurrent deliveries per cluster; 1 keeps order
	QueueSize int
}

// Options configure a Dispatcher.
type Options struct {
	Targets map[string]Target
	Journal Journal // may be nil
	Audit   Auditor // may be nil
	Log     *slog.Logger
	Now     func() time.Time
}

// Dispatcher runs deliveries. Submit never blocks.
type Dispatcher struct {
	opts   Options
	mu     sync.Mutex
	queues map[queueKey]*queue
	// maxBatch is MaxBatch for the current targets, kept with them.
	maxBatch int
	// byCluster lists each cluster's queues, for Pace and Crowded, which
	// run on every ingest request.
	byCluster map[string][]*queue
	closing   bool
	ctx       context.Context // cancelled when a drain runs out of time
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	// room is closed and replaced when a queue may have room again, to
	// wake the callers of Pace; pacers counts them, so that workers skip
	// the lock when nobody waits.
	room   chan struct{}
	pacers atomic.Int32
	// tracking collects the made channels of a cluster's deliveries
	// queued while Tracking runs.
	tracking *tracker
}

type tracker struct {
	cluster string
	tracked []Tracked
}

// Tracked is a delivery that Tracking saw queued.
type Tracked struct {
	ID string
	// Made is closed once the first attempt is over: after it succeeded
	// and the delivery is journaled as done; after it failed and will be
	// retried; after it failed for good and the fallbacks are queued; or
	// once the delivery is dropped.
	Made <-chan struct{}
	t    *track
}

// Succeeded reports, once Made is closed, whether the first attempt
// succeeded: if not, the journal holds the delivery or its fallbacks.
func (t Tracked) Succeeded() bool { return t.t.ok.Load() }

type queueKey struct{ cluster, action string }

type queue struct {
	ch chan Delivery
	// retrying counts this queue's workers whose delivery has failed at
	// least once: such a queue waits on its receiver, and Pace ignores it.
	retrying atomic.Int32
}

// New returns a dispatcher.
func New(opts Options) *Dispatcher {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{opts: opts, queues: map[queueKey]*queue{}, byCluster: map[string][]*queue{}, ctx: ctx, cancel: cancel,
		room: make(chan struct{}), maxBatch: maxBatchOf(opts.Targets)}
}

// NewID returns a new delivery id: "msg_" and a time-ordered UUID, as the
// Standard Webhooks examples do.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return "msg_" + uuid.NewString()
	}
	return "msg_" + id.String()
}

// Submit queues n for each named action, each with its own delivery id.
// It reports the deliveries that could not be queued.
func (d *Dispatcher) Submit(n actions.Notification, actionNames []string) []error {
	var errs []error
	for _, name := range actionNames {
		del := Delivery{ID: NewID(), Action: name, Notification: n}
		del.Notification.DeliveryID = del.ID
		if err := d.enqueue(del, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Resume queues deliveries found in the journal after a restart, keeping
// their ids and attempt counts.
func (d *Dispatcher) Resume(ds []Delivery) {
	for _, del := range ds {
		if err := d.enqueue(del, false); err != nil {
			d.opts.Log.Error("cannot resume delivery", "delivery_id", del.ID, "action", del.Action, "err", err)
		}
	}
}

var errClosed = errors.New("dispatcher is shutting down")

// SetTargets replaces the actions after a config reload. Deliveries
// already queued use the new definition of their action if it still
// exists, the old one otherwise.
func (d *Dispatcher) SetTargets(targets map[string]Target) {
	d.mu.Lock()
	defer d.mu.Unlock()
	merged := make(map[string]Target, len(targets))
	for name, t := range d.opts.Targets {
		merged[name] = t
	}
	for name, t := range targets {
		merged[name] = t
	}
	d.opts.Targets = merged
	d.maxBatch = maxBatchOf(merged)
}

func (d *Dispatcher) target(name string) (Target, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.opts.Targets[name]
	return t, ok
}

func (d *Dispatcher) enqueue(del Delivery, fresh bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	del.track = nil
	t, ok := d.opts.Targets[del.Action]
	if !ok {
		return fmt.Errorf("unknown action %q", del.Action)
	}
	if d.closing {
		return errClosed
	}
	key := queueKey{del.Notification.Cluster, del.Action}
	q := d.queues[key]
	if q == nil {
		size := t.QueueSize
		if size <= 0 {
			size = DefaultQueueSize
		}
		q = &queue{ch: make(chan Delivery, size)}
		d.queues[key] = q
		d.byCluster[key.cluster] = append(d.byCluster[key.cluster], q)
		for range max(t.Workers, 1) {
			d.wg.Add(1)
			go d.work(q)
		}
	}
	if fresh && d.opts.Journal != nil {
		if err := d.opts.Journal.Pending(del); err != nil {
			d.opts.Log.Error("journal write failed; delivery continues without crash safety", "delivery_id", del.ID, "err", err)
		}
	}
	if tr := d.tracking; tr != nil && fresh && !del.Fallback && del.Notification.Cluster == tr.cluster {
		del.track = &track{made: make(chan struct{})}
		tr.tracked = append(tr.tracked, Tracked{ID: del.ID, Made: del.track.made, t: del.track})
	}
	select {
	case q.ch <- del:
		d.audit(del, Record{Kind: "queued"})
		return nil
	default:
		if del.track != nil {
			close(del.track.made)
		}
		// A full queue means the action has been failing for a long time;
		// refusing is better than blocking the rules or growing without end.
		d.audit(del, Record{Kind: "dropped", Error: fmt.Sprintf("queue full (%d deliveries waiting)", cap(q.ch))})
		if d.opts.Journal != nil {
			_ = d.opts.Journal.Done(del.ID)
		}
		return fmt.Errorf("action %s, cluster %s: queue full, delivery %s dropped", del.Action, del.Notification.Cluster, del.ID)
	}
}

func (d *Dispatcher) work(q *queue) {
	defer d.wg.Done()
	for del := range q.ch {
		d.wake()
		d.deliver(q, del)
	}
}

// Tracking runs f and returns the deliveries for cluster that f submitted
// (fallbacks and other clusters' deliveries are not counted). HTTP ingest
// runs the decision on a cluster's events this way, so that it can answer
// once the deliveries they caused are made. Calls must not overlap.
func (d *Dispatcher) Tracking(cluster string, f func()) []Tracked {
	tr := &tracker{cluster: cluster}
	d.mu.Lock()
	if d.tracking != nil {
		d.mu.Unlock()
		panic("dispatch: Tracking calls overlap")
	}
	d.tracking = tr
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.tracking = nil
		d.mu.Unlock()
	}()
	f()
	d.mu.Lock()
	defer d.mu.Unlock()
	return tr.tracked
}

// Pace waits until every queue of the cluster holds at most backlog
// deliveries, or until ctx ends. Ingest calls it before answering a
// sender, so that a flood is slowed to the pace its deliveries go out at
// instead of building a queue whose wait is latency. Queues waiting on a
// failing receiver (a delivery in retry) are not waited for: their delay
// is the receiver's, and the cluster's events must keep flowing.
func (d *Dispatcher) Pace(ctx context.Context, cluster string, backlog int) error {
	d.pacers.Add(1)
	defer d.pacers.Add(-1)
	for {
		room, full := d.backlogged(cluster, backlog)
		if !full {
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Backlogged reports whether Pace would wait now: the caller can skip
// setting up a deadline for it when not.
func (d *Dispatcher) Backlogged(cluster string, backlog int) bool {
	_, full := d.backlogged(cluster, backlog)
	return full
}

// backlogged reports whether one of the cluster's queues holds more than
// backlog deliveries and waits on no failing receiver, with the channel
// that is closed when a queue may have room again.
func (d *Dispatcher) backlogged(cluster string, backlog int) (room <-chan struct{}, full bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.byCluster[cluster] {
		if len(q.ch) > backlog && q.retrying.Load() == 0 {
			return d.room, true
		}
	}
	return d.room, false
}

// Crowded reports whether one of the cluster's queues, retrying or not,
// would be more than half full if a batch of events added one delivery
// each: the moment for ingest to refuse the batch (503) rather than accept
// events whose deliveries the queue may have to drop. The other half of
// the queue is room for events that fire more than one delivery.
func (d *Dispatcher) Crowded(cluster string, events int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.byCluster[cluster] {
		if len(q.ch)+max(events, 1) > cap(q.ch)/2 {
			return true
		}
	}
	return false
}

// MaxBatch is the most events one ingest request may carry: half the
// smallest action queue, so that an accepted batch cannot overflow a queue
// however empty it is (see Crowded).
func (d *Dispatcher) MaxBatch() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxBatch
}

// maxBatchOf works out MaxBatch for targets.
func maxBatchOf(targets map[string]Target) int {
	n := DefaultQueueSize
	for _, t := range targets {
		if t.QueueSize > 0 {
			n = min(n, t.QueueSize)
		}
	}
	return max(n/2, 1)
}

// wake tells the callers of Pace to look at the queues again.
func (d *Dispatcher) wake() {
	if d.pacers.Load() == 0 {
		return
	}
	d.mu.Lock()
	close(d.room)
	d.room = make(chan struct{})
	d.mu.Unlock()
}

// deliver makes attempts until success, a permanent failure or the retry
// budget is spent; then it starts the fallback actions if it failed.
func (d *Dispatcher) deliver(q *queue, del Delivery) {
	t, _ := d.target(del.Action)
	spec := t.Spec
	// Built only when something goes wrong: most deliveries log nothing.
	log := func() *slog.Logger {
		return d.opts.Log.With("rule", del.Notification.Rule, "cluster", del.Notification.Cluster, "action", del.Action, "delivery_id", del.ID)
	}
	remaining := spec.Retry.MaxAttempts - del.Attempts
	if remaining < 1 {
		remaining = 1
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval: spec.Retry.InitialBackoff, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: spec.Retry.MaxBackoff,
	}
	for range del.Attempts { // a resumed delivery continues its backoff
		b.NextBackOff()
	}
	// Whoever tracks the delivery waits for its first attempt only: later
	// ones wait on the receiver. After a success it waits for Done too,
	// so that a journal writing behind need not write the delivery at all.
	tracked := del.track
	firstOver := func(ok bool) {
		if tracked != nil {
			tracked.ok.Store(ok)
			close(tracked.made)
			tracked = nil
		}
	}
	// On every other way out, the delivery is done, failed for good with
	// its fallbacks queued, or left in the journal by a shutdown.
	defer firstOver(false)
	lastErr := ""
	retrying := false
	defer func() {
		if retrying {
			q.retrying.Add(-1)
		}
	}()
	operation := func() (struct{}, error) {
		if err := d.ctx.Err(); err != nil {
			// The drain ran out of time before this attempt started: it
			// is not made, so it must not use up an attempt either.
			return struct{}{}, backoff.Permanent(err)
		}
		del.Attempts++
		start := d.opts.Now()
		ctx, cancel := context.WithTimeout(d.ctx, spec.Timeout)
		out, err := t.Action.Run(ctx, &del.Notification)
		cancel()
		rec := Record{Kind: "attempt", Attempt: del.Attempts, DurationMS: d.opts.Now().Sub(start).Milliseconds(),
			HTTPStatus: out.HTTPStatus, Output: actions.Redact(out.Output, t.Secrets...), Detail: actions.Redact(out.Detail, t.Secrets...)}
		if out.HasExitCode {
			code := out.ExitCode
			rec.ExitCode = &code
		}
		switch {
		case err == nil:
			rec.Outcome = "ok"
		case actions.IsPermanent(err):
			rec.Outcome = "failed"
		default:
			rec.Outcome = "retry"
		}
		if err != nil {
			rec.Error = actions.Redact(err.Error(), t.Secrets...)
		}
		d.audit(del, rec)
		if err == nil {
			return struct{}{}, nil
		}
		if !actions.IsPermanent(err) && del.Attempts < spec.Retry.MaxAttempts {
			firstOver(false) // a retry waits on the receiver, not on the sender
		}
		if !retrying {
			retrying = true
			q.retrying.Add(1)
			d.wake()
		}
		if d.opts.Journal != nil {
			_ = d.opts.Journal.Pending(del) // remember the attempt count
		}
		// Log a retry only when the error changes, so that a dead endpoint
		// does not flood the log.
		if rec.Error != lastErr {
			log().Warn("action attempt failed", "attempt", del.Attempts, "err", rec.Error)
			lastErr = rec.Error
		}
		if actions.IsPermanent(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		if after, ok := actions.RetryAfter(err); ok {
			return struct{}{}, &backoff.RetryAfterError{Duration: after}
		}
		return struct{}{}, err
	}
	_, err := backoff.Retry(d.ctx, operation, backoff.WithBackOff(b), backoff.WithMaxTries(uint(remaining)), backoff.WithMaxElapsedTime(0))
	if err != nil && d.ctx.Err() != nil {
		// Shutting down: the delivery stays in the journal and resumes
		// after the restart.
		log().Info("delivery interrupted by shutdown; it resumes after a restart", "attempts", del.Attempts)
		return
	}
	if err == nil {
		if d.opts.Journal != nil {
			_ = d.opts.Journal.Done(del.ID)
		}
		d.audit(del, Record{Kind: "delivered", Attempt: del.Attempts, Outcome: "ok"})
		firstOver(true)
		return
	}
	msg := actions.Redact(err.Error(), t.Secrets...)
	d.audit(del, Record{Kind: "failed", Attempt: del.Attempts, Outcome: "failed", Error: msg})
	log().Error("action failed for good", "attempts", del.Attempts, "err", msg)
	// The fallbacks are journaled before the delivery they replace is
	// done: a crash in between must leave one or the other to resume.
	if !del.Fallback { // no fallback of a fallback: a loop would never end
		d.startFallbacks(del, spec.OnFailure, log)
	}
	if d.opts.Journal != nil {
		_ = d.opts.Journal.Done(del.ID)
	}
}

// startFallbacks queues the on_failure actions of a delivery that failed
// for good.
func (d *Dispatcher) startFallbacks(del Delivery, names []string, log func() *slog.Logger) {
	for _, name := range names {
		fb := Delivery{ID: NewID(), Action: name, Notification: del.Notification, Fallback: true}
		fb.Notification.DeliveryID = fb.ID
		err := d.enqueue(fb, true)
		if errors.Is(err, errClosed) && d.opts.Journal != nil {
			// Shutting down: the fallback waits in the journal and runs
			// after the restart, as the delivery it replaces would have.
			if err = d.opts.Journal.Pending(fb); err == nil {
				log().Warn("fallback action deferred by shutdown; it runs after a restart", "fallback", name, "fallback_delivery_id", fb.ID)
				continue
			}
		}
		if err != nil {
			log().Error("cannot start fallback action", "fallback", name, "err", err)
		}
	}
}

func (d *Dispatcher) audit(del Delivery, r Record) {
	if d.opts.Audit == nil {
		return
	}
	if r.Time.IsZero() {
		r.Time = d.opts.Now()
	}
	r.Rule, r.Status, r.Cluster = del.Notification.Rule, del.Notification.Status, del.Notification.Cluster
	r.Action, r.DeliveryID, r.Fallback = del.Action, del.ID, del.Fallback
	d.opts.Audit.Record(r)
}

// QueueDepth returns the deliveries waiting, over all queues.
func (d *Dispatcher) QueueDepth() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, q := range d.queues {
		n += len(q.ch)
	}
	return n
}

// Close stops accepting deliveries and waits for the queued ones until ctx
// ends; then it cancels the attempts in flight. Unfinished deliveries stay
// in the journal.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closing {
		d.closing = true
		for _, q := range d.queues {
			close(q.ch)
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("drain: %w", ctx.Err())
	}
}
