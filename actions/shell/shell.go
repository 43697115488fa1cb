// Package shell runs a program when a rule fires: failover scripts, pagers
// with a CLI, anything.
//
// The contract, for script authors:
//
//   - The command is an argv list, run directly, never through a shell.
//     command[0] is the program: an absolute path, a path relative to dir,
//     or a name looked up in PATH. The other elements are templates
//     ({{ .Cluster }}, {{ .LeaderID }}, ...); each renders into exactly one
//     argument, whatever it contains ($(...), backquotes, ;, newlines), so
//     event data is never interpreted.
//   - Standard input is the notification as JSON (the webhook payload),
//     then end of file.
//   - The environment is PATH, HOME, LANG and TZ from leaderhook's own (when
//     set), then the action's env: (values are templates), then the
//     LEADERHOOK_* variables, which cannot be overridden: LEADERHOOK_RULE,
//     _STATUS, _CLUSTER, _EVENT_TYPE, _LEADER_ID, _PREVIOUS_LEADER_ID,
//     _LEADERLESS_SECONDS (whole seconds, truncated), _FIRED_AT,
//     _DELIVERY_ID, _DRY_RUN, _SEQ and _TERM (empty when not known). Nothing
//     else of leaderhook's environment reaches the program, secrets
//     included. dir: sets the working directory.
//   - Exit 0: done. Exit 75 (EX_TEMPFAIL): temporary failure, retried with
//     backoff when retry.max_attempts > 1 (shell actions default to 1, so
//     that a failover script never runs twice by surprise). Any other
//     exit, or death by a signal leaderhook did not send: failed for good,
//     not retried (on_failure actions run). A program that cannot be
//     started (missing, not executable) has failed for good too. A run
//     under way when leaderhook is killed counts as an attempt (the action
//     is actions.Unrepeatable): it is not started again unseen.
//   - The program runs in its own process group. After timeout (default
//     1m), or when leaderhook shuts down, the whole group gets SIGTERM,
//     then SIGKILL kill_grace (default 5s) later, or once none of it is
//     left (the program's own exit does not cut its children's grace
//     short): children and
//     grandchildren end too, and so do descendants in a group of their own
//     (coreutils timeout makes one). A timeout is reported as "timed out after
//     <timeout>" and retried like exit 75; a shutdown as "interrupted".
//     With cancel_on_change, so is a run whose cluster's state moved on
//     (the dispatcher ends its context, saying why): it is not retried.
//   - When the program exits by itself, what it left running in the
//     background is not killed, but its output is no longer collected:
//     leaderhook stops waiting for it one second after the program exits,
//     and then reads and discards what it writes (so that a write does not
//     kill it with SIGPIPE) until it closes its output.
//     The run ended when the program exited: a timeout, shutdown or state
//     change during that second neither undoes its result nor kills what
//     it left running.
//   - At most concurrency (default 1) runs of the action per cluster at
//     once, in the order they fired: the dispatcher's queue for the
//     cluster and action has that many workers (Config.Workers).
//   - Output (stdout and stderr together) goes to the audit log, bounded to
//     64 KiB: the first and last 32 KiB, with "…[N bytes cut]…" between.
package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// ExitTempFail is the exit status that asks for a retry (sysexits.h).
const ExitTempFail = 75

// outputLimit bounds the output kept for the audit log.
const outputLimit = 64 << 10

// pipeGrace is how long Run keeps reading output after the program has
// exited, for background processes that inherited its stdout. Without a
// bound, `sleep 1000 &` in a script would hold Run for 1000 s.
const pipeGrace = time.Second

// inherited are the variables a program gets from leaderhook's environment:
// enough to find commands and format text, nothing that could be a secret.
var inherited = []string{"PATH", "HOME", "LANG", "TZ"}

