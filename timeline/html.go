package timeline

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/history"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/web"
)

// HTML is a pipeline.Sink that keeps what a replay decided, and what each
// member reported, for an incident report: one self-contained page
// (`replay --format html`). With --execute it is also the dispatcher's
// Auditor, for the deliveries' outcomes.
type HTML struct {
	mu      sync.Mutex
	data    reportData
	members map[string]*memberLane
	last    map[string]detector.MemberReport
	records []*history.Delivery
}

// reportData is what the report's script draws: the same states, outcomes
// and deliveries as GET /v1/history, and the members' own reports.
type reportData struct {
	Title      string            `json:"title"`
	Cluster    string            `json:"cluster"`
	From       time.Time         `json:"from"`
	To         time.Time         `json:"to"`
	Stabilize  string            `json:"stabilize"`
	Executed   bool              `json:"executed"`
	States     []history.State   `json:"states"`
	Splits     []history.Split   `json:"splits"`
	Outcomes   []history.Outcome `json:"outcomes"`
	Deliveries []history.Summary `json:"deliveries"`
	Members    []*memberLane     `json:"members"`
}

type memberLane struct {
	ID      string         `json:"id"`
	Reports []memberReport `json:"reports"`
}

// memberReport is a change in what a member said, or in what leaderhook
// concluded of it.
type memberReport struct {
	Time    time.Time `json:"time"`
	Follows string    `json:"follows"`
	Down    bool      `json:"down,omitempty"`
	Unknown bool      `json:"unknown,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

// NewHTML starts the report of one cluster.
func NewHTML(cluster string, stabilize time.Duration, executed bool) *HTML {
	return &HTML{data: reportData{Cluster: cluster, Stabilize: stabilize.String(), Executed: executed, States: []history.State{},
		Splits: []history.Split{}, Outcomes: []history.Outcome{}, Members: []*memberLane{}}, members: map[string]*memberLane{}, last: map[string]detector.MemberReport{}}
}

// State keeps a change of leader, and a split brain and its end apart
// from those: as states, the timeline would draw them as outages.
func (h *HTML) State(ev event.Event) {
	switch e := history.StateOf(ev); {
	case e.Split != nil:
		h.data.Splits = append(h.data.Splits, *e.Split)
	case ev.Type == event.HasLeader || ev.Type == event.Leaderless:
		h.data.States = append(h.data.States, *e.State)
	}
}

// Outcome keeps a rule outcome.
func (h *HTML) Outcome(o rules.Outcome) {
	h.data.Outcomes = append(h.data.Outcomes, *history.OutcomeOf(o).Outcome)
}

// Record keeps a delivery's record (--execute).
func (h *HTML) Record(r dispatch.Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, history.DeliveryOf(r))
}

// Members keeps what changed in the members' reports at an instant: call
// it after each event with the cluster view's state.
func (h *HTML) Members(at time.Time, st detector.State) {
	if h.data.From.IsZero() {
		h.data.From = at
	}
	h.data.To = at
	for _, id := range sortedMembers(st) {
		r := st.Reports[id]
		old, seen := h.last[id]
		if seen && old.Follows == r.Follows && old.Down == r.Down && old.Unknown == r.Unknown && old.Reason == r.Reason {
			continue
		}
		h.last[id] = r
		lane := h.members[id]
		if lane == nil {
			lane = &memberLane{ID: id}
			h.members[id] = lane
			h.data.Members = append(h.data.Members, lane)
		}
		lane.Reports = append(lane.Reports, memberReport{Time: at, Follows: r.Follows, Down: r.Down, Unknown: r.Unknown, Reason: r.Reason})
	}
}

func sortedMembers(st detector.State) []string {
	ids := make([]string, 0, len(st.Reports))
	for id, r := range st.Reports {
		if !r.Last.IsZero() || r.Down || r.Unknown {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Write writes the report, titled, as one page that loads nothing.
func (h *HTML) Write(w io.Writer, title string, end time.Time) error {
	h.mu.Lock()
	h.data.Deliveries = history.Summarize(h.records)
	h.mu.Unlock()
	h.data.Title = title
	if end.After(h.data.To) {
		h.data.To = end
	}
	slices.SortFunc(h.data.Members, func(a, b *memberLane) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	data, err := json.Marshal(h.data)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return web.WriteReport(w, title, data)
}
