package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// payloadLog keeps the default payloads a webhook receives, decoded.
type payloadLog struct {
	mu       sync.Mutex
	payloads []map[string]any
}

func (p *payloadLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.payloads = append(p.payloads, m)
}

func (p *payloadLog) all() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.payloads)
}

// TestFireSendsWhatTheDaemonSends: the payload `fire` sends for a rule
// has the fields, and where they do not depend on the moment the values,
// of the daemon's own firing and resolve of that rule for a real outage.
func TestFireSendsWhatTheDaemonSends(t *testing.T) {
	live, fired := &payloadLog{}, &payloadLog{}
	liveSrv, firedSrv := httptest.NewServer(live), httptest.NewServer(fired)
	defer liveSrv.Close()
	defer firedSrv.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	write := func(url string) {
		os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: ziti
    stabilize: 0s
    members: [m1, m2, m3]
    labels: {env: prod, team: net}
    source: {type: events, http: true}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
  - {name: lost, when: leaderless, labels: {team: db, severity: page}, actions: [hook], on_resolve: [hook]}
`, dir, url)), 0o644)
	}
	write(liveSrv.URL)
	d := startDaemon(t, config)
	events := d.baseURL(t) + "/v1/events?cluster=ziti"
	for _, m := range []string{"m1", "m2", "m3"} {
		post(t, events, "", ev(m, "state.has_leader", "m1"))
	}
	// The leader goes down; the others find themselves without one.
	post(t, events, "", ev("m1", "member.down", ""))
	for _, m := range []string{"m2", "m3"} {
		post(t, events, "", ev(m, "state.is_leaderless", ""))
	}
	waitFor(t, "the firing", func() bool { return len(live.all()) >= 1 }, d)
	for _, m := range []string{"m2", "m3"} {
		post(t, events, "", ev(m, "state.has_leader", "m2"))
	}
	waitFor(t, "the resolve", func() bool { return len(live.all()) >= 2 }, d)
	d.stop(t)

	write(firedSrv.URL)
	for _, status := range []string{"firing", "resolved"} {
		if out, stderr, code := run(t, nil, "fire", "-c", config, "hook", "--rule", "lost", "--status", status); code != 0 {
			t.Fatalf("fire --status %s: exit %d\n%s%s", status, code, out, stderr)
		}
	}
	got, want := fired.all(), live.all()
	if len(got) != 2 {
		t.Fatalf("fire sent %d payloads, want 2", len(got))
	}
	for i := range got {
		t.Logf("daemon: %v\nfire:   %v", want[i], got[i])
		samePayload(t, want[i]["status"].(string), want[i], got[i])
	}
}

// samePayload compares what fire sent with what the daemon sent: the same
// keys at every level, and the same values but for times, the delivery id,
// what follows from them, and the daemon's count of states (seq, 0 under
// fire).
func samePayload(t *testing.T, status string, live, fired map[string]any) {
	t.Helper()
	moment := map[string]bool{"delivery_id": true, "fired_at": true, "timestamp": true, "since": true,
		"summary": true, "lasted_ms": true, "leaderless_for_ms": true, "last_outage_ms": true}
	var walk func(path string, a, b map[string]any)
	walk = func(path string, a, b map[string]any) {
		if ka, kb := slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b)); !slices.Equal(ka, kb) {
			t.Errorf("%s %s: keys %v, the daemon's %v", status, path, kb, ka)
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok {
				continue
			}
			if ma, ok := va.(map[string]any); ok && k != "labels" {
				mb, _ := vb.(map[string]any)
				walk(path+"."+k, ma, mb)
				continue
			}
			if k == "seq" {
				continue
			}
			if moment[k] {
				if s, ok := va.(string); ok && s != "" && k != "delivery_id" && k != "summary" {
					if _, err := time.Parse(time.RFC3339Nano, vb.(string)); err != nil {
						t.Errorf("%s %s.%s = %v, not a time", status, path, k, vb)
					}
				}
				continue
			}
			if fmt.Sprint(va) != fmt.Sprint(vb) {
				t.Errorf("%s %s.%s = %v, the daemon's %v", status, path, k, vb, va)
			}
		}
	}
	walk("payload", live, fired)
}
