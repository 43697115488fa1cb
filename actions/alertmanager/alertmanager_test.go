package alertmanager_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/alertmanager"
	"github.com/leaderhook/leaderhook/internal/amtest"
)

// resolveTimeout is the Alertmanager's resolve_timeout in the test: short,
// so that the test fires for longer.
const resolveTimeout = 10 * time.Second

// activeAlert returns the Alertmanager's active alert named rule, if any.
func activeAlert(t *testing.T, base, rule string) (amtest.Alert, bool) {
	t.Helper()
	if alerts := amtest.Active(t, base, rule); len(alerts) > 0 {
		return alerts[0], true
	}
	return amtest.Alert{}, false
}

// An alert appears with the rule's labels while the rule fires, stays
// active over a firing longer than the Alertmanager's resolve_timeout and
// than the lease of one post, and is resolved by the resolve. An
// Alertmanager that does not answer does not fail the delivery.
func TestRealAlertmanager(t *testing.T) {
	base := amtest.Start(t, resolveTimeout)
	dead := "http://" + amtest.FreeAddr(t) // nothing listens there
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{dead, base + "/"}, Refresh: time.Second}}
	a, err := alertmanager.New("am", spec, actions.Options{StateDir: t.TempDir(), ExternalURL: "https://leaderhook.example"})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	defer a.Stop()
	episode := time.Now()
	n := actions.Notification{Rule: "leaderless-30s", Status: actions.StatusFiring, Cluster: "ziti-prod", Labels: map[string]string{"env": "prod", "team-name": "core", "severity": "critical"},
		Episode: episode, FiredAt: episode, PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
	if out, err := a.Run(context.Background(), &n); err != nil {
		t.Fatalf("firing: %+v %v", out, err)
	}
	var got amtest.Alert
	amtest.WaitFor(t, 10*time.Second, "the alert", func() bool { var ok bool; got, ok = activeAlert(t, base, n.Rule); return ok })
	want := map[string]string{"alertname": "leaderless-30s", "cluster": "ziti-prod", "env": "prod", "severity": "critical", "team_name": "core"}
	if fmt.Sprint(got.Labels) != fmt.Sprint(want) || !strings.Contains(got.Annotations["summary"], "no leader for 30s (was ctrl1)") {
		t.Errorf("alert %+v, want labels %v", got, want)
	}
	// Firing on past the resolve timeout and past several leases: the
	// refreshes keep the alert active all along.
	until := time.Now().Add(resolveTimeout + 5*time.Second)
	for time.Now().Before(until) {
		if _, ok := activeAlert(t, base, n.Rule); !ok {
			t.Fatalf("the alert ended %s into the firing", time.Since(episode).Round(time.Second))
		}
		time.Sleep(500 * time.Millisecond)
	}
	resolved := n
	resolved.Status, resolved.FiredAt, resolved.Leaderless, resolved.LeaderID = actions.StatusResolved, time.Now(), false, "ctrl2"
	if out, err := a.Run(context.Background(), &resolved); err != nil {
		t.Fatalf("resolve: %+v %v", out, err)
	}
	amtest.WaitFor(t, 10*time.Second, "the alert to be resolved", func() bool { _, ok := activeAlert(t, base, n.Rule); return !ok })
	// Refreshes after the resolve do not bring it back.
	for until := time.Now().Add(3 * time.Second); time.Now().Before(until); time.Sleep(500 * time.Millisecond) {
		if _, ok := activeAlert(t, base, n.Rule); ok {
			t.Fatal("the resolved alert is active again")
		}
	}
}
