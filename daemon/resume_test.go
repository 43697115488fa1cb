package daemon

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/store"
)

const orphanConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
audit_log: {{.Dir}}/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  {{.Action}}: {type: webhook, url: "{{.Hook}}/hook", timeout: 2s, retry: {max_attempts: 20, initial_backoff: 1s}}
rules:
  - {name: lost, when: leaderless, actions: [{{.Action}}]}
`

// A pending delivery to an action that the config no longer has is
// dropped at the start: audited, and ended in the journal, not kept
// pending for good.
func TestStartDropsDeliveriesToRemovedActions(t *testing.T) {
	h := newHarness(t, orphanConfig, map[string]any{"Hook": closedURL(t), "Action": "page"})
	h.start(Options{DrainTimeout: 0})
	h.loseLeader()
	id := auditedID(t, h.dir, "lost")
	h.stop()

	h.write(map[string]any{"Action": "chat"})
	h.start(Options{})
	h.stop()
	audit, _ := os.ReadFile(filepath.Join(h.dir, "audit.jsonl"))
	if !strings.Contains(string(audit), `"kind":"dropped"`) || !strings.Contains(string(audit), "action page is no longer in the config") {
		t.Errorf("audit log:\n%s\nwant the delivery %s dropped, with why", audit, id)
	}
	st, err := store.Open(filepath.Join(h.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, pending, _ := st.Load(); len(pending) != 0 {
		t.Errorf("pending after the start: %+v, want none", pending)
	}
}

// A reload before Run (a SIGHUP as leaderhook starts) is refused whole,
// and changes nothing.
func TestReloadBeforeRunIsRefused(t *testing.T) {
	h := newHarness(t, orphanConfig, map[string]any{"Hook": closedURL(t), "Action": "page"})
	d := h.build(Options{})
	h.write(map[string]any{"Action": "chat"})
	if err := d.Reload(); err == nil || !strings.Contains(err.Error(), "starting or stopping") {
		t.Errorf("reload before Run: %v, want it refused", err)
	}
	if _, ok := d.config().Actions["page"]; !ok {
		t.Error("the refused reload changed the config")
	}
	// Over HTTP it is a refusal to try again, not a bad request.
	r := httptest.NewRequest("POST", "/-/reload", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	d.api.Handler().ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("POST /-/reload before Run: %d, Retry-After %q, want 503 with Retry-After: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

const takeoverConfig = `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
audit_log: {{.Dir}}/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  {{.Action}}: {type: shell, command: [/bin/sh, -c, "echo run >> {{.Dir}}/runs; exit 75"], cancel_on_change: {{.Cancel}}, retry: {max_attempts: 20, initial_backoff: 1m}}
rules:
  - {name: lost, when: leaderless, actions: [{{.Action}}]}
{{.HA}}`

// A node that takes the lead of its group resumes the pending deliveries
// as a daemon alone does at its start: one decided for a state the group
// has since left is fenced (cancel_on_change), one to an action the config
// no longer has is dropped; neither runs.
func TestGroupLeaderResumesOnlyWhatStillHolds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after map[string]any // the config the node leads again with
		why   string         // in the audit's dropped record
	}{
		{"state left", map[string]any{"Cancel": true}, "moved on to state"},
		{"action removed", map[string]any{"Action": "chat"}, "action page is no longer in the config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, takeoverConfig, map[string]any{"Action": "page", "Cancel": false})
			h.write(map[string]any{"HA": oneNodeGroup(t, h.dir)})
			h.start(Options{DrainTimeout: 0})
			waitFor(t, "the node to lead its group", h.d.group.dispatching)
			h.loseLeader()
			id := auditedID(t, h.dir, "lost")
			runs := filepath.Join(h.dir, "runs")
			waitFor(t, "the first run", func() bool { _, err := os.Stat(runs); return err == nil })
			h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, "c2"))
			waitFor(t, "the new leader", func() bool { return h.cluster("ziti").LeaderID == "c2" })
			h.stop()

			h.write(tc.after)
			h.start(Options{})
			waitFor(t, "the delivery "+id+" dropped", func() bool {
				audit, _ := os.ReadFile(filepath.Join(h.dir, "audit.jsonl"))
				return strings.Contains(string(audit), `"kind":"dropped"`) && strings.Contains(string(audit), tc.why)
			})
			if data, _ := os.ReadFile(runs); string(data) != "run\n" {
				t.Errorf("the script ran %d times, want once, before the node led again", strings.Count(string(data), "run"))
			}
		})
	}
}

// A crash after a cluster's first states were decided, their deliveries
// journaled, but before a save held the cluster: the restart numbers the
// cluster's next state past the journal's (LEADERHOOK_SEQ grows across a
// restart), so that cancel_on_change fences the resumed delivery off.
func TestSeqGrowsAfterACrashBeforeTheClustersFirstSave(t *testing.T) {
	recv := &receiver{failing: true}
	h := verifyHarness(t, recv)
	h.start(Options{})
	h.loseLeader()
	firing := h.cluster("ziti").Seq
	h.stop()
	// What the crash leaves: the journal holds the firing's delivery, and
	// no saved state knows the cluster.
	if err := os.Remove(filepath.Join(h.dir, "state", "state.log")); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	h.post("/v1/events?cluster=ziti", "", ev("c1", event.HasLeader, "c1"))
	if next := h.cluster("ziti").Seq; next <= firing {
		t.Errorf("first state after the restart numbered %d; the journal's delivery was decided for state %d", next, firing)
	}
}

// A pending delivery dropped at the start (its action is gone) ends the
// verification that awaited it, as a delivery that failed for good does:
// it would wait for it the whole run. Alone, and on a group's leader, whose
// drop reaches every node's verification through the log.
func TestDroppedDeliveryEndsItsVerification(t *testing.T) {
	config := strings.Replace(orphanConfig, "actions: [{{.Action}}]}",
		`actions: [{{.Action}}], verify: {when: "!leaderless", within: 1h, on_failure: [{{.Action}}]}}`, 1) + "{{.HA}}"
	for _, mode := range []string{"alone", "group"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, config, map[string]any{"Hook": closedURL(t), "Action": "page", "HA": ""})
			if mode == "group" {
				h.write(map[string]any{"HA": oneNodeGroup(t, h.dir)})
			}
			h.start(Options{DrainTimeout: 0})
			if mode == "group" {
				waitFor(t, "the node to lead its group", h.d.group.dispatching)
			}
			h.loseLeader()
			waitFor(t, "the firing's verification", func() bool { return awaitsDelivery(h) })
			h.stop()

			h.write(map[string]any{"Action": "chat"})
			h.start(Options{})
			waitFor(t, "the delivery dropped", func() bool {
				audit, _ := os.ReadFile(filepath.Join(h.dir, "audit.jsonl"))
				return strings.Contains(string(audit), `"kind":"dropped"`)
			})
			waitFor(t, "the verification to end with the dropped delivery", func() bool { return !awaitsDelivery(h) })
		})
	}
}
