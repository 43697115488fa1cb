package rules

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

func TestMergeLabels(t *testing.T) {
	prod := map[string]string{"env": "prod", "team": "core"}
	cases := []struct {
		name          string
		cluster, rule map[string]string
		want          map[string]string
	}{
		{"neither", nil, nil, nil},
		{"the cluster's only", prod, nil, prod},
		{"an empty rule map", prod, map[string]string{}, prod},
		{"the rule's only", nil, map[string]string{"severity": "critical"}, map[string]string{"severity": "critical"}},
		{"both, apart", prod, map[string]string{"severity": "critical"},
			map[string]string{"env": "prod", "team": "core", "severity": "critical"}},
		{"a clash: the rule's wins", prod, map[string]string{"team": "db", "severity": "critical"},
			map[string]string{"env": "prod", "team": "db", "severity": "critical"}},
		{"an empty value wins too", prod, map[string]string{"team": ""},
			map[string]string{"env": "prod", "team": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cluster, rule := maps.Clone(tc.cluster), maps.Clone(tc.rule)
			got := MergeLabels(tc.cluster, tc.rule)
			if !maps.Equal(got, tc.want) {
				t.Errorf("MergeLabels(%v, %v) = %v, want %v", tc.cluster, tc.rule, got, tc.want)
			}
			if !maps.Equal(cluster, tc.cluster) || !maps.Equal(rule, tc.rule) {
				t.Errorf("MergeLabels changed its arguments: %v %v", tc.cluster, tc.rule)
			}
		})
	}
}

func TestLabelErrors(t *testing.T) {
	cases := []struct {
		labels map[string]string
		want   []string // "path: message prefix"
	}{
		{map[string]string{"severity": "critical", "team_2": "db", "_x": "", "A": "b"}, nil},
		{map[string]string{"alertname": "x", "cluster": "y"}, []string{
			`rules[0].labels.alertname: label "alertname" is reserved`,
			`rules[0].labels.cluster: label "cluster" is reserved`,
		}},
		{map[string]string{"2fa": "x", "app.kubernetes.io/name": "y", "team-name": "z", "": "e", "sévérité": "s"}, []string{
			`rules[0].labels.: label name ""`,
			`rules[0].labels.2fa: label name "2fa"`,
			`rules[0].labels.app.kubernetes.io/name: label name "app.kubernetes.io/name"`,
			`rules[0].labels.sévérité: label name "sévérité"`,
			`rules[0].labels.team-name: label name "team-name"`,
		}},
		// Names are case-sensitive, as Prometheus's.
		{map[string]string{"Alertname": "x"}, nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.labels), func(t *testing.T) {
			errs, _ := Check([]Rule{{Name: "r", When: "leaderless", Actions: acts("page"), Labels: tc.labels}}, nil, Known{})
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(tc.want), errs)
			}
			for i, e := range errs {
				if got := e.Path + ": " + e.Msg; !strings.HasPrefix(got, tc.want[i]) {
					t.Errorf("error %d:\n got: %s\nwant: %s...", i, got, tc.want[i])
				}
			}
		})
	}
}

// Every outcome of a rule carries the cluster's labels with the rule's
// over them, while its expressions see the cluster's labels alone.
func TestOutcomeLabels(t *testing.T) {
	e, err := New(Options{Rules: []Rule{
		{Name: "page", When: `leaderless && labels.team == "core" && !("severity" in labels)`, Actions: acts("pd"), OnResolve: acts("pd"),
			Labels: map[string]string{"severity": "critical", "team": "db"}},
		{Name: "chat", When: `leaderless`, Actions: acts("chat"), OnResolve: acts("chat")},
	}, Clusters: []Cluster{{Name: "c1", Labels: map[string]string{"env": "prod", "team": "core"}}}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(at time.Duration, typ, id, prev string) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id, PreviousLeaderID: prev, Since: t0.Add(at)}
	}
	out := e.Observe(mk(0, event.HasLeader, "a", ""), nil)
	out = e.Observe(mk(10*time.Second, event.Leaderless, "", "a"), out)
	out = e.Observe(mk(20*time.Second, event.HasLeader, "b", "a"), out)
	paged := map[string]string{"env": "prod", "team": "db", "severity": "critical"}
	chat := map[string]string{"env": "prod", "team": "core"}
	want := []struct {
		rule, kind string
		labels     map[string]string
	}{
		{"page", Fired, paged},
		{"chat", Fired, chat},
		{"page", Resolved, paged},
		{"chat", Resolved, chat},
	}
	if len(out) != len(want) {
		t.Fatalf("got %d outcomes, want %d: %+v", len(out), len(want), out)
	}
	for i, w := range want {
		if o := out[i]; o.Rule != w.rule || o.Kind != w.kind || !maps.Equal(o.Labels, w.labels) {
			t.Errorf("outcome %d: %s %s with labels %v, want %+v", i, o.Rule, o.Kind, o.Labels, w)
		}
	}
}

// A reload that changes only a rule's labels keeps the rule's state: a
// firing rule does not fire again, and its resolve has the new labels.
func TestRelabeledRuleKeepsItsState(t *testing.T) {
	rule := Rule{Name: "nl", When: `leaderless`, Actions: acts("page"), OnResolve: acts("page"), Labels: map[string]string{"severity": "critical"}}
	mk := func(at time.Duration, typ, id, prev string) event.Event {
		return event.Event{Source: event.DetectorSource, Cluster: "c1", Time: t0.Add(at), Type: typ, LeaderID: id, PreviousLeaderID: prev, Since: t0.Add(at)}
	}
	e1, err := New(Options{Rules: []Rule{rule}})
	if err != nil {
		t.Fatal(err)
	}
	out := e1.Observe(mk(0, event.HasLeader, "a", ""), nil)
	if out = e1.Observe(mk(10*time.Second, event.Leaderless, "", "a"), out); len(out) != 1 || out[0].Kind != Fired {
		t.Fatalf("before the reload: %+v", out)
	}
	rule.Labels = map[string]string{"severity": "warning"}
	e2, err := New(Options{Rules: []Rule{rule}})
	if err != nil {
		t.Fatal(err)
	}
	e2.Restore(e1.Snapshot())
	out = e2.Advance(t0.Add(time.Minute), nil)
	out = e2.Observe(mk(2*time.Minute, event.HasLeader, "b", "a"), out)
	if len(out) != 1 || out[0].Kind != Resolved || out[0].Labels["severity"] != "warning" {
		t.Errorf("after the reload: %+v, want only a resolve with severity warning", out)
	}
}
