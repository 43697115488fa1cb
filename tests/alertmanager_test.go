package tests

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/internal/amtest"
)

// alertmanagerConfig: a loss pages through a real Alertmanager, with the
// rule's labels (severity) over the cluster's.
func alertmanagerConfig(dir, am, severity string) string {
	return fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: ziti
    labels: {env: prod, team: core}
    stabilize: 0s
    source: {type: events, http: true}
actions:
  am: {type: alertmanager, urls: ["%s"], refresh: 1m}
rules:
  - name: leaderless
    when: leaderless
    actions: [am]
    on_resolve: [am]
    labels: {severity: %s, team: db}
`, dir, am, severity)
}

// A rule's labels reach the alert in the Alertmanager, next to alertname,
// cluster and the cluster's labels, and win a clash with the latter. A
// reload that changes them applies from the next firing; the alert open
// meanwhile is resolved as it was posted, not left to expire.
func TestRuleLabelsReachAlertmanager(t *testing.T) {
	am := amtest.Start(t, 5*time.Minute)
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(config, []byte(alertmanagerConfig(dir, am, "critical")), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, config)
	base := d.baseURL(t)
	events := base + "/v1/events?cluster=ziti"
	send := func(typ, leader string) {
		t.Helper()
		if code, body := post(t, events, "", ev("c1", typ, leader)+"\n"+ev("c2", typ, leader)); code != 202 {
			t.Fatalf("events: %d %s", code, body)
		}
	}
	alertWith := func(severity string) {
		t.Helper()
		want := map[string]string{"alertname": "leaderless", "cluster": "ziti", "env": "prod", "team": "db", "severity": severity}
		var got []amtest.Alert
		waitFor(t, "the alert with severity "+severity, func() bool {
			got = amtest.Active(t, am, "leaderless")
			return len(got) == 1 && maps.Equal(got[0].Labels, want)
		}, d)
	}
	send("state.has_leader", "c1")
	send("state.is_leaderless", "")
	alertWith("critical")

	if err := os.WriteFile(config, []byte(alertmanagerConfig(dir, am, "warning")), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, base+"/-/reload", "", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	// The refresh is a minute, the lease four: only the resolve can end
	// the critical alert within the wait.
	send("state.has_leader", "c1")
	waitFor(t, "the critical alert to be resolved", func() bool { return len(amtest.Active(t, am, "leaderless")) == 0 }, d)
	send("state.is_leaderless", "")
	alertWith("warning")
}
