package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leaderhook runs the CLI in-process and returns stdout, stderr and the
// exit status.
func leaderhook(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// exampleConfig copies examples/rules.yaml into dir, as the help's
// examples expect to find it.
func exampleConfig(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The test file shown by `leaderhook test --help` passes against the
// example config, saved where the help says.
func TestTestHelpExampleRuns(t *testing.T) {
	help, _, code := leaderhook(t, "test", "--help")
	if code != 0 {
		t.Fatalf("test --help: exit %d", code)
	}
	// The example is the block indented by two spaces that starts with config:.
	var example []string
	for _, line := range strings.Split(help, "\n") {
		if len(example) == 0 && !strings.HasPrefix(line, "  config:") {
			continue
		}
		if !strings.HasPrefix(line, "  ") {
			break
		}
		example = append(example, line)
	}
	if len(example) < 5 {
		t.Fatalf("no example test file in the help:\n%s", help)
	}
	if !strings.Contains(help, "examples/chat_test.yaml") {
		t.Fatalf("the help does not say where to save the example:\n%s", help)
	}
	dir := filepath.Join(t.TempDir(), "examples")
	os.Mkdir(dir, 0o755)
	exampleConfig(t, dir)
	path := filepath.Join(dir, "chat_test.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(example, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := leaderhook(t, "test", path)
	if code != 0 || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("the help's example: exit %d\n%s%s\nexample:\n%s", code, out, stderr, strings.Join(example, "\n"))
	}
}

// A rule that the config does not have, in expect or in rules, is an
// error naming it and the config's rules; no test of the file runs.
func TestTestUnknownRuleIsAnError(t *testing.T) {
	dir := t.TempDir()
	exampleConfig(t, dir)
	path := filepath.Join(dir, "t_test.yaml")
	os.WriteFile(path, []byte(`config: rules.yaml
tests:
  - name: a good test
    cluster: ziti-prod
    events:
      - {at: 0s,  eventType: state.has_leader, leaderId: ctrl1}
      - {at: 10s, eventType: state.is_leaderless}
    until: 1m
    expect:
      - {at: 30s, rule: leaderless-20s, outcome: fired}
  - name: a misspelt rule
    cluster: ziti-prod
    rules: [leaderless-20s, leader-chnaged]
    events:
      - {at: 0s,  eventType: state.has_leader, leaderId: ctrl1}
      - {at: 10s, eventType: state.is_leaderless}
    expect:
      - {at: 40s, rule: leaderless-30s, outcome: fired}
`), 0o644)
	out, _, code := leaderhook(t, "test", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"ERROR " + path + `:13:29: tests[1].rules[1]: no rule "leader-chnaged" in the config`,
		"ERROR " + path + `:18:25: tests[1].expect[0].rule: no rule "leaderless-30s" in the config`,
		"rules in " + filepath.Join(dir, "rules.yaml") + ": leaderless-20s, leaderless-60s, leaderless-still, leader-changed, leader-changed-expected, split-brain, no-fault-tolerance, watcher-cut-off, flapping, leader-stuck, morning-report",
		"0 passed, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(nothing)") || strings.Contains(out, "a good test") {
		t.Errorf("tests ran despite the unknown rules:\n%s", out)
	}
}

// A source that is not one of the cluster's members (a typo) is an error
// naming its line: the detector ignores strangers' reports, so the test
// would pass as one where the rules stayed quiet.
func TestTestSourceNotAMemberIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(`clusters:
  - name: ziti
    members: [ctrl1, ctrl2, ctrl3]
    source: {type: events, http: true}
actions:
  chat: {type: webhook, url: "http://127.0.0.1:9/x"}
rules:
  - {name: leader-lost, when: leaderless, actions: [chat]}
`), 0o644)
	path := filepath.Join(dir, "t_test.yaml")
	os.WriteFile(path, []byte(`config: rules.yaml
tests:
  - name: a restarting member's blip pages nobody
    rules: [leader-lost]
    events:
      - {at: 0s, source: ctrl1, eventType: state.has_leader, leaderId: ctrl1}
      - {at: 0s, source: ctrl2, eventType: state.has_leader, leaderId: ctrl1}
      - {at: 0s, source: ctr3, eventType: state.has_leader, leaderId: ctrl1}
      - {at: 5s, source: ctrl2, eventType: state.is_leaderless}
    until: 1m
    expect: []
`), 0o644)
	out, _, code := leaderhook(t, "test", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := "ERROR " + path + `:8:26: tests[0].events[2].source: "ctr3" is not a member of cluster "ziti" (members: ctrl1, ctrl2, ctrl3)`
	if !strings.Contains(out, want) || strings.Contains(out, "ok ") {
		t.Errorf("output lacks %q, or the test ran:\n%s", want, out)
	}
}

// A start without a time zone is in the config's timezone, as its windows
// are: 00:59 in Berlin is before a 02:00 window there, though 00:59 UTC
// is inside it.
func TestTestStartIsInTheConfigsTimezone(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(`timezone: Europe/Berlin
clusters:
  - name: ziti
    source: {type: events, http: true}
actions:
  chat: {type: webhook, url: "http://127.0.0.1:9/x"}
windows:
  night: {schedule: "0 2 * * *", duration: 2h}
rules:
  - {name: lost, when: leaderless_for >= duration("30s"), actions: [chat], mute: [night]}
`), 0o644)
	for _, start := range []string{"2026-11-29 00:59", "2026-11-29T00:59:00", "2026-11-29 00:59:00", "2026-11-28T23:59:00Z", "2026-11-29T00:59:00+01:00"} {
		path := filepath.Join(dir, "t_test.yaml")
		os.WriteFile(path, []byte(`config: rules.yaml
tests:
  - name: an outage at 01:01 pages
    start: `+start+`
    events:
      - {at: 0s, eventType: state.has_leader, leaderId: c1}
      - {at: 2m, eventType: state.is_leaderless}
    expect:
      - {at: 2m30s, rule: lost, outcome: fired}
`), 0o644)
		out, _, code := leaderhook(t, "test", path)
		if code != 0 {
			t.Errorf("start: %s: exit %d\n%s", start, code, out)
		}
	}
}
