package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/internal/freeport"
)

// harness runs a Daemon in this process on a config written from a
// template, with its HTTP API on a free port of 127.0.0.1.
type harness struct {
	t      *testing.T
	dir    string
	path   string
	tmpl   *template.Template
	vars   map[string]any
	d      *Daemon
	base   string
	client *http.Client // the API's; nil: http.DefaultClient
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, configTemplate string, vars map[string]any) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), tmpl: template.Must(template.New("config").Parse(configTemplate)), vars: map[string]any{}}
	for k, v := range vars {
		h.vars[k] = v
	}
	h.vars["Dir"] = h.dir
	h.path = filepath.Join(h.dir, "rules.yaml")
	h.write(nil)
	return h
}

// write renders the config with vars over the harness's own.
func (h *harness) write(vars map[string]any) {
	h.t.Helper()
	for k, v := range vars {
		h.vars[k] = v
	}
	var b bytes.Buffer
	if err := h.tmpl.Execute(&b, h.vars); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(h.path, b.Bytes(), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// start runs the daemon until stop or the end of the test, once it is
// ready.
func (h *harness) start(opts Options) {
	h.t.Helper()
	h.run(opts)
	waitFor(h.t, "the daemon to be ready", func() bool { code, _ := h.get("/readyz"); return code == 200 })
}

// run runs the daemon until stop or the end of the test, ready or not (a
// group's node without a leader never is).
func (h *harness) run(opts Options) {
	h.t.Helper()
	h.build(opts)
	h.serve()
}

// build makes the daemon of the config file, not running yet (closed at
// the end of the test).
func (h *harness) build(opts Options) *Daemon {
	h.t.Helper()
	cfg, _, err := config.Load(h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	opts.ConfigPath = h.path
	if opts.Log == nil {
		opts.Log = testLogger(h.t)
	}
	if h.d, err = New(cfg, opts); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { h.d.Close() })
	h.base = cfg.Server.TLS.Scheme() + "://" + h.d.Addr()
	return h.d
}

// serve runs the daemon build made until stop or the end of the test.
func (h *harness) serve() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.d.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop ends Run and closes the daemon; it returns what Run returned.
func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	err := <-h.done
	h.d.Close()
	return err
}

func (h *harness) post(path, token, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(h.t, h.client, req)
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return do(h.t, h.client, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// state returns GET /v1/state.
func (h *harness) state() stateView {
	h.t.Helper()
	code, body := h.get("/v1/state")
	var v stateView
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		h.t.Fatalf("GET /v1/state: %d %s", code, body)
	}
	return v
}

func (h *harness) cluster(name string) clusterView {
	h.t.Helper()
	for _, c := range h.state().Clusters {
		if c.Name == name {
			return c
		}
	}
	h.t.Fatalf("no cluster %s in the state", name)
	return clusterView{}
}

// ev is a member's report in OpenZiti's format, stamped now.
func ev(member, typ, leader string) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`,
		member, time.Now().UTC().Format(time.RFC3339Nano), typ, extra)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receiver records webhook deliveries by id; it fails while failing is
// set.
type receiver struct {
	mu      sync.Mutex
	failing bool
	got     []delivery
}

type delivery struct {
	id, rule, status string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n struct {
		Rule   string `json:"rule"`
		Status string `json:"status"`
	}
	json.NewDecoder(req.Body).Decode(&n)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.got = append(r.got, delivery{id: req.Header.Get("webhook-id"), rule: n.Rule, status: n.Status})
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

func (r *receiver) setFailing(f bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing = f
}

// closedURL is an address nothing listens on.
func closedURL(t *testing.T) string {
	return "http://" + freeAddr(t)
}

// freeAddr is a loopback address nothing listens on, below the ephemeral
// range so that no other process's outgoing connection or listen on port
// 0 takes it meanwhile.
func freeAddr(t *testing.T) string {
	t.Helper()
	addrs, err := freeport.Addrs(1)
	if err != nil {
		t.Fatal(err)
	}
	return addrs[0]
}

// testLogger keeps the daemon's log, and shows it if the test fails.
func testLogger(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var b bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("daemon log:\n%s", b.String())
			mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &b}, nil))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The hook's retries must outlast a slow stop on a loaded machine: a
// delivery that fails for good before the stop has nothing to resume.
const ingestConfig = `server: {listen: "127.0.0.1:0", ingest_token: t0k3n}
state_dir: {{.Dir}}/state
audit_log: {{.Dir}}/audit.jsonl
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "{{.Hook}}/hook", timeout: 2s, retry: {max_attempts: 1000, initial_backoff: 50ms, max_backoff: 100ms}}
rules:
  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}
