package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const expectConfig = `server: {listen: "127.0.0.1:0", ingest_token: t0k3n}
state_dir: {{.Dir}}/state
audit_log: {{.Dir}}/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "{{.Hook}}/hook"}
rules:
  - {name: lost, when: leaderless && !expected, actions: [hook]}
`

// A window of expected changes holds a rule that reads it back; /v1/state
// shows it; ending it early fires what it held back; both are audited;
// a window survives a restart.
func TestExpectWindow(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	h := newHarness(t, expectConfig, map[string]any{"Hook": hook.URL})
	h.start(Options{})
	h.post("/v1/events?cluster=ziti", "t0k3n", ev("c1", "state.has_leader", "c1"))
	if code, body := h.post("/v1/expect", "t0k3n", `{"cluster":"nope","for":"1h"}`); code != 404 {
		t.Errorf("unknown cluster: %d %s", code, body)
	}
	code, body := h.post("/v1/expect", "t0k3n", `{"cluster":"ziti","for":"1h","reason":"rolling upgrade"}`)
	var answer expectAnswer
	if code != 200 || json.Unmarshal([]byte(body), &answer) != nil || answer.Expected == nil || answer.Previous != nil ||
		time.Until(answer.Expected.Until) < 59*time.Minute || answer.Expected.Reason != "rolling upgrade" {
		t.Fatalf("POST /v1/expect: %d %s", code, body)
	}
	if x := h.cluster("ziti").Expected; x == nil || !x.Until.Equal(answer.Expected.Until) || x.Reason != "rolling upgrade" {
		t.Errorf("/v1/state shows the window as %+v", x)
	}
	h.post("/v1/events?cluster=ziti", "t0k3n", ev("c1", "state.is_leaderless", ""))
	if c := h.cluster("ziti"); c.HasLeader || c.Rules[0].Active {
		t.Errorf("an expected loss: %+v", c)
	}

	code, body = h.delete("/v1/expect?cluster=ziti", "t0k3n")
	if code != 200 || json.Unmarshal([]byte(body), &answer) != nil || answer.Expected != nil || answer.Previous == nil {
		t.Fatalf("DELETE /v1/expect: %d %s", code, body)
	}
	waitFor(t, "the loss to fire once the window ended", func() bool { return len(rcv.deliveries()) == 1 })
	if x := h.cluster("ziti").Expected; x != nil {
		t.Errorf("/v1/state shows an ended window: %+v", x)
	}
	audit := expectRecords(t, h.dir, 2)
	if audit[0].Status != "open" || audit[1].Status != "ended" || audit[1].Reason != "rolling upgrade" || !audit[1].Until.Equal(answer.Previous.Until) {
		t.Errorf("audit records %+v", audit)
	}

	h.post("/v1/expect", "t0k3n", `{"cluster":"ziti","for":"2h","reason":"again"}`)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	if x := h.cluster("ziti").Expected; x == nil || x.Reason != "again" {
		t.Errorf("after a restart the window is %+v", x)
	}
}

func (h *harness) delete(path, token string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodDelete, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return do(h.t, h.client, req)
}

type expectRecord struct {
	Kind, Status, Cluster, Reason string
	Until                         time.Time
}

// expectRecords waits for n expect records in the audit log.
func expectRecords(t *testing.T, dir string, n int) []expectRecord {
	t.Helper()
	var got []expectRecord
	waitFor(t, "the audit records", func() bool {
		data, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
		got = nil
		for _, line := range strings.Split(string(data), "\n") {
			var r expectRecord
			if json.Unmarshal([]byte(line), &r) == nil && r.Kind == "expect" {
				got = append(got, r)
			}
		}
		return len(got) >= n
	})
	return got
}
