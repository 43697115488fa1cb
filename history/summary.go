package history

import (
	"slices"
	"sync"
	"time"
)

// Delivery states, as a summary gives them. Dropped and Cancelled end a
// delivery that its cluster's state outdated, waiting or during an attempt.
const (
	Pending   = "pending"
	Retrying  = "retrying"
	Delivered = "delivered"
	Failed    = "failed"
	Dropped   = "dropped"
	Cancelled = "cancelled"
)

// Summary is where a delivery stands, from its records.
type Summary struct {
	ID          string    `json:"id"`
	Cluster     string    `json:"cluster"`
	Rule        string    `json:"rule"`
	Status      string    `json:"status"`
	Action      string    `json:"action"`
	State       string    `json:"state"` // pending, retrying, delivered, failed, dropped, cancelled
	Attempts    int       `json:"attempts"`
	First       time.Time `json:"first"` // its first record
	Last        time.Time `json:"last"`  // its latest record
	LastError   string    `json:"last_error,omitempty"`
	HTTPStatus  int       `json:"http_status,omitempty"`
	ExitCode    *int      `json:"exit_code,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"` // while retrying
	Fallback    bool      `json:"fallback,omitempty"`
}

// apply updates s with a later record of its delivery.
func (s *Summary) apply(d *Delivery) {
	if s.ID == "" {
		*s = Summary{ID: d.ID, Cluster: d.Cluster, Rule: d.Rule, Status: d.Status, Action: d.Action, State: Pending,
			First: d.Time, Fallback: d.Fallback}
	}
	s.Last = d.Time
	s.Attempts = max(s.Attempts, d.Attempt)
	switch d.Kind {
	case "attempt":
		s.HTTPStatus, s.ExitCode, s.NextAttempt = d.HTTPStatus, d.ExitCode, time.Time{}
		if d.Error != "" {
			s.LastError = d.Error
		}
		if d.Outcome == "retry" {
			s.State = Retrying
		}
	case "delivered":
		s.State, s.NextAttempt = Delivered, time.Time{}
	case "dropped":
		s.State, s.NextAttempt = Dropped, time.Time{}
	case "cancelled":
		s.State, s.NextAttempt = Cancelled, time.Time{}
	case "failed":
		s.State, s.NextAttempt = Failed, time.Time{}
		if d.Error != "" {
			s.LastError = d.Error
		}
	}
}

// ended reports whether the delivery is over: no attempt follows.
func (s *Summary) ended() bool {
	switch s.State {
	case Delivered, Failed, Dropped, Cancelled:
		return true
	}
	return false
}

// Summarize sums up the deliveries of records, in the order of their first
// record.
func Summarize(records []*Delivery) []Summary {
	index := map[string]int{}
	out := []Summary{}
	for _, d := range records {
		i, ok := index[d.ID]
		if !ok {
			i = len(out)
			index[d.ID] = i
			out = append(out, Summary{})
		}
		out[i].apply(d)
	}
	return out
}

// Tracker follows the deliveries under way: pending or retrying. It is
// safe for concurrent use.
type Tracker struct {
	mu   sync.Mutex
	open map[string]*Summary
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{open: map[string]*Summary{}} }

// Apply takes a delivery's record. At the delivery's end it forgets the
// delivery and returns its summary, for the history.
func (t *Tracker) Apply(d *Delivery) (ended *Summary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.open[d.ID]
	if s == nil {
		s = &Summary{}
		t.open[d.ID] = s
	}
	s.apply(d)
	if s.ended() {
		delete(t.open, d.ID)
		return s
	}
	return nil
}

// Retry notes when a delivery's next attempt is due.
func (t *Tracker) Retry(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.open[id]; s != nil {
		s.NextAttempt = at
	}
}

// Unfinished lists the deliveries under way, oldest first.
func (t *Tracker) Unfinished() []Summary {
	t.mu.Lock()
	out := make([]Summary, 0, len(t.open))
	for _, s := range t.open {
		out = append(out, *s)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Summary) int { return a.First.Compare(b.First) })
	return out
}
