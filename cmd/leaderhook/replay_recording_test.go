package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayOfARecordingWithHeartbeatsAndStops: the heartbeats and stop
// lines of a flight recording decide nothing; replay takes them without a
// rejected line, and decides on the events around them.
func TestReplayOfARecordingWithHeartbeatsAndStops(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	body := "clusters:\n  - {name: ziti, stabilize: 2s, source: {type: events, http: true}}\n" +
		"actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/hook\"}\n" +
		"rules:\n  - {name: lost, when: leaderless, actions: [hook]}\n"
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	recording := strings.Join([]string{
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T08:00:00.000000000Z","state":{"engine":{"clusters":null},"views":null}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:00:01.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-07T08:01:01.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"stop","timestamp":"2026-12-07T08:01:30.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T09:00:00.000000000Z","state":{"engine":{"clusters":null},"views":null}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T09:00:01.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T09:00:03.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-07T09:01:03.000000000Z"}`,
	}, "\n") + "\n"
	inputs := filepath.Join(dir, "inputs.jsonl")
	if err := os.WriteFile(inputs, []byte(recording), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := leaderhook(t, "replay", "-c", config, "--format", "json", inputs)
	if code != 0 || strings.Contains(stderr, "line skipped") || !strings.Contains(stderr, "2 starts of the daemon") ||
		!strings.Contains(out, `"eventType":"state.is_leaderless","since":"2026-12-07T09:00:01`) {
		t.Errorf("exit %d; want 0, no line skipped, 2 starts, the loss at 09:00:01\n%s%s", code, out, stderr)
	}
}