// Action is a shell action. It is safe for concurrent use.
type Action struct {
	name    string
	cfg     Config
	timeout time.Duration        // of one run
	args    []*template.Template // command[1:]
	envKeys []string             // sorted, so that runs and dry runs agree
	env     map[string]*template.Template
	secrets actions.Redactor // redacts dry-run renderings
}

// New builds the action from a validated spec, parsing its templates once.
// Defaults are applied to what the spec leaves out.
func New(name string, spec actions.Spec) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, delivery)
	if err != nil {
		return nil, fmt.Errorf("shell action: %w", err)
	}
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, errors.New("shell action: command[0] must name the program")
	}
	a := &Action{name: name, cfg: cfg, timeout: spec.Timeout, env: map[string]*template.Template{}, secrets: actions.NewRedactor(spec.Secrets()...)}
	for i, arg := range cfg.Command[1:] {
		t, err := actions.ParseStrict(fmt.Sprintf("command[%d]", i+1), arg)
		if err != nil {
			return nil, fmt.Errorf("shell action: %w", err)
		}
		a.args = append(a.args, t)
	}
	a.envKeys = slices.Sorted(maps.Keys(cfg.Env))
	for _, k := range a.envKeys {
		t, err := actions.ParseStrict("env."+k, cfg.Env[k])
		if err != nil {
			return nil, fmt.Errorf("shell action: %w", err)
		}
		a.env[k] = t
	}
	return a, nil
}

// Render shows the argv, environment (the action's env and the LEADERHOOK_*
// variables, with URL credentials redacted) and directory a run would use.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	argv, env, err := a.render(n)
	if err != nil {
		return actions.Rendering{}, err
	}
	for i, kv := range env {
		env[i] = a.secrets.Redact(kv)
	}
	for i, arg := range argv {
		argv[i] = a.secrets.Redact(arg)
	}
	return actions.Rendering{Kind: Name, Argv: argv, Env: env, Dir: a.cfg.Dir}, nil
}

// render expands the templates: the argv, then the action's env followed by
// the LEADERHOOK_* variables (last, so that they win).
func (a *Action) render(n *actions.Notification) (argv, env []string, err error) {
	argv = []string{a.cfg.Command[0]}
	for _, t := range a.args {
		s, err := expand(t, n)
		if err != nil {
			return nil, nil, err
		}
		argv = append(argv, withoutNUL(s))
	}
	for _, k := range a.envKeys {
		s, err := expand(a.env[k], n)
		if err != nil {
			return nil, nil, err
		}
		env = append(env, k+"="+withoutNUL(s))
	}
	for _, kv := range n.Environ() {
		env = append(env, withoutNUL(kv))
	}
	return argv, env, nil
}

// withoutNUL writes a NUL as \x00: arguments and variables are C strings,
// and exec refuses one that holds a NUL, so an id from an event that holds
// one would keep the program from ever starting.
func withoutNUL(s string) string {
	return strings.ReplaceAll(s, "\x00", `\x00`)
}

// expand renders one argument or variable. One that fails fails the
// delivery, with no default put in its place as messages have (see
// actions.RenderMessage): a failover script must never run with an
// argument its author did not write (the templates are strict: no
// "<no value>" either).
func expand(t *template.Template, n *actions.Notification) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, n); err != nil {
		return "", fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return b.String(), nil
}

// Unrepeatable: a script may have run to its end unseen (leaderhook
// killed during it); it is not run again beyond retry.max_attempts.
func (a *Action) Unrepeatable() {}

// Run runs the program once; retrying is the caller's business.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	notRun := actions.Outcome{HasExitCode: true, ExitCode: -1}
	argv, env, err := a.render(n)
	if err != nil {
		return notRun, actions.Permanent(err)
	}
	stdin, err := n.Payload()
	if err != nil {
		return notRun, actions.Permanent(fmt.Errorf("payload: %w", err))
	}
	if ctx.Err() != nil {
		err := a.stopReason(context.Cause(ctx))
		notRun.Detail = "not started: " + err.Error()
		return notRun, fmt.Errorf("%s not started: %w", argv[0], err)
	}
	return a.execute(ctx, argv, append(inheritedEnv(), env...), stdin)
}

