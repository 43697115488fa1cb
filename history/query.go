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
	// Cluster: the window holds this cluster's entries only.
	Cluster string `json:"cluster,omitempty"`
	// StepMS: the window is an overview at this step (overview.go): spans
	// and marks instead of states and outcomes, and of the deliveries
	// that ended only the failed ones.
	StepMS int64 `json:"step_ms,omitempty"`
	// States holds, for each cluster, the last state before From (the one
	// in force at From), then the state changes in the window.
	States []State `json:"states,omitempty"`
	// Splits holds, for each cluster, the start of a split brain in force
	// at From, then the starts and ends of split brains in the window;
	// overviews hold them too (they are few).
	Splits   []Split   `json:"splits,omitempty"`
	Outcomes []Outcome `json:"outcomes,omitempty"`
	// Deliveries are those that ended in the window.
	Deliveries []Summary `json:"deliveries,omitempty"`
	// Unfinished are the deliveries under way now, whenever they began.
	Unfinished []Summary `json:"unfinished,omitempty"`
	// Spans and Marks are an overview's, in the place of States and
	// Outcomes.
	Spans []Span `json:"spans,omitempty"`
	Marks []Mark `json:"marks,omitempty"`
}

// Filter narrows a window; its zero value takes all of it.
type Filter struct {
	Cluster string        // only this cluster's entries
	Step    time.Duration // an overview at this step
}

// slack widens the segments read for a window: entries carry their
// events' times, which may be a little off the clock that dates segments.
const slack = time.Minute

