package history

import (
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// An overview is a window as the page draws it at a scale, step being the
// time one pixel spans: what cannot be told apart at that scale is merged,
// so that a week of many clusters stays small to send and to draw. The
// details of a mark are for a query about its cluster and its times.

// Span kinds: a leader's tenure, an outage, or a run of changes merged.
const (
	SpanLeader = "leader"
	SpanOutage = "outage"
	SpanBusy   = "busy"
)

// Span is a stretch of a cluster's timeline: what a state change began,
// until the next one.
type Span struct {
	Cluster string    `json:"cluster"`
	Kind    string    `json:"kind"`
	Start   time.Time `json:"start"`             // of an outage, its true start
	Stop    time.Time `json:"stop,omitzero"`     // zero while it lasts
	Changes int       `json:"changes,omitempty"` // of a busy span: the state changes merged
	// Of a single change: the leader, the one before, and when an outage
	// was announced.
	LeaderID         string    `json:"leader_id,omitempty"`
	PreviousLeaderID string    `json:"previous_leader_id,omitempty"`
	Announced        time.Time `json:"announced,omitzero"`
}

// Mark stands for a cluster's outcomes within one step of time.
type Mark struct {
	Cluster  string         `json:"cluster"`
	First    time.Time      `json:"first"`
	Last     time.Time      `json:"last"`
	Outcomes map[string]int `json:"outcomes"` // by kind: fired, resolved…
	Rules    []string       `json:"rules"`
}

// spanOf is the span a state change begins, as the page's timeline draws
// it: an outage from its true start.
func spanOf(st State) Span {
	sp := Span{Cluster: st.Cluster, Kind: SpanLeader, Start: st.Time, LeaderID: st.LeaderID, PreviousLeaderID: st.PreviousLeaderID}
	if st.Type != event.HasLeader {
		sp.Kind, sp.LeaderID = SpanOutage, ""
		if !st.Since.IsZero() && !st.Since.Equal(st.Time) {
			sp.Start, sp.Announced = st.Since, st.Time
		}
	}
	return sp
}

// spansOf turns the states of a window, each cluster's in order, into
// spans at a step, cluster by cluster in the order first seen.
func spansOf(states []State, step time.Duration) []Span {
	var order []string
	byCluster := map[string][]State{}
	for _, st := range states {
		if _, ok := byCluster[st.Cluster]; !ok {
			order = append(order, st.Cluster)
		}
		byCluster[st.Cluster] = append(byCluster[st.Cluster], st)
	}
	spans := []Span{}
	for _, cluster := range order {
		spans = append(spans, laneSpans(byCluster[cluster], step)...)
	}
	return spans
}

// laneSpans merges a run of spans each shorter than step into one busy
// span, as the page merges bars thinner than a pixel. A short span alone
// (an outage of seconds between long tenures) stays, so that it is seen.
func laneSpans(states []State, step time.Duration) []Span {
	var out []Span
	for i, st := range states {
		sp := spanOf(st)
		if i+1 < len(states) {
			sp.Stop = spanOf(states[i+1]).Start
		}
		if n := len(out); n > 0 && sp.shorter(step) && out[n-1].shorter(step) {
			out[n-1].absorb(sp)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func (sp Span) shorter(step time.Duration) bool {
	return !sp.Stop.IsZero() && sp.Stop.Sub(sp.Start) < step
}

// absorb merges the next span into sp, which becomes busy.
func (sp *Span) absorb(next Span) {
	if sp.Kind != SpanBusy {
		*sp = Span{Cluster: sp.Cluster, Kind: SpanBusy, Start: sp.Start, Changes: 1}
	}
	sp.Stop = next.Stop
	sp.Changes++
}

// markSet gathers outcomes into marks: one per cluster and step of time
// since the epoch, so that marks stay put as the window moves.
type markSet struct {
	step  time.Duration
	index map[markKey]int
	marks []Mark
}

type markKey struct {
	cluster string
	bucket  int64
}

func newMarkSet(step time.Duration) *markSet {
	return &markSet{step: step, index: map[markKey]int{}, marks: []Mark{}}
}

func (m *markSet) add(o Outcome) {
	key := markKey{o.Cluster, o.Time.UnixNano() / int64(m.step)}
	i, ok := m.index[key]
	if !ok {
		i = len(m.marks)
		m.index[key] = i
		m.marks = append(m.marks, Mark{Cluster: o.Cluster, First: o.Time, Last: o.Time, Outcomes: map[string]int{}, Rules: []string{}})
	}
	mk := &m.marks[i]
	mk.Outcomes[o.Outcome]++
	if o.Time.Before(mk.First) {
		mk.First = o.Time
	}
	if o.Time.After(mk.Last) {
		mk.Last = o.Time
	}
	if !slices.Contains(mk.Rules, o.Rule) {
		mk.Rules = append(mk.Rules, o.Rule)
	}
}
