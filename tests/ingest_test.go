package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAcknowledgedEventsSurviveKill9BeforeTheReceiverListens: events
// POSTed to /v1/events fire a webhook whose receiver is not listening yet;
// right after the 202 the daemon is killed with SIGKILL; the receiver
// starts; the daemon restarts; the notification arrives with the delivery
// id that the audit log gave it before the kill.
func TestAcknowledgedEventsSurviveKill9BeforeTheReceiverListens(t *testing.T) {
	// Reserve the receiver's address, and free it: nothing listens there
	// until the receiver starts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0", ingest_token: t0k3n}
state_dir: %s/state
audit_log: %s/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "http://%s/hook", retry: {max_attempts: 50, initial_backoff: 100ms, max_backoff: 200ms}}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`, dir, dir, addr)), 0o644)

	a := startDaemon(t, config)
	events := a.baseURL(t) + "/v1/events?cluster=ziti"
	if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "c1")); code != 202 {
		t.Fatalf("baseline: %d %s", code, body)
	}
	if code, body := post(t, events, "t0k3n", ev("c1", "state.is_leaderless", "")); code != 202 {
		t.Fatalf("loss: %d %s", code, body)
	}
	// The audit log is written off the decisions' way, a moment after the
	// answer: the id it gives is read before the kill.
	var id string
	waitFor(t, "the audit record", func() bool { id = queuedID(filepath.Join(dir, "audit.jsonl"), "lost"); return id != "" }, a)
	a.kill9(t)

	got := make(chan string, 10)
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("webhook-id")
	})}
	go srv.ListenAndServe()
	defer srv.Close()
	b := startDaemon(t, config)
	var delivered string
	waitFor(t, "the notification after the restart", func() bool {
		select {
		case delivered = <-got:
			return true
		default:
			return false
		}
	}, b)
	if delivered != id {
		t.Errorf("delivered with webhook-id %q, want %q, the id the audit log gave it before the kill", delivered, id)
	}
}

// queuedID returns the delivery id of the "queued" audit record of rule,
// or "" while there is none.
func queuedID(auditLog, rule string) string {
	data, _ := os.ReadFile(auditLog)
	for _, line := range strings.Split(string(data), "\n") {
		var r struct {
			Kind       string `json:"kind"`
			Rule       string `json:"rule"`
			DeliveryID string `json:"delivery_id"`
		}
		if json.Unmarshal([]byte(line), &r) == nil && r.Kind == "queued" && r.Rule == rule {
			return r.DeliveryID
		}
	}
	return ""
}
