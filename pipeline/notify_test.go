package pipeline

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// submitted keeps the notifications submitted to it.
type submitted struct{ got []actions.Notification }

func (s *submitted) Submit(n actions.Notification, _ []string) error {
	s.got = append(s.got, n)
	return nil
}

const labelsConfig = `
clusters:
  - name: c1
    labels: {env: prod, team: core}
    source: {type: events, http: true}
actions:
  pd: {type: webhook, url: "http://127.0.0.1:9/pd"}
  chat: {type: webhook, url: "http://127.0.0.1:9/chat"}
rules:
  - name: page
    when: leaderless && labels.team == "core"
    actions: [pd]
    on_resolve: [pd]
    labels: {severity: critical, team: db}
  - name: chat
    when: leaderless
    actions: [chat]
`

// A rule's labels, from the config, reach its notifications over the
// cluster's, in the payload and in templates; a rule without labels sends
// the cluster's.
func TestNotificationLabels(t *testing.T) {
	cfg, _, err := config.Parse("labels.yaml", []byte(labelsConfig), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	sub := &submitted{}
	d, err := New(cfg, "c1", &Dispatching{Next: &recorder{}, To: sub}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := at("13:00:00")
	for i, typ := range []string{event.HasLeader, event.Leaderless, event.HasLeader} {
		leader := map[string]string{event.HasLeader: "a"}[typ]
		d.Handle(event.Event{Source: "a", Type: typ, LeaderID: leader, Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	paged := map[string]string{"env": "prod", "team": "db", "severity": "critical"}
	want := []struct {
		rule, status string
		labels       map[string]string
	}{
		{"page", actions.StatusFiring, paged},
		{"chat", actions.StatusFiring, map[string]string{"env": "prod", "team": "core"}},
		{"page", actions.StatusResolved, paged},
	}
	if len(sub.got) != len(want) {
		t.Fatalf("got %d notifications, want %d: %+v", len(sub.got), len(want), sub.got)
	}
	tmpl, err := actions.ParseTemplate("t", `{{ .Labels.severity }}/{{ .Labels.team }}`)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		n := sub.got[i]
		var payload struct {
			Labels map[string]string `json:"labels"`
		}
		body, _ := n.Payload()
		if err := json.Unmarshal(body, &payload); err != nil {
			t.Fatal(err)
		}
		if n.Rule != w.rule || n.Status != w.status || !maps.Equal(n.Labels, w.labels) || !maps.Equal(payload.Labels, w.labels) {
			t.Errorf("notification %d: %s %s labels %v, payload labels %v; want %+v", i, n.Rule, n.Status, n.Labels, payload.Labels, w)
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, &n); w.rule == "page" && (err != nil || b.String() != "critical/db") {
			t.Errorf("notification %d: template gave %q, %v", i, b.String(), err)
		}
	}
}

// A notification's event is the outcome's, as the engine computed it once
// for the state change; an outcome made elsewhere gets its state's fields.
func TestNotificationEvent(t *testing.T) {
	state := event.Event{Source: event.DetectorSource, Cluster: "c1", Type: event.HasLeader, LeaderID: "b", Time: at("13:00:00")}
	shared := map[string]any{"leaderId": "b", "from_the_engine": true}
	if n := Notification(rules.Outcome{Kind: rules.Fired, State: state, Event: shared}, false); n.Event["from_the_engine"] != true {
		t.Errorf("event %v, want the outcome's", n.Event)
	}
	if n := Notification(rules.Outcome{Kind: rules.Fired, State: state}, false); n.Event["leaderId"] != "b" || n.Event["eventType"] != event.HasLeader {
		t.Errorf("event %v, want the state's fields", n.Event)
	}
}
