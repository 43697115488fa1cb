package daemon

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/leaderhook/leaderhook/event"
)

const verifyReloadConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "{{.Hook}}", retry: {max_attempts: 1000, initial_backoff: 20ms, max_backoff: 50ms}}
rules:
  - name: lost
    description: "{{.Description}}"
    when: leaderless
    actions: [hook]
    verify: {when: "!leaderless", within: 1s, on_failure: [hook]}
{{.HA}}`

// A reload that edits only a rule's description, while its firing's
// delivery is still being retried, keeps the verification: once the
// delivery succeeds and no leader comes, verify_failed goes out, alone and
// in a group.
func TestReloadKeepsAVerificationInProgress(t *testing.T) {
	for _, mode := range []string{"alone", "group"} {
		t.Run(mode, func(t *testing.T) {
			recv := &receiver{failing: true}
			h := verifyHarness(t, recv)
			if mode == "group" {
				h.write(map[string]any{"HA": oneNodeGroup(t, h.dir)})
			}
			h.start(Options{})
			if mode == "group" {
				waitFor(t, "the node to lead its group", h.d.group.dispatching)
			}
			h.loseLeader()
			waitFor(t, "the firing's verification", func() bool { return awaitsDelivery(h) })
			h.reloadTo("POST /-/reload", map[string]any{"Description": "no leader: writes fail, see the runbook"})
			if !awaitsDelivery(h) {
				t.Fatal("the reload dropped the verification in progress")
			}
			recv.setFailing(false)
			waitFor(t, "verify_failed", func() bool {
				return slices.ContainsFunc(recv.deliveries(), func(d delivery) bool { return d.rule == "lost" && d.status == "verify_failed" })
			})
		})
	}
}

// awaitsDelivery reports whether the rule "lost" has a verification that
// waits for its firing's delivery.
// verifyHarness is a daemon of verifyReloadConfig, not started yet, whose
// hook delivers to recv.
func verifyHarness(t *testing.T, recv http.Handler) *harness {
	t.Helper()
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	return newHarness(t, verifyReloadConfig, map[string]any{"Hook": srv.URL, "Description": "no leader", "HA": ""})
}

// loseLeader reports leader c1 of cluster ziti, then its loss: rule lost
// fires and awaits its delivery.
func (h *harness) loseLeader() {
	h.t.Helper()
	for _, body := range []string{ev("c1", event.HasLeader, "c1"), ev("c1", event.Leaderless, "")} {
		if code, answer := h.post("/v1/events?cluster=ziti", "", body); code != http.StatusAccepted {
			h.t.Fatalf("POST /v1/events: %d %s", code, answer)
		}
	}
}

func awaitsDelivery(h *harness) bool {
	found := false
	h.d.driver.Do(func() {
		for _, c := range h.d.driver.Image().Engine.Clusters {
			for _, r := range c.Rules {
				found = found || (r.Rule == "lost" && r.Verify != nil && len(r.Verify.Awaiting) > 0)
			}
		}
	})
	return found
}
