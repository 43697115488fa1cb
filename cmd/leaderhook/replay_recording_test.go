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
	config, recording := writeRecording(t,
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T08:00:00.000000000Z","state":{"engine":{"clusters":null},"views":null}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:00:01.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-07T08:01:01.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"stop","timestamp":"2026-12-07T08:01:30.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T09:00:00.000000000Z","state":{"engine":{"clusters":null},"views":null}}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T09:00:01.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T09:00:03.000000000Z"}`,
		`{"namespace":"leaderhook","eventType":"heartbeat","timestamp":"2026-12-07T09:01:03.000000000Z"}`,
	)
	out, stderr, code := leaderhook(t, "replay", "-c", config, "--format", "json", recording)
	if code != 0 || strings.Contains(stderr, "line skipped") || !strings.Contains(stderr, "2 starts of the daemon") ||
		!strings.Contains(out, `"eventType":"state.is_leaderless","since":"2026-12-07T09:00:01`) {
		t.Errorf("exit %d; want 0, no line skipped, 2 starts, the loss at 09:00:01\n%s%s", code, out, stderr)
	}
}

// writeRecording writes a config with one cluster, ziti, and a flight
// recording of lines, and returns their paths.
func writeRecording(t *testing.T, lines ...string) (config, recording string) {
	t.Helper()
	dir := t.TempDir()
	config = filepath.Join(dir, "rules.yaml")
	body := "clusters:\n  - {name: ziti, stabilize: 2s, source: {type: events, http: true}}\n" +
		"actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/hook\"}\n" +
		"rules:\n  - {name: lost, when: leaderless, actions: [hook]}\n"
	recording = filepath.Join(dir, "inputs.jsonl")
	for path, data := range map[string]string{config: body, recording: strings.Join(lines, "\n") + "\n"} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return config, recording
}

const recordedStart = `{"namespace":"leaderhook","eventType":"start","timestamp":"2026-12-07T08:06:42.000000000Z","state":{"engine":{"clusters":null},"views":null}}`

// An event of a flight recording whose cluster the config does not have is
// rejected with its file and line, and the replay exits 1, as with event
// files: a replay that left it out must not pass for one where nothing
// happened.
func TestReplayRecordingRejectsClustersNotInTheConfig(t *testing.T) {
	config, recording := writeRecording(t, recordedStart,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:44.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.is_leaderless","cluster":"ziti-staging"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:06:50.000000000Z"}`,
	)
	out, stderr, code := leaderhook(t, "replay", "-c", config, recording)
	if code != 1 {
		t.Errorf("exit %d, want 1 for a rejected line", code)
	}
	if want := recording + `:3: cluster "ziti-staging" is not in the config (line skipped)`; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if !strings.Contains(stderr, "replayed 1 events") || !strings.Contains(out, "leader c1") {
		t.Errorf("the good line was not replayed, or the bad one was counted:\n%s%s", out, stderr)
	}
}

// A flight recording that ends while time would still decide something
// (here a loss within stabilize) says so, and the --extend that shows it,
// as a replay of event files does.
func TestReplayRecordingSaysWhatWasStillDueAtTheEnd(t *testing.T) {
	config, recording := writeRecording(t, recordedStart,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:44.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
	)
	const due = "the replay stops at 2026-12-07T08:06:45Z; with no more events, LEADER LOST on ziti at 2026-12-07T08:06:47Z: --extend 2s shows it"
	_, stderr, code := leaderhook(t, "replay", "-c", config, recording)
	if code != 0 || !strings.Contains(stderr, due) {
		t.Errorf("exit %d; stderr does not say %q:\n%s", code, due, stderr)
	}
	out, stderr, code := leaderhook(t, "replay", "-c", config, "--extend", "5s", recording)
	if code != 0 || !strings.Contains(out, "rule lost FIRED") || strings.Contains(stderr, "the replay stops") {
		t.Errorf("--extend 5s: exit %d\n%s%s", code, out, stderr)
	}
}

// TestReplayRecordingExtendsFromWhereTheReplayStopped: a flight recording
// whose daemon's clock ran past the last event (a time line) stops the
// replay there, and --extend counts from there, as the --extend the
// replay suggests does: following the suggestion shows what it named.
func TestReplayRecordingExtendsFromWhereTheReplayStopped(t *testing.T) {
	config, recording := writeRecording(t, recordedStart,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:44.000000000Z","eventType":"state.has_leader","leaderId":"c1","cluster":"ziti"}`,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
		`{"namespace":"leaderhook","eventType":"time","timestamp":"2026-12-07T08:06:47.000000000Z"}`,
	)
	rules := "clusters:\n  - {name: ziti, stabilize: 2s, source: {type: events, http: true}}\n" +
		"actions:\n  hook: {type: webhook, url: \"http://127.0.0.1:9/hook\"}\n" +
		"rules:\n  - {name: lost-30s, when: 'leaderless && leaderless_for >= duration(\"30s\")', actions: [hook]}\n"
	if err := os.WriteFile(config, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	const due = "the replay stops at 2026-12-07T08:06:47Z; with no more events, rule lost-30s fired at 2026-12-07T08:07:15Z: --extend 28s shows it"
	if _, stderr, code := leaderhook(t, "replay", "-c", config, recording); code != 0 || !strings.Contains(stderr, due) {
		t.Fatalf("exit %d; stderr does not say %q:\n%s", code, due, stderr)
	}
	cases := []struct {
		extend string
		fires  bool
	}{
		{"27s", false}, // to 08:07:14
		{"28s", true},  // to 08:07:15, as suggested
	}
	for _, c := range cases {
		out, stderr, code := leaderhook(t, "replay", "-c", config, "--extend", c.extend, recording)
		if fired := strings.Contains(out, "rule lost-30s FIRED"); code != 0 || fired != c.fires {
			t.Errorf("--extend %s: exit %d, fired %t; want 0, fired %t\n%s%s", c.extend, code, fired, c.fires, out, stderr)
		}
	}
}

