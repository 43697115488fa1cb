// Package shell runs a program when a rule fires: failover scripts, pagers
// with a CLI, anything.
//
// The contract, for script authors:
//   - The command is an argv list, run directly, never through a shell.
//     Arguments may be templates ({{ .Cluster }}, {{ .LeaderID }}, ...); each
//     renders into exactly one argument, whatever it contains, so event
//     data can never be executed.
//   - Standard input is the notification as JSON (the webhook payload).
//   - The environment is PATH, HOME, LANG and TZ from leaderhook's own, then
//     the action's env:, then the LEADERHOOK_* variables (LEADERHOOK_RULE,
//     _STATUS, _CLUSTER, _EVENT_TYPE, _LEADER_ID, _PREVIOUS_LEADER_ID,
//     _LEADERLESS_SECONDS, _FIRED_AT, _DELIVERY_ID, _DRY_RUN), which cannot
//     be overridden. Nothing else leaks in, secrets included.
//   - Exit 0: done. Exit 75 (EX_TEMPFAIL): temporary failure, retried with
//     backoff. Any other exit: failed for good, not retried (on_failure
//     actions run).
//   - After timeout the whole process group gets SIGTERM, and SIGKILL
//     kill_grace later: children and grandchildren end too. A timeout is
//     retried.
//   - At most `concurrency` (default 1) runs per cluster at once, started in
//     the order the rule fired.
//   - Output (stdout and stderr together) is kept, up to 64 KiB, for the
//     audit log.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// ExitTempFail is the exit status that asks for a retry (sysexits.h).
const ExitTempFail = 75

// outputLimit bounds the output kept for the audit log.
const outputLimit = 64 << 10

// inherited are the variables a script gets from leaderhook's environment.
var inherited = []string{"PATH", "HOME", "LANG", "TZ"}

// Action is a shell action.
type Action struct {
	name    string
	spec    actions.Spec
	program string
	args    []*template.Template
	env     map[string]*template.Template
	envKeys []string

	mu    sync.Mutex
	slots map[string]*fifoSemaphore // per cluster
}

// New builds the action from a validated spec.
func New(name string, spec actions.Spec) (*Action, error) {
	spec = spec.Defaults()
	if len(spec.Command) == 0 {
		return nil, errors.New("no command")
	}
	a := &Action{name: name, spec: spec, program: spec.Command[0], env: map[string]*template.Template{}, slots: map[string]*fifoSemaphore{}}
	for i, arg := range spec.Command[1:] {
		t, err := actions.ParseTemplate(fmt.Sprintf("%s.command[%d]", name, i+1), arg)
		if err != nil {
			return nil, err
		}
		a.args = append(a.args, t)
	}
	for k, v := range spec.Env {
		t, err := actions.ParseTemplate(name+".env."+k, v)
		if err != nil {
			return nil, err
		}
		a.env[k] = t
		a.envKeys = append(a.envKeys, k)
	}
	return a, nil
}

func (a *Action) argv(n *actions.Notification) ([]string, error) {
	argv := []string{a.program}
	for _, t := range a.args {
		var b strings.Builder
		if err := t.Execute(&b, n); err != nil {
			return nil, err
		}
		argv = append(argv, b.String())
	}
	return argv, nil
}

// environ returns the script's own variables (without the inherited ones).
func (a *Action) environ(n *actions.Notification) ([]string, error) {
	var env []string
	for _, k := range a.envKeys {
		var b strings.Builder
		if err := a.env[k].Execute(&b, n); err != nil {
			return nil, err
		}
		env = append(env, k+"="+b.String())
	}
	return append(env, n.Environ()...), nil
}

// Render shows the argv, environment and directory a run would use.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	argv, err := a.argv(n)
	if err != nil {
		return actions.Rendering{}, err
	}
	env, err := a.environ(n)
	if err != nil {
		return actions.Rendering{}, err
	}
	return actions.Rendering{Kind: actions.KindShell, Argv: argv, Env: env, Dir: a.spec.Dir}, nil
}