// execute starts the program, waits for it or for the timeout, and judges
// the result.
func (a *Action) execute(ctx context.Context, argv, env []string, stdin []byte) (actions.Outcome, error) {
	notRun := actions.Outcome{HasExitCode: true, ExitCode: -1, Detail: "did not start"}
	// A pipe of our own, not exec's: Wait then returns when the program
	// exits, not when the background children holding its output do, so
	// that a stop arriving meanwhile cannot undo a finished run.
	r, w, err := os.Pipe()
	if err != nil {
		return notRun, fmt.Errorf("start %s: %w", argv[0], err)
	}
	out := &boundedBuffer{limit: outputLimit}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env // exec keeps the last of duplicate keys: LEADERHOOK_* win
	cmd.Dir = a.cfg.Dir
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = w, w // one pipe: the two stay interleaved
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = pipeGrace // for stdin, which a background child may hold
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return notRun, startError(argv[0], explainStart(cmd, err))
	}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(out, r); r.Close(); close(copied) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	waitErr, stopped := a.await(ctx, cmd.Process.Pid, done)
	if !collect(out, copied) && waitErr == nil {
		waitErr = exec.ErrWaitDelay // output cut off, as exec would say
	}
	return judge(argv[0], cmd.ProcessState, waitErr, stopped, out.String())
}

// await waits for the program to exit, or stops it at the timeout or when
// ctx ends. stopped is why it was stopped, nil when it exited by itself.
func (a *Action) await(ctx context.Context, pid int, done <-chan error) (waitErr, stopped error) {
	timer := time.NewTimer(a.timeout)
	defer timer.Stop()
	select {
	case waitErr = <-done:
		return waitErr, nil
	case <-timer.C:
		stopped = a.stopReason(nil)
	case <-ctx.Done():
		stopped = a.stopReason(context.Cause(ctx))
	}
	select {
	case waitErr = <-done: // it exited first: its own result stands
		return waitErr, nil
	default:
	}
	if exited(pid) { // so did it, though Wait has not returned yet
		return <-done, nil
	}
	return a.stop(pid, done), stopped
}

// collect waits for the end of the output, at most pipeGrace once the
// program has exited, since a background child may hold the pipe open. It
// reports whether all of the output came. After the grace the copy goes
// on into nothing until the last writer closes the pipe: closing our end
// would kill a background child at its next write (SIGPIPE).
func collect(out *boundedBuffer, copied <-chan struct{}) bool {
	grace := time.NewTimer(pipeGrace)
	defer grace.Stop()
	select {
	case <-copied:
		return true
	case <-grace.C:
		out.seal()
		return false
	}
}

// stopReason says why a run is stopped (or not started): the timeout, or
// an interruption (context.Canceled: leaderhook shuts down; or the cause
// the caller gave, such as the cluster's state moving on). The
// caller's deadline is the action's timeout too: dispatch gives each
// attempt a context that ends after it, and that context usually wins the
// race with the timer here.
func (a *Action) stopReason(cause error) error {
	if cause == nil || errors.Is(cause, context.DeadlineExceeded) {
		return &timeoutError{after: a.timeout}
	}
	return cause
}

// timeoutError is a run that hit the action's timeout. It says so in those
// words rather than "context deadline exceeded", and still matches
// context.DeadlineExceeded for errors.Is.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string        { return fmt.Sprintf("timed out after %s", e.after) }
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// stop ends the process group, and the descendants that left it: SIGTERM,
// then SIGKILL when the grace period ends, or sooner once they have all
// ended. The program's own exit does not cut the grace short: a child
// undoing its step on SIGTERM has the grace the program has. It returns
// the program's Wait error.
func (a *Action) stop(pgid int, done <-chan error) error {
	strays := escaped(pgid) // found while the program lives to be their parent
	defer func() {
		for _, p := range strays {
			_ = p.Release()
		}
	}()
	signal(pgid, strays, syscall.SIGTERM)
	awaitGroupEnd(pgid, strays, a.cfg.KillGrace)
	signal(pgid, strays, syscall.SIGKILL)
	return <-done
}

