package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// fenceConfig writes a config for one cluster fed over HTTP, with the
// given actions and rules, an audit log and a state_dir in dir.
func fenceConfig(t *testing.T, dir, actions, rules string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	body := fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %[1]s/state
audit_log: %[1]s/audit.jsonl
clusters:
  - {name: c1, stabilize: 0s, source: {type: events, http: true}}
actions:
%[2]s
rules:
%[3]s
`, dir, actions, rules)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// postEvent sends one member report for c1 until it is accepted: a 503
// asks to send it again (right after "leaderhook running", the decision
// loop may not have started yet).
func postEvent(t *testing.T, d *daemon, typ, leader string) {
	t.Helper()
	url, event := d.baseURL(t)+"/v1/events?cluster=c1", ev("m1", typ, leader)
	waitFor(t, "POST "+typ+" "+leader, func() bool {
		code, body := post(t, url, "", event)
		if code != 202 && code != 503 {
			t.Fatalf("POST %s %s: %d %s", typ, leader, code, body)
		}
		return code == 202
	}, d)
}

// auditOf lists a rule's audit records as "kind[:outcome]", with the
// detail of those that have one.
func auditOf(t *testing.T, path, rule string) []string {
	t.Helper()
	data, _ := os.ReadFile(path)
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		var r struct{ Kind, Rule, Outcome, Detail string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if r.Rule != rule {
			continue
		}
		s := r.Kind
		if r.Outcome != "" {
			s += ":" + r.Outcome
		}
		if r.Detail != "" {
			s += " " + r.Detail
		}
		out = append(out, s)
	}
	return out
}

// groupMembers lists the live processes of a process group (zombies, dead
// but not yet reaped, are not live), from /proc.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var live []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // ended meanwhile
		}
		// After the command name in parentheses: state, ppid, pgrp.
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			live = append(live, pid)
		}
	}
	return live
}

// A failover script with cancel_on_change runs for a lost leader; the old
// leader comes back while it runs. The script, which ignores SIGTERM and
// has a child, is stopped with its whole process group (SIGKILL after
// kill_grace); the run of a second rule waiting behind it is dropped
// without running; both are in the audit log, and nothing stays pending.
func TestFencedFailoverScriptStopsWhenTheLeaderReturns(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "failover.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
echo "$LEADERHOOK_RULE $LEADERHOOK_SEQ" >> "$1/ran"
trap '' TERM
sleep 60 &
echo $$ > "$1/pgid"
wait
`), 0o755)
	config := fenceConfig(t, dir,
		fmt.Sprintf(`  failover: {type: shell, command: [%s, %s], timeout: 5m, kill_grace: 1s, cancel_on_change: true}`, script, dir),
		`  - {name: lost, when: leaderless, actions: [failover]}
  - {name: lost-too, when: leaderless, actions: [failover]}`)
	d := startDaemon(t, config)
	postEvent(t, d, "state.has_leader", "m1")
	postEvent(t, d, "state.is_leaderless", "")
	pgidFile := filepath.Join(dir, "pgid")
	waitFor(t, "the failover script to start", func() bool { data, _ := os.ReadFile(pgidFile); return strings.HasSuffix(string(data), "\n") }, d)
	pgid, err := strconv.Atoi(strings.TrimSpace(string(mustRead(t, pgidFile))))
	if err != nil {
		t.Fatal(err)
	}
	if live := groupMembers(t, pgid); len(live) < 2 {
		t.Fatalf("the script's group holds %v, want the script and its child", live)
	}

	postEvent(t, d, "state.has_leader", "m1") // the old leader is back
	audit := filepath.Join(dir, "audit.jsonl")
	why := "cluster c1 moved on to state 3; this delivery was decided for state 2"
	waitFor(t, "the run to be cancelled", func() bool { return slices.Contains(auditOf(t, audit, "lost"), "cancelled "+why) }, d)
	if live := groupMembers(t, pgid); len(live) > 0 {
		t.Errorf("processes %v of the script's group survived", live)
	}
	if got, want := auditOf(t, audit, "lost"), []string{"queued", "attempt:cancelled interrupted: " + why, "cancelled " + why}; !slices.Equal(got, want) {
		t.Errorf("audit of the running delivery\n got: %q\nwant: %q", got, want)
	}
	if got, want := auditOf(t, audit, "lost-too"), []string{"queued", "dropped " + why}; !slices.Equal(got, want) {
		t.Errorf("audit of the waiting delivery\n got: %q\nwant: %q", got, want)
	}
	if ran := mustRead(t, filepath.Join(dir, "ran")); ran != "lost 2\n" {
		t.Errorf("runs: %q, want only the first rule's, for state 2", ran)
	}
	d.stop(t)
	if left := unfinished(t, filepath.Join(dir, "state", "pending.log")); len(left) > 0 {
		t.Errorf("deliveries %v are still pending", left)
	}
}

// unfinished lists the ids of the deliveries a journal holds pending.
func unfinished(t *testing.T, path string) []string {
	t.Helper()
	pending := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(mustRead(t, path)), "\n") {
		_, record, _ := strings.Cut(line, " ") // after the checksum
		var r struct{ Op, ID string }
		if err := json.Unmarshal([]byte(record), &r); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		pending[r.ID] = r.Op == "pending"
	}
	var left []string
	for id, p := range pending {
		if p {
			left = append(left, id)
		}
	}
	return left
}

