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
	"sync"
	"testing"
	"time"
)

// contextPayload is what a message says of its context.
type contextPayload struct {
	Status   string `json:"status"`
	Summary  string `json:"summary"`
	LastedMS int64  `json:"lasted_ms"`
	HeldBy   string `json:"held_by"`
	Failure  *struct {
		Action   string `json:"action"`
		Error    string `json:"error"`
		Attempts int    `json:"attempts"`
	} `json:"failure"`
	State struct {
		LastOutageMS int64 `json:"last_outage_ms"`
	} `json:"state"`
}

// TestMessagesCarryTheirContext: through the daemon, a resolve says how
// long the outage and the firing lasted, a firing held back by a cooldown
// says so, and an on_failure message says which delivery failed for good
// and why.
func TestMessagesCarryTheirContext(t *testing.T) {
	var mu sync.Mutex
	var pages []contextPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			http.Error(w, "no such hook", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var p contextPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("page %s: %v", body, err)
		}
		mu.Lock()
		pages = append(pages, p)
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %[1]s/state
clusters:
  - name: ziti
    stabilize: 0s
    source: {type: events, http: true}
actions:
  page: {type: webhook, url: "%[2]s/page"}
  ticket: {type: webhook, url: "%[2]s/broken", on_failure: [page]}
rules:
  - name: lost
    when: leaderless
    cooldown: 3s
    actions: [page]
    on_resolve: [page]
  - name: changed
    when: type == "state.has_leader" && leader_id != previous_leader_id && previous_leader_id != ""
    actions: [ticket]
`, dir, srv.URL)), 0o644)
	d := startDaemon(t, config)
	defer d.stop(t)
	got := func(n int) []contextPayload {
		waitFor(t, fmt.Sprintf("%d pages", n), func() bool { mu.Lock(); defer mu.Unlock(); return len(pages) >= n }, d)
		mu.Lock()
		defer mu.Unlock()
		return append([]contextPayload(nil), pages...)
	}
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	post(t, events, "", ev("c1", "state.has_leader", "c1"))
	post(t, events, "", ev("c1", "state.is_leaderless", ""))
	got(1)
	time.Sleep(300 * time.Millisecond) // an outage that lasts
	post(t, events, "", ev("c1", "state.has_leader", "c1"))
	resolved := got(2)[1]
	if resolved.Status != "resolved" || !strings.HasPrefix(resolved.Summary, "c1 back after") ||
		!strings.Contains(resolved.Summary, "the firing lasted") || resolved.LastedMS < 300 || resolved.State.LastOutageMS < 300 {
		t.Errorf("resolve: %+v", resolved)
	}
	post(t, events, "", ev("c1", "state.is_leaderless", "")) // inside the cooldown
	held := got(3)[2]
	if held.Status != "firing" || held.HeldBy != "cooldown" || !strings.Contains(held.Summary, "held by cooldown until") {
		t.Errorf("firing held back by the cooldown: %+v", held)
	}
	post(t, events, "", ev("c1", "state.has_leader", "c2"))
	var fallback *contextPayload
	waitFor(t, "the ticket's fallback", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := range pages {
			if pages[i].Failure != nil {
				fallback = &pages[i]
			}
		}
		return fallback != nil
	}, d)
	if f := fallback.Failure; f.Action != "ticket" || !strings.Contains(f.Error, "400") ||
		!strings.HasPrefix(fallback.Summary, "ticket failed for good after 1 attempt") {
		t.Errorf("on_failure message: %+v, failure %+v", fallback, f)
	}
}