// How often stop looks whether the group has ended: soon at first, then
// less and less often, since each look scans /proc.
const (
	groupPoll    = 20 * time.Millisecond
	groupPollMax = 500 * time.Millisecond
)

// awaitGroupEnd waits until every process of the group pgid and every
// stray has ended, or grace has passed.
func awaitGroupEnd(pgid int, strays []*os.Process, grace time.Duration) {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for wait := groupPoll; !groupEnded(pgid, strays); wait = min(2*wait, groupPollMax) {
		select {
		case <-deadline.C:
			return
		case <-time.After(wait):
		}
	}
}

func signal(pgid int, strays []*os.Process, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig) // ESRCH: already gone, fine
	for _, p := range strays {
		_ = p.Signal(sig)
	}
}

// judge turns how the program ended into an Outcome and the exit-code
// contract's error: nil, retryable, or permanent. stopped is why leaderhook
// stopped it, or nil when it ended by itself.
func judge(prog string, state *os.ProcessState, waitErr, stopped error, output string) (actions.Outcome, error) {
	o := actions.Outcome{HasExitCode: true, ExitCode: exitCode(state), Output: output}
	var timeout *timeoutError
	switch {
	case errors.As(stopped, &timeout):
		o.Detail = timeout.Error()
		return o, fmt.Errorf("%s %w", prog, timeout)
	case stopped != nil:
		o.Detail = "interrupted: " + stopped.Error()
		return o, fmt.Errorf("%s interrupted: %w", prog, stopped)
	case state == nil:
		o.Detail = "wait failed"
		return o, fmt.Errorf("%s: %w", prog, waitErr)
	case state.Success():
		// ErrWaitDelay: a background process kept the output open after a
		// successful exit. Its output is cut off; the run still succeeded.
		o.Detail = "exit 0"
		if errors.Is(waitErr, exec.ErrWaitDelay) {
			o.Detail += " (output of background processes not collected)"
		}
		return o, nil
	case o.ExitCode == ExitTempFail:
		o.Detail = fmt.Sprintf("exit %d (temporary failure)", ExitTempFail)
		return o, fmt.Errorf("%s exited with %d: temporary failure", prog, ExitTempFail)
	case o.ExitCode == -1:
		o.Detail = "killed by " + signalName(state)
		return o, actions.Permanent(fmt.Errorf("%s was killed by %s", prog, signalName(state)))
	default:
		o.Detail = fmt.Sprintf("exit %d", o.ExitCode)
		return o, actions.Permanent(fmt.Errorf("%s exited with %d", prog, o.ExitCode))
	}
}

// startError is permanent when retrying cannot help (no such program, not
// executable, no such dir) and retryable otherwise (out of processes or
// memory, text file busy while the script is being replaced).
func startError(prog string, err error) error {
	err = fmt.Errorf("start %s: %w", prog, err)
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, exec.ErrDot),
		errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission),
		errors.Is(err, syscall.ENOEXEC), errors.Is(err, syscall.ENOTDIR),
		errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ELOOP):
		return actions.Permanent(err)
	}
	return err
}

// explainStart says why the kernel refused a program that exists: for a
// script whose #! interpreter is missing, exec reports the script itself
// as not found.
func explainStart(cmd *exec.Cmd, err error) error {
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOEXEC) {
		return err
	}
	path := cmd.Path
	if !filepath.IsAbs(path) && cmd.Dir != "" {
		path = filepath.Join(cmd.Dir, path)
	}
	if why := unrunnable(path); why != "" {
		return fmt.Errorf("%s: %w", why, err)
	}
	return err
}

