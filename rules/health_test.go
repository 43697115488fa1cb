package rules

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// Every variable a health report sets is one that makes a rule evaluated
// on health reports: a rule reading one left out would never see it change
// until the next cluster state.
func TestHealthNamesCoverHealthVariables(t *testing.T) {
	cs := &clusterState{env: map[string]any{}}
	cs.setHealth(event.Health{})
	for name := range cs.env {
		if !slices.Contains(healthNames, name) {
			t.Errorf("setHealth sets %s, which healthNames lacks", name)
		}
	}
}

// On a health report only the rules that read what one changes are
// evaluated; the outcomes are those of evaluating every rule.
func TestHealthEvaluatesRulesThatReadIt(t *testing.T) {
	rules := []Rule{
		{Name: "few-up", When: "members_up < 2", Actions: []string{"a"}},
		{Name: "on-health", When: `trigger == "health" && leader_id == "a"`, Actions: []string{"a"}},
		{Name: "leader-a", When: `leader_id == "a"`, Actions: []string{"a"}},
		{Name: "untimed", When: `leader_for.Seconds() > 30`, Actions: []string{"a"}},
	}
	e, err := New(Options{Rules: rules, Clusters: []Cluster{{Name: "c1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range e.rules {
		want := r.Name != "leader-a"
		if r.readsHealth != want {
			t.Errorf("%s: readsHealth %v, want %v", r.Name, r.readsHealth, want)
		}
	}
	e.SetHealth("c1", event.Health{MembersUp: 3, MembersTotal: 3})
	ev := event.Event{Source: event.DetectorSource, Cluster: "c1", Type: event.HasLeader, LeaderID: "a", Time: t0, Since: t0, Baseline: true}
	out := e.Observe(ev, nil)
	out = e.Health("c1", event.Health{MembersUp: 1, MembersTotal: 3}, t0.Add(time.Minute), out)
	var fired []string
	for _, o := range out {
		if o.Kind == Fired {
			fired = append(fired, o.Rule)
		}
	}
	if want := []string{"few-up", "on-health", "untimed"}; !slices.Equal(fired, want) {
		t.Errorf("fired %v on a health report, want %v", fired, want)
	}
}

// An outcome carries its state's fields, as the expressions' event read
// them: the notification's event, computed once per state change.
func TestOutcomeCarriesStateFields(t *testing.T) {
	rules := []Rule{{Name: "any", When: `event.leaderId == "b"`, Actions: []string{"a"}}}
	e, err := New(Options{Rules: rules, Clusters: []Cluster{{Name: "c1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ev := event.Event{Source: event.DetectorSource, Cluster: "c1", Type: event.HasLeader, LeaderID: "a", Time: t0, Since: t0, Baseline: true}
	out := e.Observe(ev, nil)
	ev = event.Event{Source: event.DetectorSource, Cluster: "c1", Type: event.HasLeader, LeaderID: "b", PreviousLeaderID: "a", Term: 4, Time: t0.Add(time.Second), Since: t0.Add(time.Second)}
	out = e.Observe(ev, out)
	if len(out) != 1 || out[0].Kind != Fired {
		t.Fatalf("outcomes %+v, want one firing", out)
	}
	want := out[0].State.Fields()
	if !maps.EqualFunc(out[0].Event, want, func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
		t.Errorf("outcome's event %v, want its state's fields %v", out[0].Event, want)
	}
}