// An event of an eventType leaderhook does not know, in a recording, is
// skipped as the daemon and an event file's replay skip it: named once,
// counted, and no failed replay.
func TestReplayRecordingSkipsAnUnknownEventType(t *testing.T) {
	unknown := `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:45.000000000Z","eventType":"state.new_in_ziti","cluster":"ziti"}`
	config, recording := writeRecording(t, recordedStart, unknown, unknown,
		`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-12-07T08:06:46.000000000Z","eventType":"state.is_leaderless","cluster":"ziti"}`)
	_, stderr, code := leaderhook(t, "replay", "-c", config, recording)
	want := recording + `:2: skipped: eventType "state.new_in_ziti" unknown to leaderhook (the daemon skips it too; told once per eventType)`
	if code != 0 || !strings.Contains(stderr, want) || strings.Count(stderr, "state.new_in_ziti") != 1 ||
		!strings.Contains(stderr, "2 events skipped") || !strings.Contains(stderr, "replayed 1 events") {
		t.Errorf("exit %d; stderr lacks %q once, or the counts:\n%s", code, want, stderr)
	}
}

// A flight recording of the previous release, whose daemon made up
// nothing once as it started again (rules.Engine.Resume came later) and
// sent at its restart every repeat it had missed while down, is replayed
// as it decided: each missed repeat fires, not one made up at the start.
// The same recording as this version's daemon writes it (its start marked
// "resume") replays with the one repeat made up at the start.
func TestReplayOfAPreviousReleasesRecordingDecidesAsItsDaemonDid(t *testing.T) {
	dir := filepath.Join("testdata", "previous-release")
	recorded, err := os.ReadFile(filepath.Join(dir, "inputs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	resumed := filepath.Join(t.TempDir(), "inputs.jsonl")
	marked := strings.ReplaceAll(string(recorded), `"eventType":"start",`, `"eventType":"start","resume":true,`)
	if err := os.WriteFile(resumed, []byte(marked), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, recording, fired string
		want, not              string
	}{
		{"previous release", filepath.Join(dir, "inputs.jsonl"), "8 fired",
			"14:56:34.989  ziti           rule lost FIRED after 9s", "14:56:39.015"},
		{"this version", resumed, "3 fired",
			"14:56:39.015  ziti           rule lost FIRED after 13.025s", "14:56:34.989"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := leaderhook(t, "replay", "-c", filepath.Join(dir, "rules.yaml"), c.recording)
			if code != 0 || !strings.Contains(stderr, "2 starts of the daemon") || !strings.Contains(stderr, c.fired) ||
				!strings.Contains(out, c.want) || strings.Contains(out, c.not) {
				t.Errorf("exit %d; want %s, %q and not %q:\n%s%s", code, c.fired, c.want, c.not, out, stderr)
			}
		})
	}
}