`

// A 202 means every delivery the events caused is in the journal: the
// journal read right after the answer holds it, while its receiver is not
// listening.
func TestIngestJournalsBeforeAnswering(t *testing.T) {
	h := newHarness(t, ingestConfig, map[string]any{"Hook": closedURL(t)})
	h.start(Options{})
	events := "/v1/events?cluster=ziti"
	if code, body := h.post(events, "t0k3n", ev("c1", "state.has_leader", "c1")); code != 202 {
		t.Fatalf("baseline: %d %s", code, body)
	}
	if code, body := h.post(events, "t0k3n", ev("c1", "state.is_leaderless", "")); code != 202 || !strings.Contains(body, `"accepted": 1`) {
		t.Fatalf("loss: %d %s", code, body)
	}
	journal, err := os.ReadFile(filepath.Join(h.dir, "state", "pending.log"))
	if err != nil || !strings.Contains(string(journal), `"Rule":"lost"`) {
		t.Errorf("journal right after the 202: %q (%v), want the firing's delivery", journal, err)
	}
}

// Deliveries pending at a stop resume after a restart from the same
// state_dir, with the ids they had; the saved view and rule state carry
// over, so the restart does not fire the rule again.
func TestRestartResumesFromState(t *testing.T) {
	rcv := &receiver{failing: true}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	h := newHarness(t, ingestConfig, map[string]any{"Hook": hook.URL})
	h.start(Options{DrainTimeout: 0})
	events := "/v1/events?cluster=ziti"
	h.post(events, "t0k3n", ev("c1", "state.has_leader", "c1"))
	h.post(events, "t0k3n", ev("c1", "state.is_leaderless", ""))
	id := auditedID(t, h.dir, "lost")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	rcv.setFailing(false)
	h.start(Options{})
	waitFor(t, "the resumed delivery", func() bool { return len(rcv.deliveries()) > 0 })
	if got := rcv.deliveries(); got[0].id != id || got[0].status != "firing" {
		t.Errorf("delivered %+v, want the firing under its id %s", got, id)
	}
	if c := h.cluster("ziti"); !c.Known || c.HasLeader || c.PreviousLeaderID != "c1" || len(c.Rules) != 1 || !c.Rules[0].Firing {
		t.Errorf("state after the restart: %+v", c)
	}
	// The cluster recovers: the resolve goes out, the firing is not decided
	// again. (The receiver may see the firing twice under its one id: the
	// first daemon's interrupted attempt can reach it late.)
	h.post(events, "t0k3n", ev("c1", "state.has_leader", "c1"))
	waitFor(t, "the resolve", func() bool { got := rcv.deliveries(); return got[len(got)-1].status == "resolved" })
	for _, d := range rcv.deliveries() {
		if d.status == "firing" && d.id != id {
			t.Errorf("deliveries %+v: the firing under another id than %s", rcv.deliveries(), id)
		}
	}
}

// auditedID waits for the audit log to record a delivery of rule, and
// returns its id.
func auditedID(t *testing.T, dir, rule string) string {
	t.Helper()
	var id string
	waitFor(t, "the audit record of "+rule, func() bool {
		data, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
		for _, line := range strings.Split(string(data), "\n") {
			var r struct {
				Kind       string `json:"kind"`
				Rule       string `json:"rule"`
				DeliveryID string `json:"delivery_id"`
			}
			if json.Unmarshal([]byte(line), &r) == nil && r.Rule == rule && r.Kind == "queued" {
				id = r.DeliveryID
				return true
			}
		}
		return false
	})
	return id
}