// exitCode is the exit status, or -1 when there is none: not started, or
// killed by a signal.
func exitCode(state *os.ProcessState) int {
	if state == nil {
		return -1
	}
	return state.ExitCode() // -1 when signaled
}

func signalName(state *os.ProcessState) string {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return "a signal"
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

// Check returns warnings about the program of a shell action, for
// `leaderhook check`: missing, not executable, refused by the kernel (see
// unrunnable), or replaceable by other users (who could then run code as
// leaderhook).
func Check(c Config) []string {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return nil
	}
	path, warn := resolve(c.Command[0], c.Dir)
	if warn != "" {
		return []string{warn}
	}
	info, err := os.Stat(path)
	if err != nil {
		return []string{fmt.Sprintf("%s does not exist (yet?)", path)}
	}
	var warns []string
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 || syscall.Access(path, 1 /* X_OK */) != nil {
		warns = append(warns, fmt.Sprintf("%s is not executable by leaderhook", path))
	}
	if why := unrunnable(path); why != "" {
		warns = append(warns, why)
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		warns = append(warns, fmt.Sprintf("%s is writable by group or others (%s): whoever can change it runs code as leaderhook", path, perm))
	}
	dir := filepath.Dir(path)
	if d, err := os.Stat(dir); err == nil && d.Mode().Perm()&0o002 != 0 {
		warns = append(warns, fmt.Sprintf("%s is in %s, which anyone can write to", path, dir))
	}
	return warns
}

// unrunnable says why the kernel would refuse to run the file at path,
// or "": a script whose #! interpreter is missing (exec then reports the
// script itself as not found, a puzzle at 3 a.m.), or a file that is
// neither a script with a #! line nor a binary. A file leaderhook cannot
// read is not judged.
func unrunnable(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 256) // what Linux reads of a #! line
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("\x7fELF")) {
		return ""
	}
	if !bytes.HasPrefix(head, []byte("#!")) {
		return fmt.Sprintf("%s has no #! line and is not a binary: it cannot be run (exec format error); begin it with #!/bin/sh or the like", path)
	}
	line, _, _ := bytes.Cut(head[2:], []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) == 0 {
		return fmt.Sprintf("%s has an empty #! line: it cannot be run", path)
	}
	interp := fields[0]
	if !filepath.IsAbs(interp) { // relative to the working directory: not judged
		return ""
	}
	if info, err := os.Stat(interp); err != nil || info.IsDir() || syscall.Access(interp, 1 /* X_OK */) != nil {
		return fmt.Sprintf("%s cannot be run: %s (its #! line) does not exist or is not executable here", path, interp)
	}
	return envInterpreter(path, interp, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(line)), interp)))
}

// envInterpreter says why `#!/usr/bin/env NAME` would fail (env exits 127
// at the incident), or "": NAME not in PATH. The kernel passes the rest of
// the line as one argument, so `env bash -e` looks for "bash -e". An
// argument that is an option or a variable (-S, X=1) is not judged.
func envInterpreter(path, interp, arg string) string {
	if filepath.Base(interp) != "env" || arg == "" || strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return ""
	}
	if _, err := exec.LookPath(arg); err != nil {
		return fmt.Sprintf("%s cannot be run: %s (its #! line, through %s) is not found in PATH", path, arg, interp)
	}
	return ""
}

// resolve finds the program the way exec does: a bare name in PATH, a
// relative path from dir.
func resolve(prog, dir string) (path, warn string) {
	switch {
	case !strings.Contains(prog, "/"):
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", fmt.Sprintf("%s is not found in PATH", prog)
		}
		return p, ""
	case !filepath.IsAbs(prog) && dir != "":
		return filepath.Join(dir, prog), ""
	}
	return prog, ""
}
