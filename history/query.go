package history

import (
	"slices"
	"time"
)

// Window is what GET /v1/history answers: the history between From and
// To, or what came after a sequence number. docs/operations.md documents
// it field by field. WriteJSON writes it with every list, empty or not.
type Window struct {
	Time  time.Time `json:"time"`
	Boot  string    `json:"boot"`
	From  time.Time `json:"from,omitzero"`
	To    time.Time `json:"to,omitzero"`
	After int64     `json:"after,omitempty"`
	// Reset: the entries after After are no longer all in memory; load
	// a window again.
	Reset    bool      `json:"reset,omitempty"`
	LastSeq  int64     `json:"last_seq"`
	KeptFrom time.Time `json:"kept_from,omitzero"`
	// States holds, for each cluster, the last state before From (the one
	// in force at From), then the state changes in the window.
	States   []State   `json:"states,omitempty"`
	Outcomes []Outcome `json:"outcomes,omitempty"`
	// Deliveries are those that ended in the window.
	Deliveries []Summary `json:"deliveries,omitempty"`
	// Unfinished are the deliveries under way now, whenever they began.
	Unfinished []Summary `json:"unfinished,omitempty"`
}

// slack widens the segments read for a window: entries carry their
// events' times, which may be a little off the clock that dates segments.
const slack = time.Minute

// Query returns the history between from and to.
func (s *Store) Query(from, to time.Time) (Window, error) {
	s.mu.Lock()
	segs := slices.Clone(s.segments)
	recent := slices.Clone(s.recent)
	flushed, last := s.flushed, s.seq
	s.mu.Unlock()
	w := s.window(last)
	w.From, w.To = from, to
	if len(segs) > 0 {
		w.KeptFrom = segs[0].start
	}
	c := newCollector(from, to)
	onDisk := map[int64]bool{}
	for _, path := range overlapping(segs, from, to) {
		err := readSegment(path, func(e Entry) {
			if e.Seq > flushed {
				onDisk[e.Seq] = true
			}
			c.add(e)
		})
		if err != nil {
			return Window{}, err
		}
	}
	for _, e := range recent {
		if e.Seq > flushed && !onDisk[e.Seq] {
			c.add(e)
		}
	}
	c.fill(&w)
	return w, nil
}

// overlapping lists the paths of the segments that may hold entries
// between from and to.
func overlapping(segs []segment, from, to time.Time) []string {
	var paths []string
	for i, seg := range segs {
		end := time.Time{}
		if i+1 < len(segs) {
			end = segs[i+1].start
		}
		if !seg.start.After(to.Add(slack)) && (end.IsZero() || !end.Before(from.Add(-slack))) {
			paths = append(paths, seg.path)
		}
	}
	return paths
}

// Since returns the entries after seq, from memory; ok is false when
// some of them are no longer there (the page should load its window
// again).
func (s *Store) Since(seq int64) (w Window, ok bool) {
	s.mu.Lock()
	recent := slices.Clone(s.recent)
	last := s.seq
	s.mu.Unlock()
	w = s.window(last)
	w.After = seq
	if seq > last || (len(recent) > 0 && recent[0].Seq > seq+1) {
		return w, false
	}
	c := newCollector(time.Time{}, time.Time{})
	for _, e := range recent {
		if e.Seq > seq {
			c.add(e)
		}
	}
	c.fill(&w)
	return w, true
}

func (s *Store) window(last int64) Window {
	return Window{Time: s.opts.Now(), Boot: s.boot, LastSeq: last, States: []State{}, Outcomes: []Outcome{},
		Deliveries: []Summary{}, Unfinished: []Summary{}}
}

// collector sorts entries into a window; zero bounds take everything.
type collector struct {
	from, to   time.Time
	before     map[string]State // by cluster: the latest state before from
	order      []string         // clusters of before, in order seen
	states     []State
	outcomes   []Outcome
	deliveries []Summary
}

func newCollector(from, to time.Time) *collector {
	return &collector{from: from, to: to, before: map[string]State{}}
}

func (c *collector) add(e Entry) {
	t := e.Time()
	if !c.to.IsZero() && t.After(c.to) {
		return
	}
	if e.Checkpoint && !t.Before(c.from) {
		return // a copy of a state in the window, read from its own segment
	}
	if e.State != nil && (e.Checkpoint || (!c.from.IsZero() && t.Before(c.from))) {
		if _, ok := c.before[e.State.Cluster]; !ok {
			c.order = append(c.order, e.State.Cluster)
		}
		c.before[e.State.Cluster] = *e.State
		return
	}
	if !c.from.IsZero() && t.Before(c.from) {
		return
	}
	switch {
	case e.State != nil:
		c.states = append(c.states, *e.State)
	case e.Outcome != nil:
		c.outcomes = append(c.outcomes, *e.Outcome)
	case e.Delivery != nil:
		c.deliveries = append(c.deliveries, *e.Delivery)
	}
}

func (c *collector) fill(w *Window) {
	for _, cluster := range c.order {
		w.States = append(w.States, c.before[cluster])
	}
	w.States = append(w.States, c.states...)
	w.Outcomes = append(w.Outcomes, c.outcomes...)
	w.Deliveries = append(w.Deliveries, c.deliveries...)
}
