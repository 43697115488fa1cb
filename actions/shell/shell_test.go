package shell

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
)

// script writes an executable /bin/sh script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func notification(leader string) actions.Notification {
	return actions.Notification{DeliveryID: "msg_1", Rule: "leaderless-30s", Status: actions.StatusFiring, Cluster: "ziti",
		Labels: map[string]string{"env": "prod"}, FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC),
		EventType: "state.is_leaderless", Event: map[string]any{"eventType": "state.is_leaderless"}, LeaderID: leader,
		PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
}

// newAction validates the spec as the config loader does, then builds it.
func newAction(t *testing.T, spec actions.Spec) *Action {
	t.Helper()
	spec.Type = Name
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := New("failover", spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func run(t *testing.T, a *Action, n actions.Notification) (actions.Outcome, error) {
	t.Helper()
	return a.Run(context.Background(), &n)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// envMap parses the output of env(1); no value here has a newline.
func envMap(dump string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSuffix(dump, "\n"), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

func TestEnvironmentStdinAndDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DAEMON_SECRET", "must-not-leak")
	t.Setenv("LANG", "C.UTF-8")
	prog := script(t, dir, "dump.sh", `env > "$1/env"; cat > "$1/stdin"; pwd > "$1/pwd"`)
	a := newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog, dir}, Dir: dir,
		Env: map[string]string{"MODE": "{{ .Status }}-mode", "TARGET": "{{ .Labels.env }}"}}})
	n := notification("ctrl2")
	if _, err := run(t, a, n); err != nil {
		t.Fatal(err)
	}
	env := envMap(readFile(t, filepath.Join(dir, "env")))
	want := map[string]string{"MODE": "firing-mode", "TARGET": "prod", "PATH": os.Getenv("PATH"), "LANG": "C.UTF-8"}
	for _, kv := range n.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		want[k] = v
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	// Only what the contract names, and what sh itself adds.
	for k := range env {
		if _, ok := want[k]; !ok && !slices.Contains([]string{"HOME", "TZ", "PWD", "OLDPWD", "SHLVL", "_"}, k) {
			t.Errorf("%s leaked into the script's environment", k)
		}
	}
	if payload, _ := n.Payload(); readFile(t, filepath.Join(dir, "stdin")) != string(payload) {
		t.Errorf("stdin is not the payload")
	}
	wd, _ := filepath.EvalSymlinks(dir)
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, "pwd"))); got != wd && got != dir {
		t.Errorf("working directory %s, want %s", got, dir)
	}
}

func TestLeaderhookVariablesCannotBeOverridden(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "dump.sh", `env > "$1/env"`)
	// Validation forbids this; the action holds even when it is bypassed.
	a, err := New("failover", actions.Spec{Type: Name, Config: Config{Command: []string{prog, dir},
		Env: map[string]string{"LEADERHOOK_CLUSTER": "spoofed", "PATH": "/usr/bin:/bin:/opt/custom"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, a, notification("")); err != nil {
		t.Fatal(err)
	}
	env := envMap(readFile(t, filepath.Join(dir, "env")))
	if env["LEADERHOOK_CLUSTER"] != "ziti" {
		t.Errorf("LEADERHOOK_CLUSTER=%q, want ziti", env["LEADERHOOK_CLUSTER"])
	}
	if env["PATH"] != "/usr/bin:/bin:/opt/custom" {
		t.Errorf("the action's PATH does not override leaderhook's: %q", env["PATH"])
	}
}

func TestEventDataIsInert(t *testing.T) {
	for _, leader := range []string{"$(touch pwned)", "`id`", "; rm -rf x", "a\nb",
		"`touch pwned`", "a\n touch pwned", "' \" $HOME * && touch pwned", ""} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		prog := script(t, dir, "arg.sh", `printf '%s' "$1" > "$2/arg"; printf '%s' "$#" > "$2/argc"; printf '%s' "$LEADER" > "$2/env"`)
		a := newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog, "{{ .LeaderID }}", dir}, Dir: dir,
			Env: map[string]string{"LEADER": "{{ .LeaderID }}"}}})
		if _, err := run(t, a, notification(leader)); err != nil {
			t.Fatal(err)
		}
		if got, argc := readFile(t, filepath.Join(dir, "arg")), readFile(t, filepath.Join(dir, "argc")); got != leader || argc != "2" {
			t.Errorf("leader %q arrived as %q in %s arguments", leader, got, argc)
		}
		if got := readFile(t, filepath.Join(dir, "env")); got != leader {
			t.Errorf("leader %q arrived in the environment as %q", leader, got)
		}
		if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
			t.Errorf("leader %q was executed", leader)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err != nil {
			t.Errorf("leader %q removed a file", leader)
		}
	}
}

