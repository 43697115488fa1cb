// Package dispatch delivers notifications to actions off the decision path:
// a queue per cluster and action, so that a hung webhook or script delays
// only itself; retries with exponential backoff and jitter; a timeout per
// attempt; an audit record of every attempt; fallback actions when a
// delivery fails for good; and a journal of pending deliveries, so that a
// restart resumes them with the same delivery id.
package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// DefaultQueueSize is how many deliveries may wait in one (cluster,
// action) queue before Full reports it: the point at which ingest refuses
// more events for the cluster. A queue never drops a delivery.
const DefaultQueueSize = 1024

// Delivery is one notification on its way to one action.
type Delivery struct {
	ID           string               `json:"id"` // webhook-id: the same on every attempt, and after a restart
	Action       string               `json:"action"`
	Notification actions.Notification `json:"notification"`
	Attempts     int                  `json:"attempts"` // attempts made so far
	Fallback     bool                 `json:"fallback,omitempty"`
	// Unfinished: the last attempt (of an actions.Unrepeatable) started
	// and was never seen to end: leaderhook stopped during it.
	Unfinished bool `json:"unfinished,omitempty"`
}

// Journal keeps deliveries that are not finished, so that a restart can
// resume them. Pending comes before a delivery is queued and after each
// failed attempt; Done after the last, once the fallbacks it starts (of
// a delivery that failed for good, or of a resolve's firing) are Pending.
// Implementations must be safe for concurrent use, and return only once
// the record is written.
type Journal interface {
	Pending(d Delivery) error
	Done(id string) error
}

// Auditor records every firing and every attempt. Record must not block,
// nor call the Dispatcher: a delivery's "queued" record is made with its
// queue locked, so that no worker can record its attempt first.
type Auditor interface {
	Record(r Record)
}

