package metrics_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/metrics"
)

// A sender naming a new source in every event does not grow the series
// without end: past MaxSources a cluster's new sources count as one, and
// a forgotten cluster's bound starts again.
func TestSourceLabelsAreBounded(t *testing.T) {
	m := metrics.New(nil, nil)
	for i := range metrics.MaxSources + 50 {
		m.Event(event.Event{Cluster: "c1", Source: fmt.Sprintf("s%d", i), Type: event.HasLeader})
	}
	m.Event(event.Event{Cluster: "c1", Source: "s0", Type: event.HasLeader}) // known: keeps its own
	m.Event(event.Event{Cluster: "c2", Source: "x", Type: event.HasLeader})
	series := map[string]int{}
	others := 0.0
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "leaderhook_events_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			series[labels["cluster"]]++
			if labels["source"] == metrics.OtherSource {
				others += s.GetCounter().GetValue()
			}
		}
	}
	if series["c1"] != metrics.MaxSources+1 || series["c2"] != 1 || others != 50 {
		t.Errorf("series by cluster %v, %v events as %q; want %d for c1 (the bound and %q), 1 for c2, 50 as %q",
			series, others, metrics.OtherSource, metrics.MaxSources+1, metrics.OtherSource, metrics.OtherSource)
	}
}

// A cluster none of whose members is known yet (an event source that has
// not reported) has no quorum margin: -1 would say its majority is gone.
func TestQuorumMarginAbsentWithoutMembers(t *testing.T) {
	tests := []struct {
		name   string
		health event.Health
		want   []float64 // the margin's value, none when absent
	}{
		{"no member known", event.Health{}, nil},
		{"majority up", event.Health{MembersUp: 2, MembersTotal: 3}, []float64{0}},
		{"majority gone", event.Health{MembersUp: 1, MembersTotal: 3}, []float64{-1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New(nil, nil)
			m.Members(time.Now(), nil, map[string]event.Health{"c": tc.health})
			families, err := m.Registry.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			for _, f := range families {
				if f.GetName() == "leaderhook_cluster_quorum_margin" {
					for _, s := range f.GetMetric() {
						got = append(got, s.GetGauge().GetValue())
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("leaderhook_cluster_quorum_margin %v, want %v", got, tc.want)
			}
		})
	}
}

// Members learned from the events' sources are as many as the sources a
// sender names: their series are bounded like the source label, to the
// first MaxSources members by name.
func TestMemberSeriesAreBounded(t *testing.T) {
	var members []metrics.MemberState
	for i := range metrics.MaxSources + 50 {
		members = append(members, metrics.MemberState{Name: fmt.Sprintf("m%03d", i), Kind: "down", LastReport: time.Now()})
	}
	slices.Reverse(members)
	m := metrics.New(nil, nil)
	m.Members(time.Now(), map[string][]metrics.MemberState{"c": members}, nil)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"leaderhook_member_up", "leaderhook_member_report_age_seconds", "leaderhook_member_error"} {
		var got []string
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "member" {
						got = append(got, l.GetValue())
					}
				}
			}
		}
		slices.Sort(got)
		if len(got) != metrics.MaxSources || got[0] != "m000" || got[len(got)-1] != fmt.Sprintf("m%03d", metrics.MaxSources-1) {
			t.Errorf("%s: %d series (%v ...), want the first %d members by name", name, len(got), got[:min(3, len(got))], metrics.MaxSources)
		}
	}
}