// Run runs the program once.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	argv, err := a.argv(n)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(fmt.Errorf("render command: %w", err))
	}
	env, err := a.environ(n)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(fmt.Errorf("render env: %w", err))
	}
	stdin, err := n.Payload()
	if err != nil {
		return actions.Outcome{}, actions.Permanent(err)
	}
	slot := a.slot(n.Cluster)
	if err := slot.acquire(ctx); err != nil {
		return actions.Outcome{}, fmt.Errorf("waiting for the previous run of %s: %w", a.name, err)
	}
	defer slot.release()

	timeout := a.spec.Timeout
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(inheritedEnv(), env...)
	cmd.Dir = a.spec.Dir
	cmd.Stdin = bytes.NewReader(stdin)
	out := &boundedBuffer{limit: outputLimit}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that a timeout can end the whole tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A background child that keeps the output open must not hold Run up
	// once the script itself has exited.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return actions.Outcome{ExitCode: -1}, actions.Permanent(fmt.Errorf("start %s: %w", argv[0], err))
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	timedOut := false
	select {
	case waitErr = <-done:
	case <-runCtx.Done():
		timedOut = true
		waitErr = a.stop(cmd, done)
	}
	result := actions.Outcome{ExitCode: exitCode(cmd, waitErr), Output: out.String()}
	switch {
	case timedOut && ctx.Err() == nil:
		result.Detail = "timed out"
		return result, fmt.Errorf("%s timed out after %s", argv[0], timeout)
	case timedOut:
		return result, fmt.Errorf("%s interrupted: %w", argv[0], ctx.Err())
	case waitErr == nil:
		return result, nil
	case result.ExitCode == ExitTempFail:
		return result, fmt.Errorf("%s exited with %d (temporary failure)", argv[0], ExitTempFail)
	default:
		return result, actions.Permanent(fmt.Errorf("%s failed: %w", argv[0], waitErr))
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after the grace
// period, and waits. Grandchildren that keep the output pipes open do not
// hold it up: they are in the group.
func (a *Action) stop(cmd *exec.Cmd, done <-chan error) error {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(a.spec.KillGrace)
	defer grace.Stop()
	select {
	case err := <-done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // children that outlived the leader
		return err
	case <-grace.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return <-done
	}
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
	}
	return cmd.ProcessState.ExitCode()
}

func inheritedEnv() []string {
	var env []string
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (a *Action) slot(cluster string) *fifoSemaphore {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.slots[cluster]
	if s == nil {
		s = newFIFOSemaphore(max(a.spec.Concurrency, 1))
		a.slots[cluster] = s
	}
	return s
}

// fifoSemaphore admits at most n holders, in the order they asked.
type fifoSemaphore struct {
	mu      sync.Mutex
	free    int
	waiters []chan struct{}
}

func newFIFOSemaphore(n int) *fifoSemaphore { return &fifoSemaphore{free: n} }

func (s *fifoSemaphore) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Handed the slot while giving up: pass it on.
		s.releaseLocked()
		return ctx.Err()
	}
}

func (s *fifoSemaphore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *fifoSemaphore) releaseLocked() {
	if len(s.waiters) > 0 {
		ch := s.waiters[0]
		s.waiters = s.waiters[1:]
		close(ch)
		return
	}
	s.free++
}

// boundedBuffer keeps the first and last halves of what is written beyond
// its limit.
type boundedBuffer struct {
	mu    sync.Mutex
	limit int
	head  []byte
	tail  []byte
	cut   int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	half := b.limit / 2
	if room := half - len(b.head); room > 0 {
		take := min(room, len(p))
		b.head = append(b.head, p[:take]...)
		p = p[take:]
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - half; over > 0 {
		b.cut += over
		b.tail = append(b.tail[:0], b.tail[over:]...)
	}
	return n, nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut == 0 {
		return string(b.head) + string(b.tail)
	}
	return fmt.Sprintf("%s\n…[%d bytes cut]…\n%s", b.head, b.cut, b.tail)
}

// Check returns warnings about the program of a shell action: missing,
// not executable, or writable by others (anyone who can change it can run
// code as leaderhook).
func Check(spec actions.Spec) []string {
	if len(spec.Command) == 0 {
		return nil
	}
	prog := spec.Command[0]
	path := prog
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return []string{fmt.Sprintf("%s is not found in PATH", prog)}
		}
		path = p
	}
	info, err := os.Stat(path)
	if err != nil {
		return []string{fmt.Sprintf("%s does not exist (yet?)", path)}
	}
	var warns []string
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		warns = append(warns, fmt.Sprintf("%s is not executable", path))
	}
	if info.Mode().Perm()&0o022 != 0 {
		warns = append(warns, fmt.Sprintf("%s is writable by group or others (%s): anyone who can change it runs code as leaderhook", path, info.Mode().Perm()))
	}
	if dir, err := os.Stat(filepath.Dir(path)); err == nil && dir.Mode().Perm()&0o002 != 0 && dir.Mode()&os.ModeSticky == 0 {
		warns = append(warns, fmt.Sprintf("%s is in %s, which anyone can write to", path, filepath.Dir(path)))
	}
	return warns
}
