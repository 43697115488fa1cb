// Package amtest runs a real Alertmanager (Debian's prometheus-alertmanager)
// for tests, and reads the alerts it holds.
package amtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Start runs prometheus-alertmanager on a free port of 127.0.0.1, with its
// own config (resolve_timeout as given, one receiver that sends nowhere)
// and storage, without clustering, and returns its base URL once it is
// ready. It is stopped when the test ends; its log is shown if the test
// failed.
func Start(t testing.TB, resolveTimeout time.Duration) string {
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
	addr := FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	logs, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		t.Fatal(err)
	}
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
	WaitFor(t, 30*time.Second, "the Alertmanager to be ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// FreeAddr returns a free address of 127.0.0.1.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitFor polls ok until it holds, and fails the test after limit.
func WaitFor(t testing.TB, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Alert is what GET /api/v2/alerts lists.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// Active returns the Alertmanager's active alerts named alertname.
func Active(t testing.TB, base, alertname string) []Alert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []Alert
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	var out []Alert
	for _, a := range alerts {
		if a.Labels["alertname"] == alertname && a.Status.State == "active" && a.EndsAt.After(time.Now()) {
			out = append(out, a)
		}
	}
	return out
}