// A NUL cannot be passed to a program (argv and the environment are C
// strings): an id holding one arrives with it written as \x00, and the
// failover script still runs, rather than failing to start at every attempt.
func TestNULInEventDataStillRuns(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "arg.sh", `printf '%s' "$1" > "$2/arg"; printf '%s' "$LEADER" > "$2/env"; printf '%s' "$LEADERHOOK_PREVIOUS_LEADER_ID" > "$2/prev"`)
	a := newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog, "{{ .LeaderID }}", dir}, Dir: dir,
		Env: map[string]string{"LEADER": "{{ .LeaderID }}"}}})
	n := notification("ctrl\x002")
	n.PreviousLeaderID = "ctrl\x001"
	if _, err := run(t, a, n); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"arg": `ctrl\x002`, "env": `ctrl\x002`, "prev": `ctrl\x001`} {
		if got := readFile(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}

// gone reports whether pid has ended; a zombie waiting to be reaped by
// init has.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// childPid reads the pid a script wrote, and makes sure the process does
// not outlive the test whatever happens.
func childPid(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, path)))
	if err != nil || pid <= 1 {
		t.Fatalf("no child pid in %s: %v", path, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

func assertGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !gone(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("grandchild %d survived", pid)
			return
		}
	}
}

// runReturns runs a with ctx and waits for it to return: a run that hangs
// fails the test instead of blocking it. The deadline is far beyond any
// timer of the runs it is used for.
func runReturns(t *testing.T, ctx context.Context, a *Action, n actions.Notification) (actions.Outcome, error) {
	t.Helper()
	type result struct {
		out actions.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() { out, err := a.Run(ctx, &n); done <- result{out, err} }()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
		return actions.Outcome{}, nil
	}
}

func TestTimeoutKillsTheWholeGroup(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		atLeast    time.Duration
	}{
		{"plain", `sleep 1000 & echo $! > "$1/child"; sleep 1000`, 300 * time.Millisecond},
		// Ignored signals are inherited: the grandchild ignores SIGTERM too.
		{"ignores SIGTERM", `trap '' TERM; sleep 1000 & echo $! > "$1/child"; while :; do sleep 0.05; done`, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			prog := script(t, dir, "hang.sh", tc.body)
			a := newAction(t, actions.Spec{Timeout: 300 * time.Millisecond, Config: Config{Command: []string{prog, dir}, KillGrace: 200 * time.Millisecond}})
			start := time.Now()
			out, err := runReturns(t, context.Background(), a, notification(""))
			took := time.Since(start)
			if err == nil || actions.IsPermanent(err) || !strings.Contains(err.Error(), "timed out after 300ms") {
				t.Errorf("Run = %v, want a retryable timeout", err)
			}
			// Timers do not fire early: not before the timeout (and the
			// kill grace, for a program that ignores SIGTERM).
			if took < tc.atLeast {
				t.Errorf("Run took %s, want at least %s", took, tc.atLeast)
			}
			if out.ExitCode != -1 || out.Detail != "timed out after 300ms" {
				t.Errorf("outcome %+v, want exit -1 (killed)", out)
			}
			assertGone(t, childPid(t, filepath.Join(dir, "child")))
		})
	}
}

