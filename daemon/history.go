package daemon

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/history"
	"github.com/leaderhook/leaderhook/rules"
)

// historyKeeper keeps the history the web page's timeline shows, in
// state_dir/history: a pipeline.Sink for state changes and rule outcomes,
// a dispatch.Auditor for deliveries. Like the audit log, it writes from a
// goroutine of its own and never makes a decision or a delivery wait.
type historyKeeper struct {
	store   *history.Store
	tracker *history.Tracker
}

func (d *Daemon) openHistory(cfg *config.Config) error {
	maxAge, maxBytes := cfg.History.Bounds()
	st, err := history.Open(history.Options{Dir: filepath.Join(d.stateDir, "history"), MaxAge: maxAge, MaxBytes: maxBytes,
		OnError: func(error) { d.metrics.HistoryWriteFailed() }, Log: d.log})
	if err != nil {
		return err
	}
	d.history = &historyKeeper{store: st, tracker: history.NewTracker()}
	return nil
}

func (h *historyKeeper) State(ev event.Event) { h.store.Add(history.StateOf(ev)) }

func (h *historyKeeper) Outcome(o rules.Outcome) { h.store.Add(history.OutcomeOf(o)) }

// Record takes every audit record, the same redacted errors as the audit
// log without programs' output and receivers' answers; the history keeps
// one line per delivery, at its end. Deliveries under way are the
// tracker's.
func (h *historyKeeper) Record(r dispatch.Record) {
	if ended := h.tracker.Apply(history.DeliveryOf(r)); ended != nil {
		h.store.Add(history.Entry{Delivery: ended})
	}
}

// retrying notes when a delivery's next attempt is due.
func (h *historyKeeper) retrying(del dispatch.Delivery, at time.Time) { h.tracker.Retry(del.ID, at) }

func (h *historyKeeper) close() {
	if h != nil {
		h.store.Close()
	}
}

// historyWindow is GET /v1/history: a window of history, or what came
// after a sequence number, and the deliveries under way. It reads the
// disk, not the pipeline: no decision waits for it.
func (d *Daemon) historyWindow(_ context.Context, q api.HistoryQuery) (any, error) {
	var w history.Window
	if q.HasAfter {
		var ok bool
		if w, ok = d.history.store.Since(q.After); !ok {
			w.Reset = true
		}
	} else {
		var err error
		if w, err = d.history.store.Query(q.From, q.To, history.Filter{Cluster: q.Cluster, Step: q.Step}); err != nil {
			return nil, err
		}
	}
	w.Unfinished = d.history.tracker.Unfinished()
	if q.Cluster != "" {
		w.Unfinished = slices.DeleteFunc(w.Unfinished, func(s history.Summary) bool { return s.Cluster != q.Cluster })
	}
	return w, nil
}
