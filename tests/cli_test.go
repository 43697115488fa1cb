// Package tests holds end-to-end tests: they build the leaderhook binary and
// run it as an operator would, on real files.
package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "leaderhook-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "leaderhook")
	// With the race detector: the end-to-end tests are where the daemon's
	// goroutines meet real load, and a race found there fails the test
	// that saw it (see startDaemonArgs).
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/leaderhook")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building leaderhook:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the binary and returns stdout, stderr and the exit status.
func run(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// line is one line of `replay --format json`.
type line struct {
	Kind             string   `json:"kind"`
	Time             string   `json:"time"`
	Cluster          string   `json:"cluster"`
	EventType        string   `json:"eventType"`
	LeaderID         string   `json:"leaderId"`
	PreviousLeaderID string   `json:"previousLeaderId"`
	Since            string   `json:"since"`
	Baseline         bool     `json:"baseline"`
	Rule             string   `json:"rule"`
	Outcome          string   `json:"outcome"`
	Reason           string   `json:"reason"`
	Actions          []string `json:"actions"`
	RuleLeaderID     *string  `json:"leader_id"`
	LeaderlessForMS  *int64   `json:"leaderless_for_ms"`
}

var nanoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)$`)

func parseLines(t *testing.T, out string) []line {
	t.Helper()
	var lines []line
	sc := bufio.NewScanner(strings.NewReader(out))
	prev := ""
	for sc.Scan() {
		var l line
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("not JSON: %q: %v", sc.Text(), err)
		}
		if !nanoTime.MatchString(l.Time) {
			t.Errorf("time %q is not RFC 3339 with nanoseconds", l.Time)
		}
		if l.Time < prev {
			t.Errorf("lines out of time order: %s after %s", l.Time, prev)
		}
		prev = l.Time
		if l.Kind == "rule" && (l.RuleLeaderID == nil || l.LeaderlessForMS == nil || l.Actions == nil) {
			t.Errorf("rule line lacks leader_id, leaderless_for_ms or actions: %s", sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

func at(hms string) time.Time {
	v, _ := time.Parse(time.RFC3339Nano, "2026-11-24T"+hms+"Z")
	return v
}

var openziti1 = []string{
	"../testdata/openziti-1/events-ctrl1.jsonl",
	"../testdata/openziti-1/events-ctrl2.jsonl",
	"../testdata/openziti-1/events-ctrl3.jsonl",
}

// TestReplayExamplesOverOpenZiti1 is the acceptance check of the engine
// issue: the example rules over the real recording of a 3-controller
// OpenZiti cluster (testdata/openziti-1/README.md has the ground truth).
func TestReplayExamplesOverOpenZiti1(t *testing.T) {
	out, stderr, code := run(t, nil, append([]string{"replay", "--config", "../examples/rules.yaml", "--format", "json"}, openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := parseLines(t, out)

	// Leader changes: R1, R2, R3 and QL1 (QL2 ends with ctrl3, as before it).
	var changes []string
	var losses []line
	for _, l := range lines {
		if l.Kind == "state" && l.EventType == "state.has_leader" && l.PreviousLeaderID != "" && l.PreviousLeaderID != l.LeaderID {
			changes = append(changes, l.PreviousLeaderID+">"+l.LeaderID)
		}
		if l.Kind == "state" && l.EventType == "state.is_leaderless" && !l.Baseline {
			losses = append(losses, l)
		}
	}
	if got := strings.Join(changes, " "); got != "ctrl1>ctrl3 ctrl3>ctrl2 ctrl2>ctrl1 ctrl1>ctrl3" {
		t.Errorf("leader changes: %s", got)
	}
	// Every loss announced lies in a real outage (kill → new leader + stabilize): no restart blip.
	outages := [][2]string{{"13:55:57.0", "13:56:06.6"}, {"13:56:10.9", "13:56:18.5"}, {"13:56:22.7", "13:56:32.1"},
		{"13:56:36.3", "13:57:12.9"}, {"13:57:19.5", "13:58:39.6"}, {"13:58:59.0", "13:59:59.9"}} // the end: every controller stopped
	var ql []time.Time
	for _, l := range losses {
		when, since := ts(t, l.Time), ts(t, l.Since)
		inside := false
		for i, o := range outages {
			if !when.Before(at(o[0])) && !when.After(at(o[1])) {
				inside = true
				if i == 3 || i == 4 { // QL1, QL2
					ql = append(ql, since)
				}
			}
		}
		if !inside {
			t.Errorf("leader loss announced at %s while the cluster had a leader", l.Time)
		}
	}
	if len(ql) != 2 {
		t.Fatalf("want the two quorum losses QL1 and QL2 reported, got %d", len(ql))
	}
	// True starts: within a few ms of the kills at 13:56:36.36 and 13:57:19.55.
	for i, kill := range []time.Time{at("13:56:36.36"), at("13:57:19.55")} {
		if d := ql[i].Sub(kill); d < 0 || d > 100*time.Millisecond {
			t.Errorf("QL%d dated from %s, %s after the kill", i+1, ql[i].Format("15:04:05.000"), d)
		}
	}
	fired := func(rule string) []time.Time {
		var out []time.Time
		for _, l := range lines {
			if l.Kind == "rule" && l.Rule == rule && l.Outcome == "fired" {
				out = append(out, ts(t, l.Time))
			}
		}
		return out
	}
	want20 := []time.Time{ql[0].Add(20 * time.Second), ql[1].Add(20 * time.Second)}
	if got := fired("leaderless-20s"); len(got) != 2 || !got[0].Equal(want20[0]) || !got[1].Equal(want20[1]) {
		t.Errorf("leaderless-20s fired at %v, want %v (QL1, QL2 true start + 20 s)", got, want20)
	}
	if got := fired("leaderless-60s"); len(got) != 1 || !got[0].Equal(ql[1].Add(60*time.Second)) {
		t.Errorf("leaderless-60s fired at %v, want only QL2 true start + 60 s = %v", got, ql[1].Add(60*time.Second))
	}
	if !strings.Contains(stderr, "replayed 99 events") {
		t.Errorf("summary on stderr: %q", stderr)
	}
}

// TestReplayOpenZiti1GroundTruth replays the recording with its own rules
// (testdata/openziti-1/rules.yaml) and checks the firings against what
// really happened, as the shared check-openziti-1 tool does.
func TestReplayOpenZiti1GroundTruth(t *testing.T) {
	out, stderr, code := run(t, nil, append([]string{"replay", "--config", "../testdata/openziti-1/rules.yaml", "--cluster", "ziti", "--format", "json"}, openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fired := map[string][]time.Time{}
	for _, l := range parseLines(t, out) {
		if l.Kind == "rule" && l.Outcome == "fired" {
			fired[l.Rule] = append(fired[l.Rule], ts(t, l.Time))
		}
	}
	within := func(rule, lo, hi string) {
		n := 0
		for _, f := range fired[rule] {
			if !f.Before(at(lo)) && !f.After(at(hi)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: want one firing in [%s, %s], got %v", rule, lo, hi, fired[rule])
		}
	}
	within("gone-20s", "13:56:56.3", "13:57:00.8")
	within("gone-20s", "13:57:39.5", "13:57:43.1")
	within("gone-60s", "13:58:19.5", "13:58:23.1")
	for _, w := range [][2]string{{"13:56:04.0", "13:56:06.6"}, {"13:56:15.9", "13:56:18.5"}, {"13:56:29.5", "13:56:32.1"}, {"13:57:10.3", "13:57:12.9"}} {
		within("changed", w[0], w[1])
	}
	for rule, n := range map[string]int{"gone-20s": 2, "gone-60s": 1, "changed": 4} {
		if len(fired[rule]) != n {
			t.Errorf("%s fired %d times, want %d", rule, len(fired[rule]), n)
		}
	}
	if f := fired["flap"]; len(f) == 0 || f[0].Before(at("13:56:15.9")) || f[0].After(at("13:56:32.1")) {
		t.Errorf("flap: want the first firing between R2 and the end of R3, got %v", f)
	}
}

func TestReplayTextTimeline(t *testing.T) {
	out, stderr, code := run(t, nil, append([]string{"replay", "-c", "../examples/rules.yaml"}, openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"2026-11-24 13:56:38.379  ziti-prod    LEADER LOST (was ctrl1), leaderless since 2026-11-24 13:56:36.379",
		"2026-11-24 13:56:56.379  ziti-prod      rule leaderless-20s FIRED after 20s without a leader -> chat [time]",
		"2026-11-24 13:57:10.398  ziti-prod    leader ctrl3 (was ctrl1)",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("timeline lacks %q:\n%s", want, out)
		}
	}
}

func TestReplayRejectsMalformedLinesAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:01Z","eventType":"state.has_leader"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:10Z","eventType":"state.is_leaderless"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:01:10Z","eventType":"state.has_leader","leaderId":"a"}`,
	}, "\n")+"\n"), 0o644)
	out, stderr, code := run(t, nil, "replay", "-c", "../examples/rules.yaml", "--format", "json", events)
	if code != 1 {
		t.Errorf("exit %d, want 1 for a rejected line", code)
	}
	if !strings.Contains(stderr, events+`:2: state.has_leader without "leaderId"`) {
		t.Errorf("stderr does not name the line and reason: %q", stderr)
	}
	if !strings.Contains(out, `"rule":"leaderless-20s","outcome":"fired"`) || !strings.Contains(out, `"rule":"leaderless-60s","outcome":"fired"`) {
		t.Errorf("the lines after the bad one were not replayed:\n%s", out)
	}
}