// Dispatch gives each attempt a context that ends after the action's
// timeout, a little before the action's own timer: that is a timeout too,
// not an interruption.
func TestTimeoutByTheCallersDeadline(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "hang.sh", `sleep 1000`)
	a := newAction(t, actions.Spec{Timeout: 300 * time.Millisecond, Config: Config{Command: []string{prog}, KillGrace: 200 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	n := notification("")
	out, err := a.Run(ctx, &n)
	if err == nil || actions.IsPermanent(err) || err.Error() != prog+" timed out after 300ms" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want a retryable %q", err, prog+" timed out after 300ms")
	}
	if out.ExitCode != -1 || out.Detail != "timed out after 300ms" {
		t.Errorf("outcome %+v, want exit -1 and detail %q", out, "timed out after 300ms")
	}
}

func TestTimeoutSendsSIGTERMFirst(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "tidy.sh", `trap 'echo cleaned > "$1/cleanup"; exit 1' TERM; while :; do sleep 0.05; done`)
	// A grace of an hour: Run returns because the script exited on
	// SIGTERM, not because the grace ran out.
	a := newAction(t, actions.Spec{Timeout: 200 * time.Millisecond, Config: Config{Command: []string{prog, dir}, KillGrace: time.Hour}})
	if _, err := runReturns(t, context.Background(), a, notification("")); err == nil || actions.IsPermanent(err) {
		t.Errorf("Run = %v, want a retryable timeout", err)
	}
	if readFile(t, filepath.Join(dir, "cleanup")) != "cleaned\n" {
		t.Error("the script's SIGTERM handler did not run")
	}
}

// A child that undoes its step on SIGTERM has kill_grace to do it, though
// the script running it (no trap of its own) dies of the SIGTERM at once;
// Run returns once the whole group has ended, not at the end of the grace.
func TestKillGraceReachesChildren(t *testing.T) {
	dir := t.TempDir()
	tool := script(t, dir, "tool.sh", `trap 'sleep 0.2; touch "$1/undone"; exit 1' TERM
echo $$ > "$1/tool"; while :; do sleep 0.05; done`)
	prog := script(t, dir, "promote.sh", `set -eu
"$2" "$1"`)
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{prog, dir, tool}, KillGrace: 20 * time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFile(t, filepath.Join(dir, "tool"))
		cancel()
	}()
	start := time.Now()
	if _, err := runReturns(t, ctx, a, notification("")); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want an interruption", err)
	}
	if took := time.Since(start); took >= 20*time.Second {
		t.Errorf("Run took %s: it waited out kill_grace after the group had ended", took)
	}
	if _, err := os.Stat(filepath.Join(dir, "undone")); err != nil {
		t.Errorf("the child was killed before its SIGTERM handler ended: %v", err)
	}
	assertGone(t, childPid(t, filepath.Join(dir, "tool")))
}

func TestCancellationKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "hang.sh", `sleep 1000 & echo $! > "$1/child"; sleep 1000`)
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{prog, dir}, KillGrace: 200 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	// A Run that missed the cancellation would end at its timeout, a
	// minute later, and say so.
	_, err := runReturns(t, ctx, a, notification(""))
	if !errors.Is(err, context.Canceled) || actions.IsPermanent(err) {
		t.Errorf("Run = %v, want a retryable cancellation", err)
	}
	if err != nil && (!strings.Contains(err.Error(), "interrupted") || strings.Contains(err.Error(), "timed out")) {
		t.Errorf("Run = %v, want an interruption, not a timeout", err)
	}
	assertGone(t, childPid(t, filepath.Join(dir, "child")))
}

func TestBackgroundChildDoesNotHoldRun(t *testing.T) {
	dir := t.TempDir()
	// The background sleep inherits stdout and keeps it open.
	prog := script(t, dir, "bg.sh", `sleep 30 & echo $! > "$1/child"; echo done`)
	a := newAction(t, actions.Spec{Timeout: 10 * time.Second, Config: Config{Command: []string{prog, dir}}})
	out, err := run(t, a, notification(""))
	child := childPid(t, filepath.Join(dir, "child"))
	if err != nil || out.ExitCode != 0 || out.Output != "done\n" {
		t.Errorf("Run = %+v, %v; want success", out, err)
	}
	// Run returned while the child still runs: it did not wait for it.
	if gone(child) {
		t.Errorf("Run waited for the background child %d to end", child)
	}
}

// What a script leaves running in the background lives on after Run has
// stopped collecting its output: a write it makes then must not kill it
// (SIGPIPE on a pipe nobody reads).
func TestBackgroundChildOutlivesTheCollection(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "bg.sh", `( while [ ! -e "$1/go" ]; do sleep 0.05; done; echo still working; touch "$1/survived" ) &
echo $! > "$1/child"; echo done`)
	a := newAction(t, actions.Spec{Timeout: 10 * time.Second, Config: Config{Command: []string{prog, dir}}})
	out, err := run(t, a, notification(""))
	childPid(t, filepath.Join(dir, "child"))
	if err != nil || out.Output != "done\n" {
		t.Errorf("Run = %+v, %v; want success", out, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "survived"))
}

