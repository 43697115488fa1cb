package alertmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/alertmanager"
)

// resolveTimeout is the Alertmanager's resolve_timeout in the test: short,
// so that the test fires for longer.
const resolveTimeout = 10 * time.Second

// startAlertmanager runs Debian's prometheus-alertmanager on a free port
// of 127.0.0.1, with its own config and storage, without clustering, and
// returns its base URL once it is ready.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Fatal("prometheus-alertmanager is not installed: run make deps (Debian package prometheus-alertmanager)")
	}
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  resolve_timeout: %s\nroute:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n", resolveTimeout)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	logs, _ := os.Create(filepath.Join(dir, "alertmanager.log"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logs.Name())
			t.Logf("alertmanager's log:\n%s", out)
		}
	})
	base := "http://" + addr
	waitFor(t, 30*time.Second, "the Alertmanager to be ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// gettableAlert is what GET /api/v2/alerts lists.
type gettableAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// activeAlert returns the Alertmanager's active alert named rule, if any.
func activeAlert(t *testing.T, base, rule string) (gettableAlert, bool) {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []gettableAlert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.Labels["alertname"] == rule && a.Status.State == "active" && a.EndsAt.After(time.Now()) {
			return a, true
		}
	}
	return gettableAlert{}, false
}

// An alert appears with the rule's labels while the rule fires, stays
// active over a firing longer than the Alertmanager's resolve_timeout and
// than the lease of one post, and is resolved by the resolve. An
// Alertmanager that does not answer does not fail the delivery.
func TestRealAlertmanager(t *testing.T) {
	base := startAlertmanager(t)
	dead := "http://" + freeAddr(t) // nothing listens there
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{dead, base + "/"}, Refresh: time.Second}}
	a, err := alertmanager.New("am", spec, actions.Options{StateDir: t.TempDir(), ExternalURL: "https://leaderhook.example"})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	defer a.Stop()
	episode := time.Now()
	n := actions.Notification{Rule: "leaderless-30s", Status: actions.StatusFiring, Cluster: "ziti-prod", Labels: map[string]string{"env": "prod", "team-name": "core"},
		Episode: episode, FiredAt: episode, PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
	if out, err := a.Run(context.Background(), &n); err != nil {
		t.Fatalf("firing: %+v %v", out, err)
	}
	var got gettableAlert
	waitFor(t, 10*time.Second, "the alert", func() bool { var ok bool; got, ok = activeAlert(t, base, n.Rule); return ok })
	want := map[string]string{"alertname": "leaderless-30s", "cluster": "ziti-prod", "env": "prod", "team_name": "core"}
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
	waitFor(t, 10*time.Second, "the alert to be resolved", func() bool { _, ok := activeAlert(t, base, n.Rule); return !ok })
	// Refreshes after the resolve do not bring it back.
	for until := time.Now().Add(3 * time.Second); time.Now().Before(until); time.Sleep(500 * time.Millisecond) {
		if _, ok := activeAlert(t, base, n.Rule); ok {
			t.Fatal("the resolved alert is active again")
		}
	}
}
