package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fireConfig writes a config with two clusters and the given actions.
func fireConfig(t *testing.T, dir, actions string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	body := "clusters:\n  - {name: east, source: {type: events, http: true}}\n  - {name: west, source: {type: events, http: true}}\n" +
		"actions:\n" + actions + "\nrules:\n  - {name: r, when: leaderless, actions: [failover]}\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fire tests one action: after a failure it names the on_failure actions
// it did not run, and how to fire each, and runs none of them.
func TestFireListsFallbacksItDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "fallback-ran")
	config := fireConfig(t, dir, fmt.Sprintf(`  failover: {type: shell, command: [/bin/sh, -c, "exit 3"], on_failure: [page, note]}
  page: {type: shell, command: [/bin/sh, -c, "echo page >> %[1]s"]}
  note: {type: shell, command: [/bin/sh, -c, "echo note >> %[1]s"]}`, ran))

	out, stderr, code := leaderhook(t, "fire", "-c", config, "failover", "--status", "resolved", "--cluster", "west")
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s%s", code, out, stderr)
	}
	want := "not run: on_failure page, note (fire tests one action). Test each with:\n" +
		"  leaderhook fire -c " + config + " page --status resolved --cluster west\n" +
		"  leaderhook fire -c " + config + " note --status resolved --cluster west\n"
	if !strings.Contains(out, "FAILED to deliver to failover after 1 attempts") || !strings.HasSuffix(out, want) {
		t.Errorf("output:\n%s\nwant it to end with:\n%s", out, want)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("fire ran a fallback action")
	}

	// The commands it prints work as printed.
	out, stderr, code = leaderhook(t, "fire", "-c", config, "page", "--status", "resolved", "--cluster", "west")
	if code != 0 || !strings.Contains(out, "delivered resolved to page") {
		t.Errorf("fire page: exit %d\n%s%s", code, out, stderr)
	}

	// Without fallbacks, or once delivered, there is nothing to say.
	out, _, _ = leaderhook(t, "fire", "-c", config, "note")
	if strings.Contains(out, "not run") {
		t.Errorf("fire note:\n%s", out)
	}
}

func TestFireRefusesAnUnknownCluster(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	config := fireConfig(t, dir, fmt.Sprintf(`  failover: {type: shell, command: [/bin/sh, -c, "echo ran > %s"]}`, ran))
	out, stderr, code := leaderhook(t, "fire", "-c", config, "failover", "--cluster", "nosuch")
	want := `leaderhook: --cluster "nosuch" is not in ` + config + " (clusters: east, west)\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q\n%s", code, stderr, want, out)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the action ran")
	}
	if out, _, code := leaderhook(t, "fire", "-c", config, "failover", "--cluster", "west"); code != 0 {
		t.Errorf("--cluster west: exit %d\n%s", code, out)
	}
}

// A script that runs past its timeout is reported as timed out, in the
// words of the timeout, not as interrupted.
func TestFireReportsATimeout(t *testing.T) {
	config := fireConfig(t, t.TempDir(), `  failover: {type: shell, command: [/bin/sleep, "10"], timeout: 200ms, kill_grace: 100ms}`)
	out, _, code := leaderhook(t, "fire", "-c", config, "failover")
	if code != 1 || !strings.Contains(out, "attempt 1: retry") || !strings.Contains(out, "/bin/sleep timed out after 200ms") ||
		!strings.Contains(out, "FAILED to deliver to failover after 1 attempts: /bin/sleep timed out after 200ms") ||
		strings.Contains(out, "interrupted") || strings.Contains(out, "deadline") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
