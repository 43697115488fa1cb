package shell

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
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
		FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC), EventType: "state.is_leaderless", LeaderID: leader,
		PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
}

func newAction(t *testing.T, spec actions.Spec) *Action {
	t.Helper()
	spec.Type = actions.KindShell
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := New("failover", spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEnvironmentAndStdin(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DAEMON_SECRET", "must-not-leak")
	prog := script(t, dir, "dump.sh", `env > "$1/env"; cat > "$1/stdin"`)
	a := newAction(t, actions.Spec{Command: []string{prog, dir}, Env: map[string]string{"MODE": "{{ .Status }}-mode"}, Timeout: 5 * time.Second})
	n := notification("")
	if _, err := a.Run(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	for _, want := range append(n.Environ(), "MODE=firing-mode") {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("environment lacks %q", want)
		}
	}
	if strings.Contains(string(env), "must-not-leak") {
		t.Error("leaderhook's own environment leaked into the script")
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if payload, _ := n.Payload(); string(stdin) != string(payload) {
		t.Errorf("stdin %s, want the payload %s", stdin, payload)
	}
}

func TestEventDataIsInert(t *testing.T) {
	for _, leader := range []string{"$(touch pwned)", "`touch pwned`", "; touch pwned", "a\nb; touch pwned", "' \" $HOME *"} {
		dir := t.TempDir()
		prog := script(t, dir, "arg.sh", `printf '%s' "$1" > "$2/arg"; printf '%s' "$#" > "$2/argc"`)
		a := newAction(t, actions.Spec{Command: []string{prog, "{{ .LeaderID }}", dir}, Dir: dir, Timeout: 5 * time.Second})
		n := notification(leader)
		if _, err := a.Run(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(dir, "arg"))
		argc, _ := os.ReadFile(filepath.Join(dir, "argc"))
		if string(got) != leader || string(argc) != "2" {
			t.Errorf("leader %q arrived as %q in %s arguments", leader, got, argc)
		}
		if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
			t.Errorf("leader %q was executed", leader)
		}
	}
}

func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses; Z is a zombie: dead.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestTimeoutKillsTheWholeGroup(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"plain", `sleep 1000 & echo $! > "$1/child"; sleep 1000`},
		{"ignores SIGTERM", `trap '' TERM; sleep 1000 & echo $! > "$1/child"; while :; do sleep 1; done`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			prog := script(t, dir, "hang.sh", tc.body)
			a := newAction(t, actions.Spec{Command: []string{prog, dir}, Timeout: 300 * time.Millisecond, KillGrace: 200 * time.Millisecond})
			n := notification("")
			start := time.Now()
			out, err := a.Run(context.Background(), &n)
			if err == nil || actions.IsPermanent(err) || time.Since(start) > 3*time.Second {
				t.Fatalf("Run = %v after %s, want a retryable timeout within ~0.5s", err, time.Since(start))
			}
			if out.ExitCode != -1 {
				t.Errorf("exit code %d, want -1 (killed)", out.ExitCode)
			}
			data, _ := os.ReadFile(filepath.Join(dir, "child"))
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				t.Fatalf("no grandchild pid: %q", data)
			}
			deadline := time.Now().Add(2 * time.Second)
			for alive(pid) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if alive(pid) {
				t.Errorf("grandchild %d survived the timeout", pid)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		body      string
		ok        bool
		permanent bool
		code      int
	}{
		{"exit 0", true, false, 0},
		{"exit 75", false, false, 75},
		{"exit 3", false, true, 3},
		{"echo out; echo err >&2; exit 1", false, true, 1},
	}
	for i, tc := range cases {
		prog := script(t, dir, fmt.Sprintf("s%d.sh", i), tc.body)
		a := newAction(t, actions.Spec{Command: []string{prog}, Timeout: 5 * time.Second})
		n := notification("")
		out, err := a.Run(context.Background(), &n)
		if (err == nil) != tc.ok || actions.IsPermanent(err) != tc.permanent || out.ExitCode != tc.code {
			t.Errorf("%q: err %v (permanent %v), exit %d", tc.body, err, actions.IsPermanent(err), out.ExitCode)
		}
	}
	a := newAction(t, actions.Spec{Command: []string{filepath.Join(dir, "missing")}, Timeout: time.Second})
	n := notification("")
	if _, err := a.Run(context.Background(), &n); !actions.IsPermanent(err) {
		t.Errorf("missing program: %v, want permanent", err)
	}
	prog := script(t, dir, "both.sh", "echo out; echo err >&2")
	out, _ := newAction(t, actions.Spec{Command: []string{prog}}).Run(context.Background(), &n)
	if out.Output != "out\nerr\n" {
		t.Errorf("output %q", out.Output)
	}
}

func TestOutputIsBounded(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "loud.sh", `head -c 200000 /dev/zero | tr '\0' x; echo END`)
	n := notification("")
	out, err := newAction(t, actions.Spec{Command: []string{prog}, Timeout: 5 * time.Second}).Run(context.Background(), &n)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Output) > outputLimit+100 || !strings.Contains(out.Output, "bytes cut]") || !strings.HasSuffix(out.Output, "END\n") {
		t.Errorf("output of %d bytes, ends %q", len(out.Output), out.Output[len(out.Output)-20:])
	}
}

