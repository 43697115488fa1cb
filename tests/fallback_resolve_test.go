package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The webhook receiver is down when the leader is lost: the firing fails
// for good and its on_failure webhook gets it. leaderhook restarts, the
// receiver comes back, the cluster recovers: the resolve goes to the
// webhook, and to the fallback that was told of the firing, each once,
// with ids of their own; nothing stays pending.
func TestFallbackToldOfAFiringGetsItsResolveAfterARestart(t *testing.T) {
	down, primary, hook, fallback, pd := fallbackReceivers(t)
	dir := t.TempDir()
	config := fenceConfig(t, dir, fmt.Sprintf(`  hook: {type: webhook, url: %q, timeout: 2s, retry: {max_attempts: 1}, on_failure: [pd]}
  pd: {type: webhook, url: %q, timeout: 2s}`, hook.URL+"/hook", pd.URL+"/pd"),
		`  - {name: lost, when: leaderless, actions: [hook], on_resolve: [hook]}`)

	d := startDaemon(t, config)
	postEvent(t, d, "state.has_leader", "m1")
	postEvent(t, d, "state.is_leaderless", "")
	waitFor(t, "the fallback to get the firing", func() bool { return len(fallback.seen()) == 1 }, d)
	d.stop(t)

	down.Store(false)
	d = startDaemon(t, config)
	postEvent(t, d, "state.has_leader", "m1")
	waitFor(t, "the fallback to get the resolve", func() bool { return len(fallback.seen()) == 2 }, d)
	d.stop(t)

	if got := statuses(primary.seen()); !slices.Equal(got, []string{"resolved"}) {
		t.Errorf("the webhook, back, got %q, want the resolve", got)
	}
	got := fallback.seen()
	if st := statuses(got); !slices.Equal(st, []string{"firing", "resolved"}) {
		t.Errorf("the fallback got %q, want the firing, then the resolve", st)
	}
	if got[0].id == got[1].id || got[1].id == "" {
		t.Errorf("the fallback's firing and resolve have the ids %q and %q", got[0].id, got[1].id)
	}
	if left := unfinished(t, filepath.Join(dir, "state", "pending.log")); len(left) > 0 {
		t.Errorf("deliveries %v are still pending", left)
	}
}

func statuses(rs []request) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.status)
	}
	return out
}

// In a group, what fallbacks a firing ran is known to every node: the
// leader that follows one killed after the fallback got the firing sends
// it the resolve.
func TestHAFallbackToldOfAFiringGetsItsResolveFromTheNextLeader(t *testing.T) {
	down, _, hook, fallback, pd := fallbackReceivers(t)
	rules := "  - {name: lost, when: leaderless, actions: [primary], on_resolve: [primary]}"
	actions := fmt.Sprintf(`  primary: {type: webhook, url: %q, timeout: 2s, retry: {max_attempts: 1}, on_failure: [pd]}
  pd: {type: webhook, url: %q, timeout: 2s}`, hook.URL+"/hook", pd.URL+"/pd")
	g := startGroupWith(t, "1m", rules, "{type: events, http: true}", actions)
	leader := g.leader()
	other := (leader + 1) % haNodes
	start := time.Now()
	g.post(other, eventAt("c1", "state.has_leader", "c1", start))
	g.post(other, eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	waitFor(t, "the fallback to get the firing", func() bool { return len(fallback.seen()) == 1 }, g.live()...)
	for i := range haNodes {
		waitFor(t, fmt.Sprintf("lh%d to remember the fallback", i+1), func() bool {
			data, _ := os.ReadFile(filepath.Join(g.dir, fmt.Sprintf("lh%d", i+1), "state", "actions", "_on_failure.json"))
			return strings.Contains(string(data), `"pd"`)
		}, g.live()...)
	}

	audit := filepath.Join(g.dir, fmt.Sprintf("lh%d", leader+1), "audit.jsonl")
	waitFor(t, "the leader to journal the fallback's end", func() bool { return slices.Contains(auditOf(t, audit, "lost"), "delivered:ok") }, g.live()...)

	g.kill9(leader)
	g.leader()
	down.Store(false)
	g.post(other, eventAt("c1", "state.has_leader", "c2", time.Now()))
	waitFor(t, "the fallback to get the resolve", func() bool { return slices.Contains(statuses(fallback.seen()), "resolved") }, g.live()...)
	// At least once: a delivery a killed leader made may go out again,
	// with the same id.
	if st := statuses(distinct(fallback.seen())); !slices.Equal(st, []string{"firing", "resolved"}) {
		t.Errorf("the fallback got %q, want the firing, then the resolve", st)
	}
}

// distinct keeps the first request of each delivery id.
func distinct(rs []request) []request {
	var out []request
	for _, r := range rs {
		if !slices.ContainsFunc(out, func(o request) bool { return o.id == r.id }) {
			out = append(out, r)
		}
	}
	return out
}

// fallbackReceivers starts the primary's receiver, down (503) until down
// is cleared, and the fallback's.
func fallbackReceivers(t *testing.T) (down *atomic.Bool, primary *receiver, hook *httptest.Server, fallback *receiver, pd *httptest.Server) {
	down, primary, fallback = &atomic.Bool{}, &receiver{}, &receiver{}
	down.Store(true)
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		primary.ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	pd = httptest.NewServer(fallback)
	t.Cleanup(pd.Close)
	return down, primary, hook, fallback, pd
}