// Query returns the history between from and to, narrowed by f.
func (s *Store) Query(from, to time.Time, f Filter) (Window, error) {
	s.mu.Lock()
	segs := slices.Clone(s.segments)
	recent := slices.Clone(s.recent)
	flushed, last := s.flushed, s.seq
	s.mu.Unlock()
	w := s.window(last)
	w.From, w.To, w.Cluster, w.StepMS = from, to, f.Cluster, f.Step.Milliseconds()
	if len(segs) > 0 {
		w.KeptFrom = segs[0].start
	}
	c := newCollector(from, to, f)
	wanted := wantedLines(f)
	onDisk := map[int64]bool{}
	err := readSegments(overlapping(segs, from, to), wanted, func(e Entry) {
		if e.Seq > last {
			return // written while the disk was read: it follows LastSeq, for ?after=
		}
		if e.Seq > flushed {
			onDisk[e.Seq] = true
		}
		c.add(e)
	})
	if err != nil {
		return Window{}, err
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
	c := newCollector(time.Time{}, time.Time{}, Filter{})
	for _, e := range recent {
		if e.Seq > seq {
			c.add(e)
		}
	}
	c.fill(&w)
	return w, true
}

func (s *Store) window(last int64) Window {
	return Window{Time: s.opts.Now(), Boot: s.boot, LastSeq: last, States: []State{}, Splits: []Split{}, Outcomes: []Outcome{},
		Deliveries: []Summary{}, Unfinished: []Summary{}, Spans: []Span{}, Marks: []Mark{}}
}

// collector sorts entries into a window; zero bounds take everything.
type collector struct {
	from, to   time.Time
	filter     Filter
	before     map[string]State // by cluster: the latest state before from
	order      []string         // clusters of before, in order seen
	states     []State
	splitsAt   map[string]Split // by cluster: the latest split entry before from
	splitOrder []string         // clusters of splitsAt, in order seen
	splits     []Split
	// Checkpoints dated in the window stand for their original entries,
	// which a dropped segment may have held: each is taken once, and left
	// out in fill if its original was read too.
	copies     map[entryKey]int // index in states or splits of each copy taken
	originals  map[entryKey]bool
	outcomes   []Outcome
	marks      *markSet // of an overview, instead of outcomes
	deliveries []Summary
}

func newCollector(from, to time.Time, f Filter) *collector {
	c := &collector{from: from, to: to, filter: f, before: map[string]State{}, splitsAt: map[string]Split{},
		copies: map[entryKey]int{}, originals: map[entryKey]bool{}}
	if f.Step > 0 {
		c.marks = newMarkSet(f.Step)
	}
	return c
}

func (c *collector) add(e Entry) {
	t := e.Time()
	if (!c.to.IsZero() && t.After(c.to)) || (c.filter.Cluster != "" && e.Cluster() != c.filter.Cluster) {
		return
	}
	if e.Checkpoint && !t.Before(c.from) {
		c.addCopy(e)
		return
	}
	if e.State != nil && (e.Checkpoint || (!c.from.IsZero() && t.Before(c.from))) {
		if _, ok := c.before[e.State.Cluster]; !ok {
			c.order = append(c.order, e.State.Cluster)
		}
		c.before[e.State.Cluster] = *e.State
		return
	}
	if e.Split != nil && (e.Checkpoint || (!c.from.IsZero() && t.Before(c.from))) {
		if _, ok := c.splitsAt[e.Split.Cluster]; !ok {
			c.splitOrder = append(c.splitOrder, e.Split.Cluster)
		}
		c.splitsAt[e.Split.Cluster] = *e.Split
		return
	}
	if !c.from.IsZero() && t.Before(c.from) {
		return
	}
	switch {
	case e.State != nil:
		c.originals[keyOf(e)] = true
		c.states = append(c.states, *e.State)
	case e.Split != nil:
		c.originals[keyOf(e)] = true
		c.splits = append(c.splits, *e.Split)
	case e.Outcome != nil && c.marks != nil:
		c.marks.add(*e.Outcome)
	case e.Outcome != nil:
		c.outcomes = append(c.outcomes, *e.Outcome)
	case e.Delivery != nil && (c.marks == nil || e.Delivery.State == Failed):
		c.deliveries = append(c.deliveries, *e.Delivery)
	}
}

// entryKey tells a state or split entry from another of its cluster.
type entryKey struct {
	cluster, kind string
	split         bool
	nanos         int64
}

func keyOf(e Entry) entryKey {
	if e.Split != nil {
		return entryKey{cluster: e.Split.Cluster, kind: e.Split.Type, split: true, nanos: e.Split.Time.UnixNano()}
	}
	return entryKey{cluster: e.State.Cluster, kind: e.State.Type, nanos: e.State.Time.UnixNano()}
}

// addCopy takes a checkpoint dated in the window, where its original
// would have been read, unless that original was read already.
func (c *collector) addCopy(e Entry) {
	k := keyOf(e)
	if _, ok := c.copies[k]; ok || c.originals[k] {
		return
	}
	if e.Split != nil {
		c.copies[k] = len(c.splits)
		c.splits = append(c.splits, *e.Split)
		return
	}
	c.copies[k] = len(c.states)
	c.states = append(c.states, *e.State)
}

// withoutCopiesRead drops from list the copies whose original was read
// after them.
func withoutCopiesRead[T any](c *collector, list []T, split bool) []T {
	drop := map[int]bool{}
	for k, i := range c.copies {
		if k.split == split && c.originals[k] {
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return list
	}
	kept := make([]T, 0, len(list))
	for i, v := range list {
		if !drop[i] {
			kept = append(kept, v)
		}
	}
	return kept
}

func (c *collector) fill(w *Window) {
	states := make([]State, 0, len(c.order)+len(c.states))
	for _, cluster := range c.order {
		states = append(states, c.before[cluster])
	}
	states = append(states, withoutCopiesRead(c, c.states, false)...)
	c.splits = withoutCopiesRead(c, c.splits, true)
	for _, cluster := range c.splitOrder {
		if sp := c.splitsAt[cluster]; sp.open() {
			w.Splits = append(w.Splits, sp)
		}
	}
	w.Splits = append(w.Splits, c.splits...)
	w.Deliveries = append(w.Deliveries, c.deliveries...)
	if c.marks != nil {
		w.Spans = spansOf(states, c.filter.Step)
		w.Marks = c.marks.marks
		return
	}
	w.States = append(w.States, states...)
	w.Outcomes = append(w.Outcomes, c.outcomes...)
}