// bodies is a webhook endpoint that keeps what it is sent.
type bodies struct {
	mu  sync.Mutex
	got []string
}

func (b *bodies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.got = append(b.got, string(body))
	b.mu.Unlock()
}

func (b *bodies) count() int { b.mu.Lock(); defer b.mu.Unlock(); return len(b.got) }

func (b *bodies) all() []string { b.mu.Lock(); defer b.mu.Unlock(); return slices.Clone(b.got) }

// LEADERHOOK_SEQ, the payload's state.seq and /v1/state's seq grow by one
// with every change of the cluster's state, and go on from where they
// were after a restart.
func TestSeqGrowsAcrossChangesAndRestarts(t *testing.T) {
	hooks := &bodies{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "note.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$LEADERHOOK_SEQ $LEADERHOOK_LEADER_ID\" >> \"$1/seqs\"\n"), 0o755)
	config := fenceConfig(t, dir,
		fmt.Sprintf("  note: {type: shell, command: [%s, %s]}\n  hook: {type: webhook, url: %q}", script, dir, srv.URL),
		`  - {name: any, when: 'leaderless || leader_id != ""', fire_on_start: true, actions: [note, hook]}`)
	seqs := filepath.Join(dir, "seqs")
	lines := func() int { data, _ := os.ReadFile(seqs); return strings.Count(string(data), "\n") }

	d := startDaemon(t, config)
	for i, leader := range []string{"m1", "", "m2"} {
		typ := "state.has_leader"
		if leader == "" {
			typ = "state.is_leaderless"
		}
		postEvent(t, d, typ, leader)
		waitFor(t, fmt.Sprintf("run %d", i+1), func() bool { return lines() == i+1 && hooks.count() == i+1 }, d)
	}
	d.stop(t)

	d = startDaemon(t, config)
	postEvent(t, d, "state.has_leader", "m1")
	waitFor(t, "the run after the restart", func() bool { return lines() == 4 && hooks.count() == 4 }, d)
	if got, want := mustRead(t, seqs), "1 m1\n2 \n3 m2\n4 m1\n"; got != want {
		t.Errorf("LEADERHOOK_SEQ and leader per run:\n%s\nwant:\n%s", got, want)
	}
	hooks.mu.Lock()
	for i, body := range hooks.got {
		if want := fmt.Sprintf(`"seq":%d,`, i+1); !strings.Contains(body, want) {
			t.Errorf("webhook %d: %s, want state %s", i+1, body, want)
		}
	}
	hooks.mu.Unlock()
	if _, state := get(t, d.baseURL(t)+"/v1/state"); !strings.Contains(state, `"seq": 4,`) {
		t.Errorf("/v1/state after the restart: %s", state)
	}
}

// A failover script running when leaderhook is killed (-9) goes on by
// itself; after the restart it is not run again behind the operator's
// back: its attempt counts, its outcome is unknown, and with
// retry.max_attempts 1 the delivery fails and on_failure pages.
func TestScriptCutShortByACrashIsNotRunAgain(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "failover.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
echo ran >> "$1/ran"
echo $$ > "$1/pgid"
sleep 60
`), 0o755)
	pager := &bodies{}
	srv := httptest.NewServer(pager)
	t.Cleanup(srv.Close)
	config := fenceConfig(t, dir,
		fmt.Sprintf("  failover: {type: shell, command: [%s, %s], timeout: 5m, on_failure: [pager]}\n  pager: {type: webhook, url: %q}", script, dir, srv.URL),
		`  - {name: lost, when: leaderless, actions: [failover]}`)
	d := startDaemon(t, config)
	postEvent(t, d, "state.has_leader", "m1")
	postEvent(t, d, "state.is_leaderless", "")
	pgidFile := filepath.Join(dir, "pgid")
	waitFor(t, "the failover script to start", func() bool { data, _ := os.ReadFile(pgidFile); return strings.HasSuffix(string(data), "\n") }, d)
	pgid, err := strconv.Atoi(strings.TrimSpace(mustRead(t, pgidFile)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	d.kill9(t)

	d = startDaemon(t, config)
	audit := filepath.Join(dir, "audit.jsonl")
	waitFor(t, "the delivery to fail for good", func() bool {
		return slices.Contains(auditOf(t, audit, "lost"), "failed:failed") && strings.Contains(mustRead(t, audit), "cut short when leaderhook stopped")
	}, d)
	waitFor(t, "the on_failure page", func() bool { return pager.count() > 0 }, d)
	if ran := mustRead(t, filepath.Join(dir, "ran")); ran != "ran\n" {
		t.Errorf("runs: %q, want one", ran)
	}
	// The page is received before its delivery's end is journaled: wait
	// for the journal, rather than stop in between.
	journal := filepath.Join(dir, "state", "pending.log")
	waitFor(t, "the deliveries to end in the journal", func() bool { return len(unfinished(t, journal)) == 0 }, d)
	d.stop(t)
}
