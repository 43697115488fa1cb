package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/leaderhook/leaderhook/clock"
	"github.com/leaderhook/leaderhook/event"
)

// idle is how long Run sleeps when nothing is due: in effect forever, but a
// finite duration keeps timer arithmetic simple.
const idle = 24 * time.Hour

// Run drives the pipeline live until ctx ends or in is closed: it handles
// each event from in, and in between sleeps on one timer until the next
// deadline (a threshold, a stabilization period, a schedule), so that a
// condition that time alone makes true fires when it becomes true, not at
// the next event. An idle pipeline does no work at all.
//
// An event keeps the timestamp its source gave it within MaxSkew of clk;
// beyond it, it is dated on arrival (see arrive). The Sink is called with
// the driver held; it must not block (hand actions to a queue).
func (d *Driver) Run(ctx context.Context, in <-chan event.Event, clk clock.Clock) error {
	clk = wallClock{clk}
	d.mu.Lock()
	d.clock, d.running = clk, true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		d.mu.Unlock()
	}()
	timer := clk.NewTimer(idle)
	defer timer.Stop()
	for {
		d.mu.Lock()
		d.wakeups++
		wait := idle
		if at, ok := d.Deadline(); ok {
			wait = max(at.Sub(clk.Now()), 0)
		}
		d.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.poke: // a Call may have moved the next deadline
		case ev, ok := <-in:
			if !ok {
				return nil
			}
			// Handle first advances to the event's own time; deadlines
			// between it and now come due on the next turn.
			d.locked(func() { d.take(ev) })
		case <-timer.C():
			// Events already waiting happened before now: take them first,
			// at their own times, so that a deadline cannot overtake them.
			d.locked(func() {
				d.drain(in)
				now := clk.Now()
				if d.OnAdvance != nil {
					d.OnAdvance(now)
				}
				d.AdvanceTo(now)
			})
		}
	}
}

func (d *Driver) locked(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

// ErrNotRunning is returned by Call when Run is not running.
var ErrNotRunning = errors.New("the pipeline is not running")

// Call runs f with the driver held, on the caller's goroutine, between the
// events Run takes: the way to read or change the driver while Run runs
// (no hand-off to another goroutine). It returns ErrNotRunning, and f is
// not run, unless Run is running.
func (d *Driver) Call(f func()) error {
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return ErrNotRunning
	}
	before, wasDue := d.Deadline()
	f()
	after, due := d.Deadline()
	d.mu.Unlock()
	if due && (!wasDue || after.Before(before)) {
		select {
		case d.poke <- struct{}{}: // Run's timer is set for later
		default:
		}
	}
	return nil
}

// arrive dates a live event. Its own timestamp orders and dates it while
// it is within MaxSkew of the clock and not behind the driver: one member
// whose clock runs ahead must not move the driver's time (which would blind
// it to the next real loss until that time comes), nor one whose event
// comes late date it in the past. Otherwise the event is dated on arrival.
func (d *Driver) arrive(ev event.Event) event.Event {
	return d.Date(ev, d.clock.Now())
}

// Date dates an event that arrives at now, as Run does (see arrive): for
// those who hand events to the driver some other way, such as a group of
// leaderhook nodes that replicates them. Call it with the driver held.
func (d *Driver) Date(ev event.Event, now time.Time) event.Event {
	limit := d.MaxSkew
	if limit <= 0 {
		limit = event.DefaultMaxSkew
	}
	skew := ev.Time.Sub(now)
	if skew.Abs() <= limit && !ev.Time.Before(d.now) {
		return ev
	}
	if d.OnSkew != nil && skew.Abs() > limit {
		d.OnSkew(ev, skew)
	}
	if ev.Sent.IsZero() {
		ev.Sent = ev.Time
	}
	ev.Time = now
	return ev
}

// Do runs f with the driver held, whether Run runs or not: for those who
// drive it themselves (AdvanceTo, Handle), such as a replicated group.
func (d *Driver) Do(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f()
}

// drain handles the events that are waiting, without blocking.
func (d *Driver) drain(in <-chan event.Event) {
	for {
		select {
		case ev, ok := <-in:
			if !ok {
				return
			}
			d.take(ev)
		default:
			return
		}
	}
}

// Take handles events as Run does with those it receives. Call it from
// inside Call.
func (d *Driver) Take(evs ...event.Event) {
	for _, ev := range evs {
		d.take(ev)
	}
}

// take handles one event that Run received.
func (d *Driver) take(ev event.Event) {
	ev.Time = ev.Time.Round(0) // see wallClock
	if d.clock != nil {
		ev = d.arrive(ev)
	}
	if d.OnEvent != nil {
		d.OnEvent(ev)
	}
	if err := d.Handle(ev); err != nil {
		d.Rejected++
	}
}

// wallClock strips the monotonic clock reading from the times Run works
// with, as take does from events: Run then decides on wall-clock times
// alone, as a replay of its recorded inputs does, and a step of the clock
// cannot order two instants otherwise than their recorded times.
type wallClock struct{ clock.Clock }

func (w wallClock) Now() time.Time { return w.Clock.Now().Round(0) }