// TestReplayRejectsEventsOfClustersNotInTheConfig: a recording names each
// event's cluster; replayed against a config without that cluster, the
// events cannot be replayed, which must not pass as a replay where
// nothing fired.
func TestReplayRejectsEventsOfClustersNotInTheConfig(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"a","cluster":"ziti-prod"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:10Z","eventType":"state.is_leaderless","cluster":"ziti-staging"}`,
	}, "\n")+"\n"), 0o644)
	out, stderr, code := run(t, nil, "replay", "-c", "../examples/rules.yaml", "--format", "json", events)
	if code != 1 {
		t.Errorf("exit %d, want 1 for a rejected line", code)
	}
	if !strings.Contains(stderr, events+`:2: cluster "ziti-staging" is not in the config`) {
		t.Errorf("stderr does not name the line and reason: %q", stderr)
	}
	if !strings.Contains(out, `"kind":"state"`) {
		t.Errorf("the good line was not replayed:\n%s", out)
	}
}

// TestReplaySaysWhatWasStillDueAtTheEnd: a recording that ends during an
// outage, before stabilize has passed: the replay stops at the last event,
// and says what time alone would still have decided, and when.
func TestReplaySaysWhatWasStillDueAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(strings.Join([]string{
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"a"}`,
		`{"namespace":"cluster","event_src_id":"a","timestamp":"2026-01-01T00:00:10Z","eventType":"state.is_leaderless"}`,
	}, "\n")+"\n"), 0o644)
	const due = "the replay stops at 2026-01-01T00:00:10Z; with no more events, LEADER LOST on ziti-prod at 2026-01-01T00:00:12Z: --extend 2s shows it"
	_, stderr, code := run(t, nil, "replay", "-c", "../examples/rules.yaml", events)
	if code != 0 || !strings.Contains(stderr, due) {
		t.Errorf("exit %d; stderr does not say %q:\n%s", code, due, stderr)
	}
	out, stderr, code := run(t, nil, "replay", "-c", "../examples/rules.yaml", "--extend", "1m", events)
	if code != 0 || !strings.Contains(out, "rule leaderless-20s FIRED") || !strings.Contains(stderr, "the replay stops at 2026-01-01T00:01:10Z; with no more events, rule leaderless-60s verify_failed at 2026-01-01T00:03:10Z: --extend 2m0s shows it") {
		t.Errorf("--extend 1m: exit %d\n%s%s", code, out, stderr)
	}
}

func TestReplayStdinAndUsageErrors(t *testing.T) {
	cmd := exec.Command(binary, "replay", "-c", "../examples/rules.yaml", "--format", "json", "-")
	f, err := os.Open(openziti1[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdin = f
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), `"kind":"state"`) {
		t.Errorf("replay from stdin: %v\n%s", err, out)
	}
	if _, stderr, code := run(t, nil, "replay", "-c", "../testdata/openziti-1/rules.yaml", "--cluster", "nope", openziti1[0]); code != 1 || !strings.Contains(stderr, `--cluster "nope" is not in the config`) {
		t.Errorf("unknown cluster: exit %d, %q", code, stderr)
	}
	if _, stderr, code := run(t, nil, "replay", "-c", "../examples/rules.yaml", "/nonexistent.jsonl"); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}

func TestCheckExamples(t *testing.T) {
	out, stderr, code := run(t, nil, "check", "-c", "../examples/rules.yaml")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("check examples/rules.yaml: exit %d\n%s%s", code, out, stderr)
	}
}

func TestCheckBrokenListsEveryError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	os.WriteFile(path, []byte(`clusters:
  - name: z
    source: {type: events, stdin: true}
actions:
  a: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - name: r1
    when: leadr_id == "x"
    actions: [a]
  - name: r2
    when: leaderless
    actions: [b]
`), 0o644)
	_, stderr, code := run(t, nil, "check", "-c", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		path + `:8:11: rules[0].when: unknown name leadr_id`,
		path + `:12:15: rules[1].actions[0]: unknown action "b"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestRuleTestsAndJUnit(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, stderr, code := run(t, nil, "test", "../examples/rules_test.yaml", "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if !regexp.MustCompile(`(?m)^\d+ passed, 0 failed$`).MatchString(out) {
		t.Errorf("no summary line:\n%s", out)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &report); err != nil || len(report.Suites) != 1 || report.Suites[0].Tests < 5 || report.Suites[0].Failures != 0 {
		t.Errorf("junit report: %v %+v\n%s", err, report, data)
	}
}

func TestRuleTestFailureShowsDiff(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.yaml")
	abs, _ := filepath.Abs("../examples/rules.yaml")
	os.WriteFile(path, []byte(`config: `+abs+`
tests:
  - name: wrong expectation
    cluster: ziti-prod
    events:
      - {at: 0s,  eventType: state.has_leader, leaderId: ctrl1}
      - {at: 10s, eventType: state.is_leaderless}
    until: 1m
    expect:
      - {at: 25s, rule: leaderless-20s, outcome: fired}
`), 0o644)
	out, _, code := run(t, nil, "test", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{"FAIL  " + path + ":3: wrong expectation", "! 25s      leaderless-20s fired   30s      leaderless-20s fired", "0 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "leaderhook ") {
		t.Errorf("version: exit %d %q", code, out)
	}
}

// TestRecordThenReplay: record reads the members' events, writes them with
// the states it derives, and replay of the recording reaches the same
// verdicts as replay of the originals.
func TestRecordThenReplay(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rec.yaml")
	os.WriteFile(config, []byte("clusters:\n  - name: ziti\n    source: {type: events, stdin: true}\nactions:\n  n: {type: webhook, url: \"http://127.0.0.1:9/x\"}\nrules:\n  - {name: r, when: leaderless, actions: [n]}\n"), 0o644)
	// stdin is one time-ordered stream: merge the three files first.
	merged, _, code := run(t, nil, append([]string{"replay", "-c", "../testdata/openziti-1/rules.yaml", "--cluster", "ziti", "--format", "json"}, openziti1...)...)
	if code != 0 {
		t.Fatal("replay failed")
	}
	cmd := exec.Command(binary, "record", "-c", config, "-o", filepath.Join(dir, "rec.jsonl"))
	var in bytes.Buffer
	for _, f := range openziti1 {
		data, _ := os.ReadFile(f)
		in.Write(data)
	}
	// Sort by timestamp as a live stream would arrive.
	lines := strings.Split(strings.TrimSpace(in.String()), "\n")
	sort.SliceStable(lines, func(i, j int) bool { return tsOf(lines[i]) < tsOf(lines[j]) })
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("record: %v\n%s", err, out)
	}
	recorded, _ := os.ReadFile(filepath.Join(dir, "rec.jsonl"))
	if n := strings.Count(string(recorded), `"event_src_id":"leaderhook"`); n != 13 {
		t.Errorf("recorded %d state changes, want 13 (the last: every controller stopped)", n)
	}
	again, _, code := run(t, nil, "replay", "-c", "../testdata/openziti-1/rules.yaml", "--cluster", "ziti", "--format", "json", filepath.Join(dir, "rec.jsonl"))
	if code != 0 || again != merged {
		t.Errorf("replay of the recording differs from replay of the originals:\n%s\nvs\n%s", again, merged)
	}
}

func tsOf(line string) string {
	var v struct{ Timestamp string }
	json.Unmarshal([]byte(line), &v)
	t, _ := time.Parse(time.RFC3339Nano, v.Timestamp)
	return t.UTC().Format(time.RFC3339Nano)
}

// Ctrl-C during the demo stops it cleanly: exit 0 and a plain message,
// not "context canceled".
func TestDemoInterrupted(t *testing.T) {
	cmd := exec.Command(binary, "demo")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "is the leader") {
	}
	cmd.Process.Signal(os.Interrupt)
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo interrupted: %v\nstdout: %s\nstderr: %s", err, rest.String(), stderr.String())
	}
	if !strings.Contains(rest.String(), "demo stopped") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stdout %q, stderr %q", rest.String(), stderr.String())
	}
}