func TestExitCodeContract(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range []struct {
		body      string
		ok        bool
		permanent bool
		code      int
	}{
		{"exit 0", true, false, 0},
		{"exit 75", false, false, 75},
		{"exit 3", false, true, 3},
		{"exit 1", false, true, 1},
		{"kill -9 $$", false, true, -1},
	} {
		prog := script(t, dir, fmt.Sprintf("s%d.sh", i), tc.body)
		out, err := run(t, newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog}}}), notification(""))
		if (err == nil) != tc.ok || actions.IsPermanent(err) != tc.permanent || out.ExitCode != tc.code || !out.HasExitCode {
			t.Errorf("%q: err %v (permanent %v), exit %d", tc.body, err, actions.IsPermanent(err), out.ExitCode)
		}
	}
}

func TestProgramsThatCannotStartFailForGood(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := script(t, dir, "good.sh", "true")
	for name, cfg := range map[string]Config{
		"missing":        {Command: []string{filepath.Join(dir, "missing")}},
		"not in PATH":    {Command: []string{"leaderhook-no-such-program"}},
		"not executable": {Command: []string{plain}},
		"a directory":    {Command: []string{dir}},
		"missing dir":    {Command: []string{good}, Dir: filepath.Join(dir, "nope")},
	} {
		out, err := run(t, newAction(t, actions.Spec{Config: cfg}), notification(""))
		if !actions.IsPermanent(err) || out.ExitCode != -1 || !out.HasExitCode {
			t.Errorf("%s: %v (exit %d), want a permanent error", name, err, out.ExitCode)
		}
	}
}

func TestStartErrorsThatMayPassAreRetried(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EAGAIN, syscall.ENOMEM, syscall.ETXTBSY, syscall.EMFILE} {
		if err := startError("/x", &os.PathError{Op: "fork/exec", Path: "/x", Err: errno}); actions.IsPermanent(err) {
			t.Errorf("%v: permanent", errno)
		}
	}
}

func TestOutputIsBounded(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "loud.sh", `head -c 100000 /dev/zero | tr '\0' a; head -c 100000 /dev/zero | tr '\0' b >&2; echo END`)
	out, err := run(t, newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog}}}), notification(""))
	if err != nil {
		t.Fatal(err)
	}
	half := outputLimit / 2
	cut := 200004 - outputLimit
	want := strings.Repeat("a", half) + fmt.Sprintf("\n…[%d bytes cut]…\n", cut) + strings.Repeat("b", half-4) + "END\n"
	if out.Output != want {
		t.Errorf("output of %d bytes, want %d: starts %q, ends %q", len(out.Output), len(want), out.Output[:10], out.Output[len(out.Output)-10:])
	}
}

func TestStdoutAndStderrInterleave(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "both.sh", "echo out; echo err >&2; echo out2")
	out, _ := run(t, newAction(t, actions.Spec{Config: Config{Command: []string{prog}}}), notification(""))
	if out.Output != "out\nerr\nout2\n" {
		t.Errorf("output %q", out.Output)
	}
}

// dispatched runs the action's deliveries as the daemon does: through a
// dispatcher, whose queue per cluster and action has concurrency workers.
func dispatched(t *testing.T, a *Action, submit func(d *dispatch.Dispatcher)) {
	t.Helper()
	spec := actions.Spec{Type: Name, Timeout: 5 * time.Second, Retry: actions.Retry{MaxAttempts: 1}, Config: a.cfg}
	d := dispatch.New(dispatch.Options{Targets: map[string]dispatch.Target{"failover": {Action: a, Spec: spec, Workers: a.cfg.Workers()}}})
	submit(d)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func submitRule(t *testing.T, d *dispatch.Dispatcher, cluster, rule string) {
	t.Helper()
	n := notification("")
	n.Cluster, n.Rule = cluster, rule
	if err := d.Submit(n, []string{"failover"}); err != nil {
		t.Fatal(err)
	}
}

func TestRunsOfOneClusterDoNotOverlapAndKeepOrder(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "ordered.sh", `
if ! mkdir "$2/lock" 2>/dev/null; then echo OVERLAP >> "$2/log"; fi
echo "$1" >> "$2/log"; sleep 0.05; rmdir "$2/lock"`)
	a := newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog, "{{ .Rule }}", dir}}})
	dispatched(t, a, func(d *dispatch.Dispatcher) {
		for i := range 5 {
			submitRule(t, d, "ziti", fmt.Sprintf("r%d", i))
		}
	})
	if lines := strings.Fields(readFile(t, filepath.Join(dir, "log"))); !slices.Equal(lines, []string{"r0", "r1", "r2", "r3", "r4"}) {
		t.Errorf("runs: %v", lines)
	}
}

