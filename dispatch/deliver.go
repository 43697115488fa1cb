package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/leaderhook/leaderhook/actions"
)

// deliver makes attempts until success, a permanent failure or the retry
// budget is spent; a delivery that failed for good starts its fallbacks,
// and a resolve that ends goes to those its firing ran.
// A shutdown that runs out of time leaves the delivery in the journal; one
// that its cluster's state outdated (ctx ends with a StaleError) ends,
// unless its last attempt ended by its own result meanwhile.
func (d *Dispatcher) deliver(ctx context.Context, del Delivery) {
	stopped, err := d.attempts(ctx, &del)
	t := d.target(del.Action) // as a reload may have left it
	switch {
	case err == nil:
		d.resolveFallbacks(del)
		d.journalDone(del)
		d.audit(del, Record{Kind: "delivered", Attempt: del.Attempts, Outcome: "ok"})
		d.done(del, true)
	case fencedBy(ctx, err) != nil:
		d.fenced(del, stopped, fencedBy(ctx, err))
		d.done(del, false)
	case d.ctx.Err() != nil:
		d.log(del).Info("delivery interrupted by shutdown; it resumes after a restart", "attempts", del.Attempts)
	default:
		msg := t.redact(err.Error())
		d.audit(del, Record{Kind: "failed", Attempt: del.Attempts, Outcome: "failed", Error: msg})
		d.log(del).Error("action failed for good", "attempts", del.Attempts, "err", msg)
		// The fallbacks are journaled before the delivery they replace is
		// done: a crash in between leaves one or the other to resume.
		if !del.Fallback { // no fallback of a fallback: a loop would never end
			d.startFallbacks(del, t, msg)
		}
		d.journalDone(del)
		d.done(del, false)
	}
}

// attempts runs the retry loop. A resumed delivery continues its attempt
// count; its backoff starts again. Each attempt takes the action as it is
// then (a reload may change its target, timeout and retry budget). stopped
// says that the fence stopped the attempt that ran. The error is the last
// attempt's, or ctx's cause when it ended before or between attempts.
func (d *Dispatcher) attempts(ctx context.Context, del *Delivery) (stopped bool, err error) {
	retry := d.target(del.Action).Spec.Retry
	if err := context.Cause(ctx); err != nil {
		// Fenced off (or the drain ran out) before its first attempt
		// here: a resumed delivery whose budget is spent is dropped all
		// the same, not failed for good.
		return false, err
	}
	if del.Attempts > 0 && del.Attempts >= retry.MaxAttempts {
		return false, cutShort(del, retry.MaxAttempts)
	}
	del.Unfinished = false
	b := &reloadedBackOff{settings: func() actions.Retry { return d.target(del.Action).Spec.Retry }}
	lastErr := ""
	var last error // what backoff gets wraps it (a Retry-After hides it)
	operation := func() (struct{}, error) {
		if err := context.Cause(ctx); err != nil {
			// The drain ran out of time, or the state moved on, before
			// this attempt started: it is not made, so it must not use
			// up an attempt either.
			return struct{}{}, backoff.Permanent(err)
		}
		t := d.target(del.Action)
		if last != nil && spent(*del, t) {
			// A reload lowered retry.max_attempts during the backoff.
			return struct{}{}, backoff.Permanent(last)
		}
		err := d.attempt(ctx, t, del)
		if err == nil {
			return struct{}{}, nil
		}
		last, stopped = err, fencedBy(ctx, err) != nil
		if d.opts.Journal != nil {
			_ = d.opts.Journal.Pending(*del) // remember the attempt count
		}
		// Logged only when the error changes, so that a dead endpoint
		// does not flood the log.
		if msg := t.redact(err.Error()); msg != lastErr {
			d.log(*del).Warn("action attempt failed", "attempt", del.Attempts, "err", msg)
			lastErr = msg
		}
		if spent(*del, t) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, retryable(err, t.Spec.Retry.InitialBackoff)
	}
	notify := func(_ error, wait time.Duration) {
		if d.opts.OnRetry != nil {
			d.opts.OnRetry(*del, d.opts.Now().Add(wait))
		}
	}
	_, err = backoff.Retry(ctx, operation, backoff.WithBackOff(b), backoff.WithNotify(notify), backoff.WithMaxElapsedTime(0))
	if _, waited := errors.AsType[*backoff.RetryAfterError](err); waited && last != nil {
		err = last
	}
	return stopped, err
}

// cutShort is the error of a resumed delivery whose budget is spent: its
// last attempt was cut short by a crash (Unfinished) or by a drain that ran
// out of time. It counts as made, so a failover script never runs once
// more than max_attempts allows.
func cutShort(del *Delivery, maxAttempts int) error {
	return actions.Permanent(fmt.Errorf("attempt %d was cut short when leaderhook stopped, its outcome unknown; retry.max_attempts (%d) allows no other",
		del.Attempts, maxAttempts))
}

// reloadedBackOff is exponential backoff with jitter under a delivery's
// retry settings as a reload leaves them at each wait. Its growth starts
// again from initial_backoff when they change, and no wait, jitter
// included, is longer than max_backoff: the docs' "longest wait".
type reloadedBackOff struct {
	settings func() actions.Retry
	initial  time.Duration // the settings exp has
	most     time.Duration
	exp      backoff.ExponentialBackOff
}

