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
	"syscall"
	"testing"
)

// writeConfig writes a one-cluster config whose actions are given as YAML.
func writeConfig(t *testing.T, dir, actions, rules string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	body := fmt.Sprintf("audit_log: %s/audit.jsonl\nclusters:\n  - name: c1\n    source: {type: events, stdin: true}\nactions:\n%s\nrules:\n%s\n", dir, actions, rules)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFireSendsOneSampleForReal(t *testing.T) {
	rcv := &receiver{failures: 1}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "note.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$LEADERHOOK_RULE $LEADERHOOK_STATUS $1\"\n"), 0o755)
	config := writeConfig(t, dir, fmt.Sprintf(`  hook: {type: webhook, url: "%s/h", secret: s3cr3t-value, retry: {max_attempts: 3, initial_backoff: 10ms, max_backoff: 10ms}}
  note: {type: shell, command: [%s, "{{ .Cluster }}"]}`, srv.URL, script), `  - {name: r, when: leaderless, actions: [hook, note]}`)

	out, stderr, code := run(t, nil, "fire", "-c", config, "hook")
	if code != 0 || !strings.Contains(out, "attempt 1: retry") || !strings.Contains(out, "attempt 2: ok") || !strings.Contains(out, "delivered firing to hook") {
		t.Errorf("fire hook: exit %d\n%s%s", code, out, stderr)
	}
	if reqs := rcv.seen(); len(reqs) != 2 || reqs[0].id != reqs[1].id {
		t.Errorf("receiver saw %+v", reqs)
	}
	out, _, code = run(t, nil, "fire", "-c", config, "note", "--status", "resolved", "--yes")
	if code != 0 || !strings.Contains(out, "leaderhook-fire resolved c1") {
		t.Errorf("fire note: exit %d\n%s", code, out)
	}
	if _, stderr, code := run(t, nil, "fire", "-c", config, "nope"); code != 1 || !strings.Contains(stderr, `no action "nope"`) {
		t.Errorf("unknown action: exit %d %s", code, stderr)
	}
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if strings.Contains(string(audit), "s3cr3t-value") {
		t.Error("the audit log shows the secret")
	}
}