// rendezvous is a script that marks itself started and waits until the
// runs named in $3 have all started: it only ends if they overlap.
const rendezvous = `touch "$2/$1"; for other in $3; do while [ ! -e "$2/$other" ]; do sleep 0.01; done; done`

func TestConcurrencyIsPerCluster(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "meet.sh", rendezvous)
	a := newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog, "{{ .Cluster }}", dir, "a b"}}})
	dispatched(t, a, func(d *dispatch.Dispatcher) {
		submitRule(t, d, "a", "r")
		submitRule(t, d, "b", "r")
	})
	for _, cluster := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(dir, cluster)); err != nil {
			t.Errorf("cluster %s never ran: %v", cluster, err)
		}
	}
}

func TestConcurrencyAboveOne(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "meet.sh", rendezvous+`; echo "$1" >> "$2/done"`)
	a := newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{prog, "{{ .Rule }}", dir, "r0 r1"}, Concurrency: 2}})
	dispatched(t, a, func(d *dispatch.Dispatcher) {
		submitRule(t, d, "ziti", "r0")
		submitRule(t, d, "ziti", "r1")
	})
	if lines := strings.Fields(readFile(t, filepath.Join(dir, "done"))); len(lines) != 2 {
		t.Errorf("runs that met: %v, want both (each waits for the other)", lines)
	}
}

func TestNewAppliesDefaultsAndRejectsBadTemplates(t *testing.T) {
	a, err := New("x", actions.Spec{Type: Name, Config: Config{Command: []string{"/bin/true"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.timeout != time.Minute || a.cfg.KillGrace != DefaultKillGrace || a.cfg.Concurrency != 1 {
		t.Errorf("defaults not applied: %s, %+v", a.timeout, a.cfg)
	}
	for _, cmd := range [][]string{nil, {""}, {"/bin/true", "{{ .Rule "}} {
		if _, err := New("x", actions.Spec{Type: Name, Config: Config{Command: cmd}}); err == nil {
			t.Errorf("New(%q) accepted", cmd)
		}
	}
}

// A template that renders no value fails the run for good: the script
// never runs with an argument its author did not write, such as the
// "<no value>" text/template prints for a missing key that index reads.
func TestTemplateErrorsArePermanent(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		// Valid against the sample notification, which has labels; this one has none.
		{"a missing label", Config{Command: []string{"/bin/true", "{{ .Labels.env }}"}}},
		{"index of a missing event key", Config{Command: []string{"/bin/true", "--", `{{ index .Event "leaderId" }}`}}},
		{"index of a missing event key, in env", Config{Command: []string{"/bin/true"}, Env: map[string]string{"LEADER": `{{ index .Event "leaderId" }}`}}},
		{"an event key that is null", Config{Command: []string{"/bin/true", "{{ .Event.previousLeaderId }}"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAction(t, actions.Spec{Config: tc.cfg})
			n := notification("")
			n.Labels = nil
			n.Event["previousLeaderId"] = nil
			if _, err := a.Run(context.Background(), &n); !actions.IsPermanent(err) {
				t.Errorf("Run = %v, want permanent", err)
			}
			if r, err := a.Render(&n); err == nil {
				t.Errorf("Render = %q %q, want an error", r.Argv, r.Env)
			}
		})
	}
}

// What the README advises for a key an event may lack: index, with a default.
func TestIndexWithADefaultRenders(t *testing.T) {
	a := newAction(t, actions.Spec{Config: Config{Command: []string{"/bin/true", `{{ default "none" (index .Event "leaderId") }}`}}})
	n := notification("")
	r, err := a.Render(&n)
	if err != nil || !slices.Equal(r.Argv, []string{"/bin/true", "none"}) {
		t.Errorf("Render = %q, %v; want the default", r.Argv, err)
	}
}

func TestRender(t *testing.T) {
	t.Setenv("DAEMON_SECRET", "must-not-show")
	a := newAction(t, actions.Spec{Config: Config{Command: []string{"/usr/local/bin/failover.sh", "{{ .Cluster }}", "--from={{ .PreviousLeaderID }}"}, Dir: "/srv",
		Env: map[string]string{"Z": "last", "A": "{{ .Rule }}", "HOOK": "https://user:pw@example.com/x?token=t"}}})
	n := notification("")
	r, err := a.Render(&n)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Argv, []string{"/usr/local/bin/failover.sh", "ziti", "--from=ctrl1"}) || r.Dir != "/srv" || r.Kind != Name {
		t.Errorf("rendering %+v", r)
	}
	// Sorted keys, then the LEADERHOOK_* variables; redacted as the actions
	// package redacts, whatever its exact form.
	hook := "https://user:pw@example.com/x?token=t"
	want := append([]string{"A=leaderless-30s", "HOOK=" + actions.Redact(hook), "Z=last"}, n.Environ()...)
	if !slices.Equal(r.Env, want) {
		t.Errorf("env %q\nwant %q", r.Env, want)
	}
	if env := strings.Join(r.Env, " "); strings.Contains(env, "pw@") || strings.Contains(env, "token=t") {
		t.Errorf("dry run shows credentials: %q", env)
	}
}

func TestCheckWarnings(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return path
	}
	plain, open, group := write("plain.sh", 0o644), write("open.sh", 0o777), write("group.sh", 0o775)
	good := write("good.sh", 0o755)
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	inShared := script(t, shared, "s.sh", "true")
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Command: []string{filepath.Join(dir, "missing")}}, "does not exist"},
		{Config{Command: []string{"leaderhook-no-such-program"}}, "not found in PATH"},
		{Config{Command: []string{plain}}, "not executable"},
		{Config{Command: []string{open}}, "writable by group or others"},
		{Config{Command: []string{group}}, "writable by group or others"},
		{Config{Command: []string{inShared}}, "which anyone can write to"},
		{Config{Command: []string{"./plain.sh"}, Dir: dir}, "not executable"}, // relative to dir, as exec does
	} {
		warns := Check(tc.cfg)
		if !strings.Contains(strings.Join(warns, "; "), tc.want) {
			t.Errorf("%v: %q, want %q", tc.cfg.Command, warns, tc.want)
		}
	}
	for _, cfg := range []Config{{Command: []string{good}}, {Command: []string{"./good.sh"}, Dir: dir}, {Command: []string{"sh"}}} {
		if warns := Check(cfg); len(warns) != 0 {
			t.Errorf("%v: %q, want no warning", cfg.Command, warns)
		}
	}
}