func (b *reloadedBackOff) NextBackOff() time.Duration {
	r := b.settings()
	if r.InitialBackoff != b.initial || r.MaxBackoff != b.most {
		b.initial, b.most = r.InitialBackoff, r.MaxBackoff
		b.exp = backoff.ExponentialBackOff{InitialInterval: r.InitialBackoff, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: r.MaxBackoff}
	}
	next := b.exp.NextBackOff()
	if r.MaxBackoff > 0 {
		next = min(next, r.MaxBackoff)
	}
	return next
}

func (b *reloadedBackOff) Reset() { b.exp.Reset() }

// retryable tells backoff how to treat an attempt's error. A Retry-After
// shorter than least, the first backoff (0, or a date the receiver's clock
// puts in the past), gives way to the backoff: taken as is, it would spend
// every attempt at once.
func retryable(err error, least time.Duration) error {
	if actions.IsPermanent(err) {
		return backoff.Permanent(err)
	}
	if after, ok := actions.RetryAfter(err); ok && after >= least {
		return &backoff.RetryAfterError{Duration: after}
	}
	return err
}

// attempt makes one attempt within the action's timeout and audits it.
func (d *Dispatcher) attempt(ctx context.Context, t Target, del *Delivery) error {
	del.Attempts++
	d.journalStart(t, *del)
	start := d.opts.Now()
	runCtx, cancel := context.WithTimeout(ctx, t.Spec.Timeout)
	out, err := t.Action.Run(runCtx, &del.Notification)
	cancel()
	rec := Record{Kind: "attempt", Attempt: del.Attempts, DurationMS: d.opts.Now().Sub(start).Milliseconds(), HTTPStatus: out.HTTPStatus,
		Output: t.redact(out.Output), Detail: t.redact(out.Detail), Outcome: "ok"}
	if out.HasExitCode {
		code := out.ExitCode
		rec.ExitCode = &code
	}
	if err != nil {
		rec.Outcome = "retry"
		if actions.IsPermanent(err) || spent(*del, t) {
			rec.Outcome = "failed"
		}
		if fencedBy(ctx, err) != nil {
			rec.Outcome = "cancelled"
		}
		rec.Error = t.redact(err.Error())
	}
	d.audit(*del, rec)
	return err
}

// spent reports whether del's attempts have used up t's retry budget
// (retry.max_attempts): no attempt follows.
func spent(del Delivery, t Target) bool { return del.Attempts >= t.Spec.Retry.MaxAttempts }

// journalStart journals an attempt of an actions.Unrepeatable before it
// starts; the record after it (Pending or Done) clears the mark. One that
// cannot be journaled is made all the same: a failover matters more.
func (d *Dispatcher) journalStart(t Target, del Delivery) {
	if _, ok := t.Action.(actions.Unrepeatable); !ok || d.opts.Journal == nil {
		return
	}
	del.Unfinished = true
	if err := d.opts.Journal.Pending(del); err != nil {
		d.log(del).Error("cannot journal the start of an attempt; made all the same", "attempt", del.Attempts, "err", err)
	}
}

// startFallbacks journals and queues the on_failure actions of a delivery
// to t that failed for good with the (redacted) error msg; their message
// says which delivery failed, to where and why. A firing's are remembered
// for its resolve; a resolve goes to its firing's too. During a shutdown
// they wait in the journal and run after the restart, as the delivery
// they replace would have.
func (d *Dispatcher) startFallbacks(del Delivery, t Target, msg string) {
	failure := actions.Failure{Action: del.Action, Kind: t.Spec.Type, Error: msg, Attempts: del.Attempts}
	if w, ok := t.Action.(actions.Describer); ok {
		failure.Where = t.redact(w.Where())
	}
	names := slices.Clone(t.Spec.OnFailure)
	ran := d.firingFallbacks(del)
	for _, name := range ran { // those still told of the firing, though a reload took them off on_failure
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	d.rememberFallbacks(del, names)
	for _, name := range names {
		d.submitFallback(del, name, failure)
	}
	d.forgetFallbacks(del, ran)
}

// submitFallback journals and queues del for its fallback name, with
// failure (none when del did not fail).
func (d *Dispatcher) submitFallback(del Delivery, name string, failure actions.Failure) {
	fb := Delivery{ID: fallbackID(del.ID, name), Action: name, Notification: del.Notification, Fallback: true}
	fb.Notification.DeliveryID = fb.ID
	fb.Notification.Failure = failure
	err := d.submit(fb)
	switch {
	case errors.Is(err, ErrClosed) && d.opts.Journal != nil && !errors.Is(err, ErrNotJournaled):
		d.log(del).Warn("fallback action deferred by shutdown; it runs after a restart", "fallback", name, "fallback_delivery_id", fb.ID)
	case err != nil:
		d.log(del).Error("cannot start fallback action", "fallback", name, "err", err)
	}
}

func (d *Dispatcher) journalDone(del Delivery) {
	if d.opts.Journal == nil {
		return
	}
	if err := d.opts.Journal.Done(del.ID); err != nil {
		// At least once: the delivery goes out again after a restart,
		// with the same id.
		d.log(del).Error("cannot journal the end of a delivery", "err", err)
	}
}

func (d *Dispatcher) done(del Delivery, ok bool) {
	if d.opts.OnDone != nil {
		d.opts.OnDone(del, ok)
	}
}

// log is the logger of a delivery's trouble, built only when needed.
func (d *Dispatcher) log(del Delivery) *slog.Logger {
	return d.opts.Log.With("rule", del.Notification.Rule, "cluster", del.Notification.Cluster, "action", del.Action, "delivery_id", del.ID)
}