// Record is one line of the audit log.
type Record struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // "queued", "attempt", "delivered", "failed", "dropped", "cancelled"; "expect": a window of expected changes, Status "open" or "ended"
	Rule       string    `json:"rule"`
	Status     string    `json:"status"`
	Cluster    string    `json:"cluster"`
	Action     string    `json:"action"`
	DeliveryID string    `json:"delivery_id"`
	Attempt    int       `json:"attempt,omitempty"`
	Outcome    string    `json:"outcome,omitempty"` // "ok", "retry", "failed", "cancelled"
	DurationMS int64     `json:"duration_ms,omitempty"`
	HTTPStatus int       `json:"http_status,omitempty"`
	ExitCode   *int      `json:"exit_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	Output     string    `json:"output,omitempty"` // shell: bounded stdout and stderr
	Detail     string    `json:"detail,omitempty"` // webhook, slack: the start of the answer, or what went wrong; dropped, cancelled: why
	Fallback   bool      `json:"fallback,omitempty"`
	Until      time.Time `json:"until,omitzero"`   // expect: the window's end
	Reason     string    `json:"reason,omitempty"` // expect: why changes are expected
}

// Target is a configured action with its delivery policy.
type Target struct {
	Action    actions.Action
	Spec      actions.Spec // defaulted: Timeout, Retry, OnFailure
	Secrets   []string     // redacted from every error and log line
	Workers   int          // concurrent deliveries per cluster; 1 keeps order
	QueueSize int          // 0: DefaultQueueSize
	// CancelOnChange fences the action's deliveries to the state of the
	// cluster they were decided for: once it moves on (StateChanged), they
	// are dropped while they wait and stopped while they run.
	CancelOnChange bool
	// redactor hides Secrets: built once as the targets are set, not at
	// every attempt.
	redactor actions.Redactor
}

// redact hides t's secrets, and URLs' credentials and queries, in s.
func (t Target) redact(s string) string { return t.redactor.Redact(s) }

// withRedactors returns a copy of targets, each with its redactor.
func withRedactors(targets map[string]Target) map[string]Target {
	out := make(map[string]Target, len(targets))
	for name, t := range targets {
		t.redactor = actions.NewRedactor(t.Secrets...)
		out[name] = t
	}
	return out
}

// Options configure a Dispatcher.
type Options struct {
	Targets map[string]Target
	Journal Journal // may be nil
	Audit   Auditor // may be nil
	Log     *slog.Logger
	Now     func() time.Time
	// OnRetry, if set, is told when a delivery's next attempt is due.
	OnRetry func(del Delivery, at time.Time)
	// OnDone, if set, is told of the end of each delivery a worker took,
	// once the journal has it: ok when it succeeded, false when it failed
	// for good (its fallbacks started) or was fenced off (CancelOnChange).
	// It runs on the delivery's worker, never in StateChanged: a delivery
	// dropped from its queue there, never taken, is not told, nor one a
	// shutdown interrupts.
	OnDone func(del Delivery, ok bool)
	// Fallbacks remembers which on_failure actions a firing that failed
	// for good ran, until its resolve reaches them too (FallbackMemory).
	// It must outlive a restart, and in a group a change of leader; nil:
	// kept in memory only.
	Fallbacks *actions.Memory
}

// ErrDrainRanOut is why an attempt still in flight when Close's drain
// runs out of time is stopped: an interrupted script's audit says so.
var ErrDrainRanOut = errors.New("leaderhook stopped: the attempt outlasted the shutdown's drain time")

// Dispatcher runs deliveries. Submit never waits for one.
type Dispatcher struct {
	opts Options
	// ctx is cancelled when a drain runs out of time: attempts in flight
	// end, and the deliveries not started stay in the journal.
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // workers

	mu        sync.Mutex
	targets   map[string]Target
	queues    map[queueKey]*queue
	byCluster map[string][]*queue
	active    map[string]bool // ids queued or in flight
	closing   bool
	flights   map[string]*flight // by id: deliveries taken by a worker
	newest    map[string]uint64  // by cluster: the number of its current state
}

type queueKey struct{ cluster, action string }

// New returns a dispatcher.
func New(opts Options) *Dispatcher {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Fallbacks == nil {
		opts.Fallbacks, _ = actions.OpenMemory("", FallbackMemory) // in memory only: no error
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	startBackground(opts.Targets)
	return &Dispatcher{opts: opts, ctx: ctx, cancel: cancel, targets: withRedactors(opts.Targets),
		queues: map[queueKey]*queue{}, byCluster: map[string][]*queue{}, active: map[string]bool{},
		flights: map[string]*flight{}, newest: map[string]uint64{}}
}

// startBackground starts the work the actions of targets do between
// deliveries (actions.Background).
func startBackground(targets map[string]Target) {
	for _, t := range targets {
		if b, ok := t.Action.(actions.Background); ok {
			b.Start()
		}
	}
}

// stopBackground stops it, and returns once it has stopped.
func stopBackground(targets map[string]Target) {
	for _, t := range targets {
		if b, ok := t.Action.(actions.Background); ok {
			b.Stop()
		}
	}
}

// DeliveryID names the delivery of a decision to an action: the cluster,
// the rule, firing or resolve, the episode and the instant of the decision.
// The same decision made again (after a crash, from a re-sent batch of
// events) gets the same id, so that receivers can drop the duplicate by
// its webhook-id.
func DeliveryID(n *actions.Notification, action string) string {
	return newID(n.Cluster, n.Rule, n.Status, n.Episode.UTC().Format(time.RFC3339Nano), n.FiredAt.UTC().Format(time.RFC3339Nano), action)
}

// fallbackID names the fallback to action of the delivery id.
func fallbackID(id, action string) string { return newID(id, "on_failure", action) }

func newID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0}) // no two lists of parts run together alike
	}
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Errors of Submit.
var (
	// ErrClosed: Close has begun; a journaled delivery waits in the
	// journal for the next start.
	ErrClosed = errors.New("dispatcher is shutting down")
	// ErrNotJournaled: the journal could not be written; the delivery is
	// queued all the same, but a crash would lose it.
	ErrNotJournaled = errors.New("delivery not journaled")
)

// Submit journals and queues n for each named action, each with its own
// delivery id (DeliveryID). A delivery whose id is already queued or in
// flight is that same decision made again: it is not queued twice. The
// error joins what went wrong: an unknown action, a journal write that
// failed (the delivery is queued all the same, but a crash would lose it),
// or a shutdown in progress (the delivery waits in the journal for the
// next start).
func (d *Dispatcher) Submit(n actions.Notification, actionNames []string) error {
	var errs []error
	for _, name := range actionNames {
		del := Delivery{ID: DeliveryID(&n, name), Action: name, Notification: n}
		del.Notification.DeliveryID = del.ID
		errs = append(errs, d.submit(del))
	}
	return errors.Join(errs...)
}

// submit journals a new delivery, then queues it: the journal has it
// before a worker can end it (and journal its end), and before Submit
// returns (before ingest answers).
func (d *Dispatcher) submit(del Delivery) error {
	q, err := d.reserve(del)
	if q == nil && !errors.Is(err, ErrClosed) {
		if err == nil {
			d.opts.Log.Debug("delivery already under way", "delivery_id", del.ID, "action", del.Action)
		}
		return err
	}
	if d.opts.Journal != nil {
		if jerr := d.opts.Journal.Pending(del); jerr != nil {
			err = errors.Join(fmt.Errorf("%w: %s to %s: %w", ErrNotJournaled, del.ID, del.Action, jerr), err)
		}
	}
	if q != nil {
		err = errors.Join(err, d.push(q, del))
	}
	return err
}

// Resume queues deliveries found in the journal after a restart, keeping
// their ids and attempt counts.
func (d *Dispatcher) Resume(ds []Delivery) {
	for _, del := range ds {
		q, err := d.reserve(del)
		if q == nil {
			if err != nil {
				d.opts.Log.Error("cannot resume delivery", "delivery_id", del.ID, "action", del.Action, "err", err)
			}
			continue
		}
		if err := d.push(q, del); err != nil {
			d.opts.Log.Info("delivery deferred by shutdown; it resumes after a restart", "delivery_id", del.ID, "action", del.Action)
		}
	}
}

// reserve marks a delivery under way and returns the queue it goes to. It
// returns no queue for an unknown action or during a shutdown (with the
// error), and for a delivery already under way (that same decision made
// again, with no error): it is not queued twice.
func (d *Dispatcher) reserve(del Delivery) (*queue, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.targets[del.Action]
	switch {
	case !ok:
		return nil, fmt.Errorf("unknown action %q", del.Action)
	case d.active[del.ID]:
		return nil, nil
	case d.closing:
		return nil, ErrClosed
	}
	d.active[del.ID] = true
	return d.queueLocked(queueKey{del.Notification.Cluster, del.Action}, t), nil
}

// push queues a reserved delivery. One reserved as Close began, whose
// queue's workers have since left the drain, is no longer under way: it
// waits in the journal for the next start (ErrClosed), as one Close
// refused does.
func (d *Dispatcher) push(q *queue, del Delivery) error {
	if q.push(del, func() { d.audit(del, Record{Kind: "queued"}) }) { // before a worker can audit its attempt
		return nil
	}
	d.mu.Lock()
	delete(d.active, del.ID)
	d.mu.Unlock()
	return ErrClosed
}

// queueLocked returns the queue of key, started with its workers if new.
// Callers hold mu.
func (d *Dispatcher) queueLocked(key queueKey, t Target) *queue {
	if q := d.queues[key]; q != nil {
		return q
	}
	q := newQueue(t.QueueSize)
	d.queues[key] = q
	d.byCluster[key.cluster] = append(d.byCluster[key.cluster], q)
	d.staff(q, t.Workers)
	return q
}

// staff sets how many workers take deliveries from q, starting those
// that are missing; surplus ones stop after their current delivery.
func (d *Dispatcher) staff(q *queue, workers int) {
	for range q.setWorkers(max(workers, 1)) {
		d.wg.Add(1)
		go d.work(q)
	}
}

func (d *Dispatcher) work(q *queue) {
	defer d.wg.Done()
	for {
		del, ok := q.take()
		if !ok {
			return
		}
		ctx, land := d.takeOff(del)
		d.deliver(ctx, del)
		land(nil)
		d.mu.Lock()
		resolves := d.flights[del.ID].resolves
		delete(d.active, del.ID)
		delete(d.flights, del.ID)
		for _, r := range resolves {
			delete(d.active, r.del.ID)
		}
		d.mu.Unlock()
		d.endDroppedResolves(resolves)
	}
}

// SetTargets replaces the actions after a config reload. Deliveries
// already queued, and those being retried from their next attempt, use the
// new definition of their action if it still exists, the old one
// otherwise; queues get the new number of workers.
// The old actions' background work stops, the new ones' starts.
func (d *Dispatcher) SetTargets(targets map[string]Target) {
	prepared := withRedactors(targets)
	d.mu.Lock()
	old := d.targets
	d.setTargetsLocked(prepared)
	d.mu.Unlock()
	stopBackground(old)
	startBackground(targets)
}

func (d *Dispatcher) setTargetsLocked(targets map[string]Target) {
	merged := make(map[string]Target, len(targets))
	for name, t := range d.targets {
		merged[name] = t
	}
	for name, t := range targets {
		merged[name] = t
	}
	d.targets = merged
	for key, q := range d.queues {
		if t, ok := targets[key.action]; ok {
			q.resize(t.QueueSize)
			d.staff(q, t.Workers)
		}
	}
}

func (d *Dispatcher) target(name string) Target {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.targets[name]
}

// Full reports whether one of the cluster's queues holds as many waiting
// deliveries as its size: ingest then refuses the cluster's events until
// there is room, rather than queue without end.
func (d *Dispatcher) Full(cluster string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.byCluster[cluster] {
		if q.full() {
			return true
		}
	}
	return false
}

// QueueDepth returns the deliveries waiting, over all queues.
func (d *Dispatcher) QueueDepth() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, q := range d.queues {
		n += q.len()
	}
	return n
}

// Close stops accepting deliveries and waits for the queued ones until ctx
// ends; then it cancels the attempts in flight. Unfinished deliveries stay
// in the journal; the error counts them, and is nil when there were none.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closing {
		d.closing = true
		for _, q := range d.queues {
			q.close()
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		d.mu.Lock()
		left := len(d.active)
		d.mu.Unlock()
		if left > 0 {
			err = fmt.Errorf("drain: %s unfinished: %w", deliveries(left), ctx.Err())
		}
	}
	d.cancel(ErrDrainRanOut)
	<-done
	d.mu.Lock()
	targets := d.targets
	d.mu.Unlock()
	stopBackground(targets)
	return err
}

func deliveries(n int) string {
	if n == 1 {
		return "1 delivery"
	}
	return fmt.Sprintf("%d deliveries", n)
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