// A run stopped with a cause (the dispatcher's, when the cluster's state
// moves on) says why.
func TestCancellationCauseIsReported(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "hang.sh", `echo $$ > "$1/pid"; sleep 1000`)
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{prog, dir}, KillGrace: 200 * time.Millisecond}})
	ctx, cancel := context.WithCancelCause(context.Background())
	why := errors.New("cluster ziti moved on to state 2")
	go func() {
		waitFile(t, filepath.Join(dir, "pid"))
		cancel(why)
	}()
	out, err := runReturns(t, ctx, a, notification(""))
	if !errors.Is(err, why) || out.Detail != "interrupted: "+why.Error() || out.ExitCode != -1 {
		t.Errorf("Run = %+v, %v; want interrupted by %q", out, err, why)
	}
	// Stopped before it started: not started, for the same reason.
	out, err = runReturns(t, ctx, a, notification(""))
	if !errors.Is(err, why) || out.Detail != "not started: "+why.Error() {
		t.Errorf("Run after the cancellation = %+v, %v", out, err)
	}
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s never appeared", path)
			return
		}
	}
}

type auditLog struct {
	mu      sync.Mutex
	records []dispatch.Record
}

func (a *auditLog) Record(r dispatch.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, r)
}

// cancel_on_change through a dispatcher, as the daemon runs it: once the
// cluster's state moves on, the running script's whole group ends
// (SIGTERM, ignored here, then SIGKILL after kill_grace), the run waiting
// behind it is dropped unrun, and both say so in the audit log.
func TestCancelOnChangeStopsTheGroupAndDropsTheWaiting(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "failover.sh", `[ "$1" = first ] || { touch "$2/$1"; exit 0; }
trap '' TERM; sleep 1000 & echo $! > "$2/child"; echo $$ > "$2/pid"; while :; do sleep 0.05; done`)
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{prog, "{{ .Rule }}", dir}, KillGrace: 200 * time.Millisecond, CancelOnChange: true}})
	spec := actions.Spec{Type: Name, Timeout: time.Minute, Retry: actions.Retry{MaxAttempts: 1}, Config: a.cfg}
	audit := &auditLog{}
	d := dispatch.New(dispatch.Options{Audit: audit, Targets: map[string]dispatch.Target{
		"failover": {Action: a, Spec: spec, Workers: 1, CancelOnChange: a.cfg.CancelsOnChange()}}})
	for _, rule := range []string{"first", "second"} {
		n := notification("")
		n.Rule, n.Seq = rule, 1
		if err := d.Submit(n, []string{"failover"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFile(t, filepath.Join(dir, "pid"))
	child, pid := childPid(t, filepath.Join(dir, "child")), childPid(t, filepath.Join(dir, "pid"))
	d.StateChanged("ziti", 2)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pid)
	assertGone(t, child)
	if _, err := os.Stat(filepath.Join(dir, "second")); err == nil {
		t.Error("the dropped run ran")
	}
	const why = "cluster ziti moved on to state 2; this delivery was decided for state 1"
	var got []string
	for _, r := range audit.records {
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Rule, r.Kind, r.Outcome, r.Detail))
	}
	// The waiting run is dropped at once; the running one ends after the grace.
	want := []string{"first queued  ", "second queued  ", "second dropped  " + why, "first attempt cancelled interrupted: " + why, "first cancelled  " + why}
	if !slices.Equal(got, want) {
		t.Errorf("audit\n got: %q\nwant: %q", got, want)
	}
}

