package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An event further out of order than --reorder-window is named with its
// file and line and how late it is, and said to be applied at the
// replay's clock, as the daemon dates a late event on arrival, instead of
// only being counted.
func TestReplayNamesEventsBeyondTheReorderWindow(t *testing.T) {
	dir := t.TempDir()
	config := exampleConfig(t, dir)
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:01:00Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:01:20Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:05Z","eventType":"state.is_leaderless"}`,
	}, "\n")+"\n"), 0o644)
	_, stderr, code := leaderhook(t, "replay", "-c", config, "--cluster", "ziti-prod", events)
	want := events + `:4: dated 2026-01-01T00:00:05Z, 1m15s before line 3, further out of order than --reorder-window 10s: ` +
		`applied at the replay's clock, as the daemon dates a late event on arrival`
	if code != 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "1 events beyond --reorder-window applied late") {
		t.Errorf("exit %d; stderr lacks %q:\n%s", code, want, stderr)
	}
}

// An event of an eventType leaderhook does not know is skipped as the
// daemon skips it: named once per type, counted, and no failed replay.
func TestReplaySkipsAnUnknownEventType(t *testing.T) {
	dir := t.TempDir()
	config := exampleConfig(t, dir)
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:01Z","eventType":"state.new_in_ziti"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:02Z","eventType":"state.new_in_ziti"}`,
		`{"namespace":"fabric","event_src_id":"a","timestamp":"2026-01-01T00:00:03Z","eventType":"x"}`,
	}, "\n")+"\n"), 0o644)
	_, stderr, code := leaderhook(t, "replay", "-c", config, "--cluster", "ziti-prod", events)
	want := events + `:2: skipped: eventType "state.new_in_ziti" unknown to leaderhook (the daemon skips it too; told once per eventType)`
	if code != 0 || !strings.Contains(stderr, want) || strings.Count(stderr, "state.new_in_ziti") != 1 ||
		!strings.Contains(stderr, "replayed 1 events") || !strings.Contains(stderr, "3 events skipped") {
		t.Errorf("exit %d; stderr lacks %q once, or the counts:\n%s", code, want, stderr)
	}
}

// replay --execute is a drill: what its actions keep (the alerts an
// alertmanager action has open) is the replay's own, not written into
// state_dir, where a daemon's would be overwritten or taken over.
func TestReplayExecuteLeavesTheDaemonsActionMemories(t *testing.T) {
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer am.Close()
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(`state_dir: `+dir+`/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  am: {type: alertmanager, urls: ["`+am.URL+`"]}
rules:
  - {name: lost, when: leaderless, actions: [am], on_resolve: [am]}
`), 0o644)
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:05Z","eventType":"state.is_leaderless"}`,
	}, "\n")+"\n"), 0o644)
	if _, stderr, code := leaderhook(t, "replay", "-c", config, "--execute", events); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "state")); err == nil {
		t.Errorf("replay --execute wrote into state_dir: %v", entries)
	}
}