func TestReplayDryRunShowsActionsAndExecuteSends(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := t.TempDir()
	config := writeConfig(t, dir, fmt.Sprintf(`  hook: {type: webhook, url: "%s/h?token=t0ken", secret: s3cr3t-value, headers: {X-Rule: "{{ .Rule }}"}}
  fix: {type: shell, command: [/usr/local/bin/fix.sh, "{{ .PreviousLeaderID }}"]}`, srv.URL),
		`  - {name: gone, when: 'leaderless_for >= duration("20s")', actions: [hook, fix]}`)
	args := []string{"replay", "-c", config, "--format", "json", "--show-actions"}
	out, stderr, code := run(t, nil, append(args, openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var renderings []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		json.Unmarshal([]byte(l), &m)
		if m["kind"] == "action" {
			renderings = append(renderings, m)
		}
	}
	if len(renderings) != 4 { // two outages × two actions
		t.Fatalf("%d action renderings, want 4:\n%s", len(renderings), out)
	}
	hook, _ := json.Marshal(renderings[0])
	fix, _ := json.Marshal(renderings[1])
	if !strings.Contains(string(hook), `"X-Rule":"gone"`) || strings.Contains(string(hook), "t0ken") || strings.Contains(string(hook), "s3cr3t") {
		t.Errorf("webhook rendering: %s", hook)
	}
	if !strings.Contains(string(fix), `"argv":["/usr/local/bin/fix.sh","ctrl1"]`) || !strings.Contains(string(fix), "LEADERHOOK_DRY_RUN=true") {
		t.Errorf("shell rendering: %s", fix)
	}
	if len(rcv.seen()) != 0 {
		t.Fatal("a dry run sent a webhook")
	}

	// --execute sends for real (the missing script fails, and is audited).
	if _, stderr, code := run(t, nil, append([]string{"replay", "-c", config, "--execute"}, openziti1...)...); code != 0 {
		t.Fatalf("--execute: exit %d %s", code, stderr)
	}
	if reqs := rcv.seen(); len(reqs) != 2 {
		t.Errorf("--execute delivered %d webhooks, want 2", len(reqs))
	}
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if !strings.Contains(string(audit), `"action":"fix"`) || !strings.Contains(string(audit), `"kind":"failed"`) {
		t.Errorf("audit log:\n%s", audit)
	}
}

func TestRunDryRunExecutesNothing(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := filepath.Join(dir, "fix.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755)
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, nil, 0o644)
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: c1
    stabilize: 0s
    source: {type: events, file: %s}
actions:
  fix: {type: shell, command: [%s]}
rules:
  - {name: lost, when: leaderless, actions: [fix]}
`, dir, events, script)), 0o644)
	d := startDaemonArgs(t, "run", "-c", config, "--dry-run", "--log-format", "json")
	appendEvent(t, events, "state.has_leader", "m1")
	appendEvent(t, events, "state.is_leaderless", "")
	waitFor(t, "the dry run", func() bool { return strings.Contains(d.logs(), "dry run: action not executed") }, d)
	// A stop delivers what is queued before "leaderhook stopped": had the
	// action been queued for real, the script has run by then.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the daemon to stop", func() bool { return strings.Contains(d.logs(), "leaderhook stopped") }, d)
	if _, err := os.Stat(marker); err == nil {
		t.Error("--dry-run executed the script")
	}
	if !strings.Contains(d.logs(), `"argv":["`+script+`"]`) {
		t.Errorf("the dry run does not show the argv:\n%s", d.logs())
	}
}

// Values that ${VAR}s put into an action's body, headers or env are
// treated as secrets: sent for real, but never shown in a dry-run
// rendering, the audit log (the receiver's answer, the script's output)
// or the daemon's output.
func TestEnvValuesInActionsAreRedacted(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		sent = append(sent, string(body)+" "+r.Header.Get("X-Routing"))
		mu.Unlock()
		w.WriteHeader(400) // permanent: the answer, echoing the body, is audited
		w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	secrets := []string{"pd-routing-0123456789", "hdr-token-0123456789", "sh-token-0123456789"}
	env := []string{"PD_KEY=" + secrets[0], "HDR_TOKEN=" + secrets[1], "SH_TOKEN=" + secrets[2]}
	config := writeConfig(t, dir, fmt.Sprintf(`  hook:
    type: webhook
    url: "%s/h"
    headers: {X-Routing: "${HDR_TOKEN}"}
    body: '{"routing_key": "${PD_KEY}", "rule": "{{ .Rule }}"}'
  fix: {type: shell, command: [/bin/sh, -c, 'echo "token $TOKEN"; exit 1'], env: {TOKEN: "${SH_TOKEN}"}}`, srv.URL),
		`  - {name: gone, when: 'leaderless_for >= duration("20s")', actions: [hook, fix]}`)
	leaks := func(what, s string) {
		t.Helper()
		for _, v := range secrets {
			if strings.Contains(s, v) {
				t.Errorf("%s shows %s:\n%s", what, v, s)
			}
		}
	}

	out, stderr, code := run(t, env, append([]string{"replay", "-c", config, "--format", "json", "--show-actions"}, openziti1...)...)
	if code != 0 || !strings.Contains(out, `"kind":"action"`) || !strings.Contains(out, "REDACTED") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, stderr)
	}
	leaks("the dry-run rendering", out+stderr)

	out, stderr, code = run(t, env, append([]string{"replay", "-c", config, "--execute"}, openziti1...)...)
	if code != 0 {
		t.Fatalf("--execute: exit %d %s", code, stderr)
	}
	leaks("replay --execute", out+stderr)
	mu.Lock()
	if len(sent) != 2 || !strings.Contains(sent[0], `"routing_key": "`+secrets[0]+`"`) || !strings.HasSuffix(sent[0], " "+secrets[1]) {
		t.Errorf("the receiver got %q: the real values must be sent", sent)
	}
	mu.Unlock()
	audit, _ := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if !strings.Contains(string(audit), `"kind":"failed"`) || !strings.Contains(string(audit), "token REDACTED") {
		t.Errorf("audit log lacks the failures or the script's redacted output:\n%s", audit)
	}
	leaks("the audit log", string(audit))
}