// A failover script that starts something in the background and exits 0
// has done its job. The leader change it caused then fences its delivery
// while leaderhook still collects the background child's output: that must
// neither make the run "cancelled" nor kill what it started.
func TestFenceAfterAScriptExitedKeepsItsSuccess(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "failover.sh", `sleep 30 & echo $! > "$1/child"; echo $$ > "$1/pid"; echo promoted`)
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{prog, dir}, KillGrace: 200 * time.Millisecond, CancelOnChange: true}})
	spec := actions.Spec{Type: Name, Timeout: time.Minute, Retry: actions.Retry{MaxAttempts: 1}, Config: a.cfg}
	audit := &auditLog{}
	d := dispatch.New(dispatch.Options{Audit: audit, Targets: map[string]dispatch.Target{
		"failover": {Action: a, Spec: spec, Workers: 1, CancelOnChange: true}}})
	n := notification("")
	n.Seq = 1
	if err := d.Submit(n, []string{"failover"}); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(dir, "pid"))
	child, pid := childPid(t, filepath.Join(dir, "child")), childPid(t, filepath.Join(dir, "pid"))
	assertGone(t, pid) // the script has exited, with 0
	d.StateChanged("ziti", 2)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range audit.records {
		got = append(got, r.Kind+" "+r.Outcome)
	}
	if want := []string{"queued ", "attempt ok", "delivered ok"}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	if gone(child) {
		t.Error("the fence killed what the finished script left running")
	}
}

// coreutils timeout puts itself in a process group of its own, so the
// group kill misses it and what it runs: a fenced or timed-out failover
// script's `timeout 60 promote` went on. Its descendants are stopped too.
func TestStopReachesDescendantsInOtherGroups(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout(1)")
	}
	dir := t.TempDir()
	prog := script(t, dir, "promote.sh", `timeout 1000 sh -c 'echo $$ > "$1/child"; exec sleep 1000' sh "$1"`)
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{prog, dir}, KillGrace: 200 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFile(t, filepath.Join(dir, "child"))
		cancel()
	}()
	if _, err := runReturns(t, ctx, a, notification("")); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want an interruption", err)
	}
	assertGone(t, childPid(t, filepath.Join(dir, "child")))
}

