package timeline

import (
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

func TestHTMLReportKeepsMembersStatesAndOutcomes(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 13, 56, 0, 0, time.UTC)
	h := NewHTML("ziti", 2*time.Second, false)
	h.Members(t0, detector.State{Reports: map[string]detector.MemberReport{"c1": {Follows: "c1", Last: t0}, "c2": {Follows: "c1", Last: t0}}})
	h.Members(t0.Add(time.Second), detector.State{Reports: map[string]detector.MemberReport{"c1": {Follows: "c1", Last: t0}, "c2": {Follows: "c1", Last: t0.Add(time.Second)}}})
	h.Members(t0.Add(2*time.Second), detector.State{Reports: map[string]detector.MemberReport{"c1": {Down: true}, "c2": {Last: t0.Add(2 * time.Second)}}})
	h.State(event.Event{Time: t0, Cluster: "ziti", Type: event.HasLeader, LeaderID: "c1", Since: t0, Baseline: true})
	h.Outcome(rules.Outcome{Time: t0.Add(3 * time.Second), Cluster: "ziti", Rule: "lost", Kind: rules.Fired, Actions: []string{"hook"}})
	var b strings.Builder
	if err := h.Write(&b, "Incident report: ziti", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`"id":"c1","reports":[{"time":"2026-11-24T13:56:00Z","follows":"c1"},{"time":"2026-11-24T13:56:02Z","follows":"","down":true}]`,
		`"rule":"lost","outcome":"fired"`, `"to":"2026-11-24T13:57:00Z"`, `"stabilize":"2s"`, "<title>Incident report: ziti</title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
}

// A split brain and its end are announced as states, but the report's
// timeline draws every state but a leader's as an outage: the report
// keeps them as splits, which it draws over the leader's bar, with who
// claimed the lead.
func TestHTMLReportKeepsASplitBrainApartFromTheStates(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 13, 56, 0, 0, time.UTC)
	h := NewHTML("ziti", 2*time.Second, false)
	h.State(event.Event{Source: event.DetectorSource, Time: t0, Cluster: "ziti", Type: event.HasLeader, LeaderID: "c1", Since: t0, Baseline: true})
	h.State(event.Event{Source: event.DetectorSource, Time: t0.Add(5 * time.Second), Cluster: "ziti", Type: event.SplitBrain, LeaderID: "c1",
		Since: t0.Add(2 * time.Second), Leaders: []event.Claim{{ID: "c1", Term: 4}, {ID: "c3", Term: 3}}})
	h.State(event.Event{Source: event.DetectorSource, Time: t0.Add(9 * time.Second), Cluster: "ziti", Type: event.SplitBrainResolved, LeaderID: "c1"})
	var b strings.Builder
	if err := h.Write(&b, "Incident report: ziti", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`"states":[{"time":"2026-11-24T13:56:00Z","cluster":"ziti","type":"state.has_leader","leader_id":"c1","since":"2026-11-24T13:56:00Z","baseline":true}]`,
		`"splits":[{"time":"2026-11-24T13:56:05Z","cluster":"ziti","type":"state.split_brain","leaders":["c1","c3"],"since":"2026-11-24T13:56:02Z"},` +
			`{"time":"2026-11-24T13:56:09Z","cluster":"ziti","type":"state.split_brain_resolved"}]`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %s", want)
		}
	}
}
