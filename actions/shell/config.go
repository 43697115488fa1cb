package shell

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of shell actions.
const Name = "shell"

// Kind describes shell actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: delivery,
	New: func(name string, spec actions.Spec, _ actions.Options) (actions.Action, error) {
		return New(name, spec)
	},
	Docs: map[string]string{
		"command":            "program and arguments, run without a shell; arguments may be templates. It gets the payload on stdin and `LEADERHOOK_RULE`, `LEADERHOOK_STATUS`, `LEADERHOOK_CLUSTER`, `LEADERHOOK_EVENT_TYPE`, `LEADERHOOK_LEADER_ID`, `LEADERHOOK_PREVIOUS_LEADER_ID`, `LEADERHOOK_LEADERLESS_SECONDS` (whole seconds, truncated), `LEADERHOOK_FIRED_AT`, `LEADERHOOK_DELIVERY_ID`, `LEADERHOOK_DRY_RUN`, `LEADERHOOK_SEQ` (the number of the cluster state it was decided for, to fence its writes) and `LEADERHOOK_TERM` (the raft term, where known) in its environment.",
		"env":                "extra environment; values are templates.",
		"dir":                "working directory.",
		"concurrency":        "runs of this action per cluster at once. Default 1 (in firing order).",
		"kill_grace":         "time between SIGTERM and SIGKILL when a run is stopped (timeout, `cancel_on_change`, shutdown): the program and its children have this long to end on SIGTERM, even once the program itself has exited. Default `5s`.",
		"cancel_on_change":   "fence runs to the cluster state they were decided for: once it moves on (another leader, or the old one back), a run still waiting (queued, or for a retry) is dropped, and a running one's process group gets SIGTERM, then SIGKILL after `kill_grace`; audited as `dropped` or `cancelled`, not retried. A run that ends by itself as the state moves on keeps its own result: exit 0 is delivered, a failure is `failed` and runs `on_failure`, an exit 75 is dropped. Default false.",
		"retry.max_attempts": "A shell's exit 75 or timeout is retried only when this is > 1, so a failover script never runs twice by surprise; a run under way when leaderhook is killed, or stopped because the shutdown drain ran out, counts as an attempt (its outcome unknown): with none left, the delivery fails and `on_failure` runs.",
	},
}

// delivery is a minute per run and one attempt: a script is not assumed to
// be safe to rerun.
var delivery = actions.Delivery{Timeout: time.Minute, Attempts: 1}

// Defaults of the shell keys.
const (
	DefaultConcurrency = 1 // runs in firing order
	DefaultKillGrace   = 5 * time.Second
)

// Config is the settings of a shell action.
type Config struct {
	Command     []string          `koanf:"command" json:"command,omitempty"`
	Env         map[string]string `koanf:"env" json:"env,omitempty"`
	Dir         string            `koanf:"dir" json:"dir,omitempty"`
	Concurrency int               `koanf:"concurrency" json:"concurrency,omitempty"`
	KillGrace   time.Duration     `koanf:"kill_grace" json:"kill_grace,omitempty"`
	// CancelOnChange: see Kind.Docs and dispatch.Dispatcher.StateChanged.
	CancelOnChange bool `koanf:"cancel_on_change" json:"cancel_on_change,omitempty"`
}

// Validate checks the command, its templates and the environment.
func (c Config) Validate() field.List {
	var errs field.List
	if len(c.Command) == 0 {
		errs.Add("command", `is required: the program and its arguments, e.g. [/usr/local/bin/failover.sh, "{{ .Cluster }}"]`)
		return errs
	}
	checkProgram(&errs, c.Command[0], c.Dir)
	for i, arg := range c.Command[1:] {
		actions.CheckTemplate(&errs, "command["+strconv.Itoa(i+1)+"]", arg)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Env)) {
		path := "env." + name
		switch {
		case !envName.MatchString(name):
			errs.Add(path, "%q is not an environment variable name (letters, digits and _, not starting with a digit)", name)
		case strings.HasPrefix(name, "LEADERHOOK_"):
			errs.Add(path, "LEADERHOOK_ variables are reserved: leaderhook sets them itself")
		}
		actions.CheckTemplate(&errs, path, c.Env[name])
	}
	if c.Concurrency < 0 {
		errs.Add("concurrency", "must not be negative")
	}
	if c.KillGrace < 0 {
		errs.Add("kill_grace", "must not be negative")
	}
	return errs
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkProgram wants the program fixed, because a program chosen by event
// data would let whoever writes events choose what runs; and absolute, a
// bare name looked up in PATH, or relative to dir, because a path relative
// to nothing would depend on where leaderhook was started.
func checkProgram(errs *field.List, prog, dir string) {
	const path = "command[0]"
	switch {
	case prog == "":
		errs.Add(path, "the program is empty")
	case strings.Contains(prog, "{{"):
		errs.Add(path, "the program must be a fixed path or name, not a template")
	case filepath.IsAbs(prog):
	case strings.ContainsAny(prog, " \t"):
		// Not quoted: a pasted command line may carry a password.
		errs.Add(path, "looks like a command line: list the program and each argument as separate items")
	case strings.Contains(prog, "/") && dir == "":
		errs.Add(path, "is a relative path but dir is not set: use an absolute path, a bare name to look up in PATH, or set dir")
	}
}

// Defaults fills in concurrency and kill_grace.
func (c Config) Defaults() actions.Config {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.KillGrace == 0 {
		c.KillGrace = DefaultKillGrace
	}
	return c
}

// Secrets is empty: a shell action has no key for a secret. What ${VAR}s
// put in its arguments and environment is redacted all the same (see
// actions.Spec.FromEnv).
func (c Config) Secrets() []string { return nil }

// Workers lets concurrency runs per cluster start at once; the action
// orders them itself.
func (c Config) Workers() int { return max(c.Concurrency, 1) }

// CancelsOnChange fences the action's runs to the cluster's state.
func (c Config) CancelsOnChange() bool { return c.CancelOnChange }

// Warnings are what Check finds about the program, at command[0].
func (c Config) Warnings() field.List {
	var warns field.List
	for _, w := range Check(c) {
		warns.Add("command[0]", "%s", w)
	}
	for i, arg := range c.Command[min(1, len(c.Command)):] {
		actions.CheckStrictTemplate(&warns, fmt.Sprintf("command[%d]", i+1), arg)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		actions.CheckStrictTemplate(&warns, "env."+k, c.Env[k])
	}
	return warns
}