// unrunnableScripts writes scripts the kernel refuses though they exist and
// are executable: one whose #! interpreter is missing (exec then says the
// script itself does not exist) and one with no #! line at all.
func unrunnableScripts(t *testing.T, dir string) (noInterpreter, noShebang string) {
	t.Helper()
	noInterpreter, noShebang = filepath.Join(dir, "bash.sh"), filepath.Join(dir, "bare.sh")
	for path, body := range map[string]string{noInterpreter: "#!/leaderhook-no-such-dir/bash -e\necho hi\n", noShebang: "echo hi\n"} {
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return noInterpreter, noShebang
}

// `leaderhook check` warns about a script that would fail at the incident
// for want of its interpreter, or of a #! line; a binary and a script
// whose interpreter is there pass.
func TestCheckWarnsOfScriptsTheKernelCannotRun(t *testing.T) {
	noInterpreter, noShebang := unrunnableScripts(t, t.TempDir())
	for _, tc := range []struct{ prog, want string }{
		{noInterpreter, "/leaderhook-no-such-dir/bash (its #! line) does not exist"},
		{noShebang, "has no #! line"},
	} {
		if warns := strings.Join(Check(Config{Command: []string{tc.prog}}), "; "); !strings.Contains(warns, tc.want) {
			t.Errorf("%s: %q, want %q", tc.prog, warns, tc.want)
		}
	}
	good := script(t, t.TempDir(), "good.sh", "true")
	for _, prog := range []string{good, "sh", "/bin/sh"} {
		if warns := Check(Config{Command: []string{prog}}); len(warns) != 0 {
			t.Errorf("%s: %q, want no warning", prog, warns)
		}
	}
}

// A script that cannot start for want of its interpreter fails for good,
// saying so, rather than that the script, which is there, is missing.
func TestStartErrorNamesTheMissingInterpreter(t *testing.T) {
	noInterpreter, noShebang := unrunnableScripts(t, t.TempDir())
	for _, tc := range []struct{ prog, want string }{
		{noInterpreter, "/leaderhook-no-such-dir/bash (its #! line) does not exist"},
		{noShebang, "has no #! line"},
	} {
		_, err := run(t, newAction(t, actions.Spec{Timeout: 5 * time.Second, Config: Config{Command: []string{tc.prog}}}), notification(""))
		if !actions.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a permanent error saying %q", tc.prog, err, tc.want)
		}
	}
}

// `#!/usr/bin/env NAME` finds its interpreter in PATH when it runs: check
// warns when NAME is not there, as it does for a missing #! interpreter.
func TestCheckWarnsOfAnEnvInterpreterNotInPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{"#!/usr/bin/env leaderhook-no-such-interpreter\necho hi\n", `leaderhook-no-such-interpreter (its #! line, through /usr/bin/env) is not found in PATH`},
		{"#!/usr/bin/env sh\necho hi\n", ""},
		{"#!/usr/bin/env -S sh -e\necho hi\n", ""}, // options: not judged
	} {
		prog := filepath.Join(dir, "s.sh")
		if err := os.WriteFile(prog, []byte(tc.body), 0o755); err != nil {
			t.Fatal(err)
		}
		warns := strings.Join(Check(Config{Command: []string{prog}}), "; ")
		if (tc.want == "" && warns != "") || !strings.Contains(warns, tc.want) {
			t.Errorf("%q: %q, want %q", tc.body, warns, tc.want)
		}
	}
}

// A program that exited by itself in the instant a stop came (reaped, or a
// zombie still) keeps its own result: the stop is not why it ended, and
// what it left running is not killed.
func TestStopAfterTheProgramExitedKeepsItsResult(t *testing.T) {
	for _, reaped := range []bool{true, false} {
		t.Run(fmt.Sprintf("reaped %v", reaped), func(t *testing.T) { stopAfterExit(t, reaped) })
	}
}

// stopAfterExit stops a program that has exited, reaped or not yet.
func stopAfterExit(t *testing.T, reaped bool) {
	a := newAction(t, actions.Spec{Timeout: time.Minute, Config: Config{Command: []string{"true"}, KillGrace: time.Minute}})
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	assertGone(t, pid) // exited: a zombie, not reaped yet
	var waitErr error
	if reaped {
		waitErr = cmd.Wait()
	}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errors.New("the cluster's state moved on"))
		done := make(chan error)
		result := make(chan error, 1)
		go func() {
			_, stopped := a.await(ctx, pid, done)
			result <- stopped
		}()
		synctest.Wait() // await has seen the stop before Wait returns
		if !reaped {
			waitErr = cmd.Wait()
		}
		done <- waitErr
		if stopped := <-result; stopped != nil {
			t.Errorf("stopped = %v, want nil: the program had exited by itself", stopped)
		}
	})
}