func TestRunsOfOneClusterDoNotOverlapAndKeepOrder(t *testing.T) {
	dir := t.TempDir()
	prog := script(t, dir, "ordered.sh", `
if ! mkdir "$2/lock" 2>/dev/null; then echo OVERLAP >> "$2/log"; fi
echo "$1" >> "$2/log"; sleep 0.05; rmdir "$2/lock"`)
	a := newAction(t, actions.Spec{Command: []string{prog, "{{ .Rule }}", dir}, Timeout: 5 * time.Second})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := notification("")
			n.Rule = fmt.Sprintf("r%d", i)
			if _, err := a.Run(context.Background(), &n); err != nil {
				t.Error(err)
			}
		}()
		time.Sleep(10 * time.Millisecond) // fire in order
	}
	wg.Wait()
	data, _ := os.ReadFile(filepath.Join(dir, "log"))
	lines := strings.Fields(string(data))
	if !slices.Equal(lines, []string{"r0", "r1", "r2", "r3", "r4"}) {
		t.Errorf("runs: %v", lines)
	}
}

func TestCheckWarnings(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.sh")
	os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644)
	open := filepath.Join(dir, "open.sh")
	os.WriteFile(open, []byte("#!/bin/sh\n"), 0o777)
	os.Chmod(open, 0o777)
	good := script(t, dir, "good.sh", "true")
	cases := map[string]string{
		filepath.Join(dir, "missing"): "does not exist",
		"no-such-program-anywhere":    "not found in PATH",
		plain:                         "not executable",
		open:                          "writable by group or others",
	}
	for prog, want := range cases {
		warns := Check(actions.Spec{Command: []string{prog}})
		if len(warns) == 0 || !strings.Contains(strings.Join(warns, "; "), want) {
			t.Errorf("%s: %v, want %q", prog, warns, want)
		}
	}
	if warns := Check(actions.Spec{Command: []string{good}}); len(warns) != 0 {
		t.Errorf("good script: %v", warns)
	}
}

func TestRender(t *testing.T) {
	a := newAction(t, actions.Spec{Command: []string{"/usr/local/bin/failover.sh", "{{ .Cluster }}"}, Env: map[string]string{"A": "b"}, Dir: "/tmp"})
	n := notification("")
	r, err := a.Render(&n)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Argv, []string{"/usr/local/bin/failover.sh", "ziti"}) || r.Env[0] != "A=b" || r.Dir != "/tmp" {
		t.Errorf("rendering %+v", r)
	}
}