// Ctrl-C during `demo --ha`, after the group's leader was killed, stops it
// cleanly too, and leaves none of the nodes' directories behind.
func TestDemoHAInterrupted(t *testing.T) {
	tmp := t.TempDir()
	cmd := exec.Command(binary, "demo", "--ha")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var seen strings.Builder
	for sc.Scan() && !strings.Contains(sc.Text(), "leads the group now") {
		seen.WriteString(sc.Text() + "\n")
	}
	if sc.Err() != nil || !strings.Contains(seen.String(), "killing the leaderhook leader") {
		t.Fatalf("the demo did not get to the group's new leader:\n%s\nstderr: %s", seen.String(), stderr.String())
	}
	cmd.Process.Signal(os.Interrupt)
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo --ha interrupted: %v\nstdout: %s\nstderr: %s", err, rest.String(), stderr.String())
	}
	if !strings.Contains(rest.String(), "demo stopped") || strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stdout %q, stderr %q", rest.String(), stderr.String())
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
}

// With a config time zone, cron times are read in it, but replay shows
// every outcome in the events' zone, in time order: a firing at the end of
// a mute window (03:00 Berlin = 02:00Z, one hour) comes at 03:00Z.
func TestReplayTimezoneKeepsOutputInTheEventsZone(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(`timezone: Europe/Berlin
clusters: [{name: c, stabilize: 2s, source: {type: events, stdin: true}}]
actions: {a: {type: webhook, url: "http://127.0.0.1:9/x"}}
windows: {w: {schedule: "0 3 * * *", duration: 1h}}
rules:
  - {name: ll30, when: 'leaderless_for >= duration("30s")', actions: [a], mute: [w]}
  - {name: daily, when: 'true', schedule: "0 4 * * *", actions: [a]}
`), 0o644)
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(`{"namespace":"cluster","event_src_id":"c1","timestamp":"2025-01-05T01:59:00.000000000Z","eventType":"state.has_leader","leaderId":"a"}
{"namespace":"cluster","event_src_id":"c1","timestamp":"2025-01-05T02:01:00.000000000Z","eventType":"state.is_leaderless"}
{"namespace":"cluster","event_src_id":"c1","timestamp":"2025-01-05T03:30:00.000000000Z","eventType":"state.has_leader","leaderId":"a"}
`), 0o644)
	out, stderr, code := run(t, nil, "replay", "-c", config, "--format", "json", "--show-actions=false", events)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var times []string
	fired := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m struct {
			Time, Rule, Outcome string
		}
		json.Unmarshal([]byte(l), &m)
		if !strings.HasSuffix(m.Time, "Z") {
			t.Errorf("not in the events' zone (UTC): %s", l)
		}
		times = append(times, m.Time)
		if m.Outcome != "fired" {
			continue
		}
		fired++
		if !strings.HasPrefix(m.Time, "2025-01-05T03:00:00") {
			t.Errorf("%s fired at %s, want 03:00Z (the window's end; 04:00 in Berlin)", m.Rule, m.Time)
		}
	}
	if fired != 2 {
		t.Errorf("%d firings, want 2 (ll30 at the window's end, daily):\n%s", fired, out)
	}
	if !slices.IsSorted(times) {
		t.Errorf("output out of time order:\n%s", out)
	}
}
