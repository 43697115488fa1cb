package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func apiConfig(dir, receiver, rules string) string {
	return fmt.Sprintf(`server:
  listen: "127.0.0.1:0"
  ingest_token: ${TEST_TOKEN}
  max_body_bytes: 4096
state_dir: %s/state
clusters:
  - name: ziti
    stabilize: 0s
    source: {type: events, http: true}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
%s
`, dir, receiver, rules)
}

// startAPIDaemon starts leaderhook with apiConfig, rules acting on the
// webhook at hookURL, and the ingest token t0k3n.
func startAPIDaemon(t *testing.T, hookURL, rules string) (d *daemon, dir, config string) {
	t.Helper()
	dir = t.TempDir()
	config = filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(config, []byte(apiConfig(dir, hookURL, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_TOKEN", "t0k3n")
	return startDaemon(t, config), dir, config
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	code, answer, _ := postHeader(t, url, token, body)
	return code, answer
}

// postHeader is post, with the answer's header.
func postHeader(t *testing.T, url, token, body string) (int, string, http.Header) {
	t.Helper()
	return postWith(t, http.DefaultClient, url, token, body)
}

// postWith is postHeader through the client c.
func postWith(t *testing.T, c *http.Client, url, token, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ev(src, typ, leader string) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`, src, time.Now().UTC().Format(time.RFC3339Nano), typ, extra)
}

func TestHTTPAPI(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	d, dir, config := startAPIDaemon(t, hook.URL, `  - {name: lost, when: leaderless, actions: [hook]}`)
	base := d.baseURL(t)
	events := base + "/v1/events?cluster=ziti"

	// Before any event the cluster shows as not known, with no has_leader.
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `leaderhook_cluster_known{cluster="ziti"} 0`) ||
		strings.Contains(metrics, "leaderhook_cluster_has_leader{") {
		t.Errorf("metrics before any event:\n%s", grepLines(metrics, "leaderhook_cluster_"))
	}

	// Authentication.
	if code, _ := post(t, events, "", ev("c1", "state.rw", "")); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := post(t, events, "wrong", ev("c1", "state.rw", "")); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	// A batch with a bad line is refused whole, naming the line.
	code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "c1")+"\n"+`{"namespace":"cluster"}`)
	if code != 400 || !strings.Contains(body, "line 2") || !strings.Contains(body, "nothing was accepted") {
		t.Errorf("bad batch: %d %s", code, body)
	}
	if code, _ := post(t, events, "t0k3n", strings.Repeat(" ", 5000)+ev("c1", "state.rw", "")); code != 413 {
		t.Errorf("oversized body: %d, want 413", code)
	}
	if code, body := post(t, base+"/v1/events?cluster=nope", "t0k3n", ev("c1", "state.rw", "")); code != 404 {
		t.Errorf("unknown cluster: %d %s", code, body)
	}
	// A good batch (a JSON array), then a loss as one object.
	if code, body := post(t, events, "t0k3n", "["+ev("c1", "state.has_leader", "c1")+","+ev("c2", "state.has_leader", "c1")+"]"); code != 202 || !strings.Contains(body, `"accepted": 2`) {
		t.Errorf("good batch: %d %s", code, body)
	}
	post(t, events, "t0k3n", ev("c1", "state.is_leaderless", "")+"\n"+ev("c2", "state.is_leaderless", ""))
	waitFor(t, "the webhook", func() bool { return len(rcv.seen()) == 1 }, d)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`leaderhook_events_total{cluster="ziti",source="c1",type="state.has_leader"} 1`,
		`leaderhook_cluster_has_leader{cluster="ziti"} 0`,
		`leaderhook_cluster_known{cluster="ziti"} 1`,
		`leaderhook_rule_outcomes_total{cluster="ziti",outcome="fired",reason="",rule="lost"} 1`,
		`leaderhook_action_attempts_total{action="hook",outcome="ok"} 1`,
		`leaderhook_config_last_reload_successful 1`,
		`leaderhook_config_reloads_total{result="success"} 0`,
		`leaderhook_config_reloads_total{result="failure"} 0`,
		`leaderhook_cluster_leaderless_seconds{cluster="ziti"}`,
		`leaderhook_action_queue_depth 0`,
		`leaderhook_events_rejected_total{cluster="ziti",input="http"} 1`,
		`leaderhook_build_info{goversion="go`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	code, body = get(t, base+"/v1/state")
	var state struct {
		Clusters []struct {
			Name             string `json:"name"`
			PreviousLeaderID string `json:"previous_leader_id"`
			Members          []struct {
				ID string `json:"id"`
			} `json:"members"`
			Rules []struct {
				Name   string `json:"name"`
				Firing bool   `json:"firing"`
			} `json:"rules"`
		} `json:"clusters"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &state) != nil || len(state.Clusters) != 1 {
		t.Fatalf("state: %d %s", code, body)
	}
	if c := state.Clusters[0]; c.Name != "ziti" || c.PreviousLeaderID != "c1" || len(c.Members) != 2 || c.Members[1].ID != "c2" ||
		len(c.Rules) != 1 || c.Rules[0].Name != "lost" || !c.Rules[0].Firing {
		t.Errorf("state: %s", body)
	}

	// Reload: a broken config is refused and the old one keeps running.
	os.WriteFile(config, []byte(apiConfig(dir, hook.URL, `  - {name: lost, when: leadr_id == "", actions: [hook]}`)), 0o644)
	// The answer and the log record name the problem, with its place.
	if code, body := post(t, base+"/-/reload", "t0k3n", ""); code != 400 || !strings.Contains(body, "unchanged") ||
		!strings.Contains(body, `rules.yaml:`) || !strings.Contains(body, `leadr_id`) {
		t.Errorf("broken reload: %d %s", code, body)
	}
	waitFor(t, "the reload refused log record, saying why", func() bool {
		return strings.Contains(grepLines(d.logs(), "reload refused"), "leadr_id")
	}, d)
	_, metrics = get(t, base+"/metrics")
	if !strings.Contains(metrics, "leaderhook_config_last_reload_successful 0") ||
		!strings.Contains(metrics, `leaderhook_config_reloads_total{result="failure"} 1`) ||
		!strings.Contains(metrics, `leaderhook_config_reloads_total{result="success"} 0`) {
		t.Error("the failed reload is not in the metrics")
	}
	// A good one applies: the new rule fires on the next change; the old
	// rule keeps its state (it does not fire again).
	os.WriteFile(config, []byte(apiConfig(dir, hook.URL, "  - {name: lost, when: leaderless, actions: [hook]}\n  - {name: back, when: '!leaderless', actions: [hook]}")), 0o644)
	if code, body := post(t, base+"/-/reload", "t0k3n", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if _, metrics = get(t, base+"/metrics"); !strings.Contains(metrics, `leaderhook_config_reloads_total{result="success"} 1`) {
		t.Error("the reload is not counted once")
	}
	post(t, events, "t0k3n", ev("c1", "state.has_leader", "c2")+"\n"+ev("c2", "state.has_leader", "c2"))
	waitFor(t, "the new rule", func() bool { return len(rcv.seen()) == 2 }, d)
	d.stop(t)
	if n := len(rcv.seen()); n != 2 {
		t.Errorf("%d webhooks, want 2 (lost once, back once)", n)
	}
}

// TestAcceptedEventsSurviveKill9: once POST /v1/events has answered 202,
// what the events fired is journaled; SIGKILL right after the answer loses
// nothing, and the delivery goes out after the restart.
func TestAcceptedEventsSurviveKill9(t *testing.T) {
	rcv := &receiver{failures: 1} // the first attempt fails: the delivery is still pending at the kill
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	a, _, config := startAPIDaemon(t, hook.URL, `  - {name: lost, when: leaderless, actions: [hook]}`)
	events := a.baseURL(t) + "/v1/events?cluster=ziti"
	if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "c1")); code != 202 {
		t.Fatalf("leader: %d %s", code, body)
	}
	if code, body := post(t, events, "t0k3n", ev("c1", "state.is_leaderless", "")); code != 202 {
		t.Fatalf("loss: %d %s", code, body)
	}
	a.kill9(t)

	b := startDaemon(t, config)
	waitFor(t, "the delivery after the restart", func() bool {
		for _, r := range rcv.seen() {
			if r.code == 200 && r.status == "firing" {
				return true
			}
		}
		return false
	}, b)
}

// TestBatchSentAgainAfterKill9PagesOnce: a kill -9 can cut off the
// answer to a batch it decided; its sender sends it again to the
// restarted daemon, which knows it and pages once for the one loss.
func TestBatchSentAgainAfterKill9PagesOnce(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	a, dir, config := startAPIDaemon(t, hook.URL, `  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}`)
	events := a.baseURL(t) + "/v1/events?cluster=ziti"
	batch := ev("c1", "state.has_leader", "c1") + "\n" + ev("c1", "state.is_leaderless", "")
	if code, body := post(t, events, "t0k3n", batch); code != 202 {
		t.Fatalf("batch: %d %s", code, body)
	}
	waitFor(t, "the page", func() bool { return len(rcv.seen()) == 1 }, a)
	a.kill9(t)

	b := startDaemon(t, config)
	events = b.baseURL(t) + "/v1/events?cluster=ziti"
	if code, body := post(t, events, "t0k3n", batch); code != 202 {
		t.Fatalf("the batch sent again: %d %s", code, body)
	}
	if code, body := post(t, events, "t0k3n", ev("c1", "state.has_leader", "c2")); code != 202 {
		t.Fatalf("the new leader: %d %s", code, body)
	}
	waitFor(t, "the resolve, and nothing pending", func() bool {
		seen := rcv.seen()
		return len(seen) > 0 && seen[len(seen)-1].status == "resolved" && journalSettled(t, filepath.Join(dir, "state"))
	}, b)
	var statuses []string
	for _, r := range rcv.seen() {
		statuses = append(statuses, r.status)
	}
	if got := strings.Join(statuses, " "); got != "firing resolved" {
		t.Errorf("the receiver saw %q, want one page and its resolve (firing resolved)", got)
	}
}

// TestIngestRefusesRatherThanDrops: with the receiver hung and the
// cluster's action queue full (1,024 deliveries waiting), POST /v1/events
// answers 503 with Retry-After, and nothing accepted is dropped.
func TestIngestRefusesRatherThanDrops(t *testing.T) {
	hung := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hung }))
	defer hook.Close()
	defer close(hung)
	d, _, _ := startAPIDaemon(t, hook.URL, `  - {name: changed, when: type == "state.has_leader", actions: [hook]}`)
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	// Leader changes in batches (server.max_body_bytes is 4096), until
	// the queue is full.
	changes, refused := 0, false
	for changes < 1200 && !refused {
		var batch []string
		for range 20 {
			batch = append(batch, ev("c1", "state.has_leader", fmt.Sprintf("c%d", changes%2+1)))
			changes++
		}
		code, body, header := postHeader(t, events, "t0k3n", strings.Join(batch, "\n"))
		switch {
		case code == 503 && strings.Contains(body, "backed up") && header.Get("Retry-After") == "1":
			refused = true
			if changes <= 1024 {
				t.Errorf("refused after %d changes, before the queue was full", changes)
			}
		case code != 202:
			t.Fatalf("batch at %d: %d %s", changes, code, body)
		}
	}
	if !refused {
		t.Fatalf("%d leader changes queued for a hung receiver, and ingest never refused", changes)
	}
	if strings.Contains(d.logs(), "queue full") || strings.Contains(d.logs(), "dropped") {
		t.Errorf("deliveries were dropped:\n%s", d.logs())
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
