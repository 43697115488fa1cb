package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// fireOptions are fire's flags.
type fireOptions struct {
	config, status, cluster, rule string
	event                         []string
	yes, dryRun                   bool
}

func fireCmd(e *env) *cobra.Command {
	var o fireOptions
	cmd := &cobra.Command{
		Use:   "fire -c FILE ACTION [--status firing|resolved|verify_failed] [--rule NAME] [--event KEY=VALUE]... [--dry-run | --yes]",
		Short: "Send one sample notification through an action, for real",
		Long: `Send one sample notification through the named action, with its real retries and
timeout, and report every attempt: to check a receiver, a signature verifier or a script
end to end before an incident.

The sample is what the daemon sends when the cluster's first member, its leader, goes
down: a firing (or verify_failed) while no member leads, 42s into the outage; a resolve
once the second member is elected. It carries the detector's state event as a real one
does (.Event: namespace, event_src_id, timestamp, eventType, leaderId on a resolve,
previousLeaderId, cluster, since, change_kind), the member counts of the cluster's
members (or a poll source's URLs; three made-up members when they are learnt from the
events), and the cluster's labels. The rule is "leaderhook-fire" unless --rule names a configured rule:
then its name, with its labels over the cluster's. --event KEY=VALUE sets a field of the
event (as a string, and .LeaderID, .PreviousLeaderID or .EventType with it);
--event KEY= removes it, as events of some types lack it. A key no event has is refused.

An action that runs a program (shell) runs it for real with a made-up leader: fire
shows the command and its environment and asks "run it? [y/N]" first. When standard
input is not a terminal it refuses unless --yes is given. --dry-run shows what any
action would send or run, and sends and runs nothing.

Only that action runs: when it fails, its on_failure actions are listed, not run.
Fire each of them the same way to test it.

Exit status: 0 when delivered (or shown, with --dry-run), 1 when it failed, 2 when
a program was not run for want of confirmation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return e.fire(o, args[0])
		},
	}
	configFlag(cmd, &o.config)
	cmd.Flags().StringVar(&o.status, "status", actions.StatusFiring, "firing, resolved or verify_failed")
	cmd.Flags().StringVar(&o.cluster, "cluster", "", "configured cluster named in the sample, with its labels (default: the first)")
	cmd.Flags().StringVar(&o.rule, "rule", "", `configured rule named in the sample, with its labels (default: "leaderhook-fire", no rule labels)`)
	cmd.Flags().StringArrayVar(&o.event, "event", nil, "KEY=VALUE: set a field of the sample's event; KEY=: remove it (repeatable)")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "run a program action without asking")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "show what the action would send or run; send and run nothing")
	return cmd
}

func (e *env) fire(o fireOptions, name string) error {
	cfg, targets, n, err := e.fireSample(o, name)
	if err != nil {
		return err
	}
	shown := pipeline.Render(targets, n, []string{name})[0]
	if o.dryRun {
		return e.showDryRun(shown)
	}
	if shown.Notes != "" { // the message is sent all the same
		fmt.Fprintf(e.stdout, "note: %s\n", event.Printable(shown.Notes))
	}
	// A rendering with an argv is a program about to run. One that failed
	// to render cannot run anything: the attempt fails at the same step.
	if shown.Argv != nil && !o.yes {
		if err := e.confirm(shown); err != nil {
			return err
		}
	}
	return e.deliverSample(o, cfg, targets, n, name)
}

// fireSample checks fire's arguments against the config and builds the
// targets and the sample notification.
func (e *env) fireSample(o fireOptions, name string) (*config.Config, map[string]dispatch.Target, actions.Notification, error) {
	var n actions.Notification
	if o.status != actions.StatusFiring && o.status != actions.StatusResolved && o.status != actions.StatusVerifyFailed {
		return nil, nil, n, fmt.Errorf("--status %q: firing, resolved or verify_failed", o.status)
	}
	cfg, ok := e.loadConfig(o.config)
	if !ok {
		return nil, nil, n, exitError{1}
	}
	if _, ok := cfg.Actions[name]; !ok {
		names := make([]string, 0, len(cfg.Actions))
		for n := range cfg.Actions {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, nil, n, fmt.Errorf("no action %q in %s (actions: %s)", name, o.config, strings.Join(names, ", "))
	}
	// What actions remember (a Slack message to edit, alerts kept open)
	// stays with this run: the daemon's memory is the daemon's.
	targets, err := pipeline.Targets(cfg, "", nil, nil)
	if err != nil {
		return nil, nil, n, err
	}
	n, err = sampleFor(cfg, o)
	if err != nil {
		return nil, nil, n, err
	}
	return cfg, targets, n, nil
}

// sampleFor builds the sample o asks for: what the daemon sends for the
// cluster and rule, on a loss of their leader.
func sampleFor(cfg *config.Config, o fireOptions) (actions.Notification, error) {
	var n actions.Notification
	cluster := cfg.Clusters[0]
	if o.cluster != "" {
		// A typo would send a sample for a cluster that cannot fire.
		c, err := named(cfg.Clusters, func(c detector.Cluster) string { return c.Name }, "--cluster", o.cluster, "clusters", o.config)
		if err != nil {
			return n, err
		}
		cluster = c
	}
	rule, labels := "leaderhook-fire", cluster.Labels
	if o.rule != "" {
		r, err := named(cfg.Rules, func(r rules.Rule) string { return r.Name }, "--rule", o.rule, "rules", o.config)
		if err != nil {
			return n, err
		}
		rule, labels = r.Name, rules.MergeLabels(cluster.Labels, r.Labels)
	}
	// A poll source names a member by its URL until it answers.
	members := cluster.Members
	if len(members) == 0 {
		for _, m := range cluster.Source.Members {
			members = append(members, detector.MemberName(m))
		}
	}
	now := time.Now()
	// One episode a day: a resolve fired after a firing finds what the
	// firing opened (a PagerDuty incident, an Alertmanager alert).
	n = actions.Sample(actions.SampleSpec{Status: o.status, Rule: rule, Cluster: cluster.Name, Labels: labels,
		Members: slices.Sorted(slices.Values(members)), Now: now, Episode: now.UTC().Truncate(24 * time.Hour)})
	return n, overrideEvent(&n, o.event)
}

// overrideEvent applies --event KEY=VALUE to the sample's event, and to
// the fields that repeat it, so that the two agree as in a real one.
func overrideEvent(n *actions.Notification, sets []string) error {
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--event %q: want KEY=VALUE (KEY= removes the key)", kv)
		}
		if !slices.Contains(event.FieldNames, k) {
			return fmt.Errorf("--event %q: no event has the key %s (keys: %s)", kv, k, strings.Join(event.FieldNames, ", "))
		}
		if v == "" {
			delete(n.Event, k)
		} else {
			n.Event[k] = v
		}
		switch k {
		case "leaderId":
			n.LeaderID = v
		case "previousLeaderId":
			n.PreviousLeaderID = v
		case "eventType":
			n.EventType = v
		}
	}
	return nil
}

// deliverSample runs the one action with its retries and reports each
// attempt.
func (e *env) deliverSample(o fireOptions, cfg *config.Config, targets map[string]dispatch.Target, n actions.Notification, name string) error {
	rec := &printAudit{e: e}
	// Only the named action is a target: fire tests one action, so the
	// dispatcher cannot start its on_failure actions.
	d := dispatch.New(dispatch.Options{Targets: map[string]dispatch.Target{name: targets[name]}, Audit: rec, Log: slog.New(slog.DiscardHandler)})
	d.Submit(n, []string{name})
	if err := d.Close(context.Background()); err != nil {
		return err
	}
	if rec.delivered {
		return nil
	}
	if fallbacks := targets[name].Spec.OnFailure; len(fallbacks) > 0 {
		fmt.Fprintf(e.stdout, "not run: on_failure %s (fire tests one action). Test each with:\n", strings.Join(fallbacks, ", "))
		for _, fb := range fallbacks {
			fmt.Fprintf(e.stdout, "  leaderhook fire -c %s%s\n", shellQuote(o.config), fireFlags(fb, o, n.Cluster, cfg.Clusters[0].Name))
		}
	}
	return exitError{1}
}

// showDryRun prints what the action would do, and does nothing.
func (e *env) showDryRun(r pipeline.NamedRendering) error {
	if r.Error != "" {
		return fmt.Errorf("action %s cannot render: %s", r.Action, event.Printable(r.Error))
	}
	verb := "sent"
	if r.Argv != nil {
		verb = "run"
	}
	fmt.Fprintf(e.stdout, "dry run of %s (%s): nothing is %s\n", r.Action, r.Kind, verb)
	writeRendering(e.stdout, r.Rendering)
	return nil
}

// confirm asks a person at a terminal whether to run the program r shows.
// Without a terminal nobody can answer: it refuses.
func (e *env) confirm(r pipeline.NamedRendering) error {
	if !stdinIsTerminal(e.stdin) {
		fmt.Fprintf(e.stderr, "leaderhook: %s runs a program (%s) for real: pass --yes to run it, or --dry-run to see what it would run\n",
			r.Action, displayArg(r.Argv[0]))
		return exitError{2}
	}
	fmt.Fprintf(e.stderr, "%s runs a program for real, with a made-up leader:\n", r.Action)
	writeRendering(e.stderr, r.Rendering)
	fmt.Fprint(e.stderr, "run it? [y/N] ")
	answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		fmt.Fprintln(e.stderr, "not run")
		return exitError{2}
	}
	return nil
}

// stdinIsTerminal reports whether r is a terminal, where a person can
// answer. A variable, so that tests can stand in for one.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// writeRendering shows a rendering (secrets already redacted) for people:
// a program's argv, environment and directory, or a request's method, URL,
// headers and body.
func writeRendering(w io.Writer, r actions.Rendering) {
	if r.Argv != nil {
		args := make([]string, len(r.Argv))
		for i, a := range r.Argv {
			args[i] = displayArg(a)
		}
		fmt.Fprintf(w, "  argv: %s\n", strings.Join(args, " "))
		for _, kv := range r.Env {
			fmt.Fprintf(w, "  env:  %s\n", event.Printable(kv))
		}
		if r.Dir != "" {
			fmt.Fprintf(w, "  dir:  %s\n", event.Printable(r.Dir))
		}
		return
	}
	fmt.Fprintf(w, "  %s %s\n", r.Method, event.Printable(r.URL))
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		fmt.Fprintf(w, "  %s: %s\n", event.Printable(k), event.Printable(r.Headers[k]))
	}
	for line := range strings.Lines(r.Body) {
		fmt.Fprintf(w, "  | %s\n", event.Printable(strings.TrimSuffix(line, "\n")))
	}
	if r.Notes != "" {
		fmt.Fprintf(w, "  note: %s\n", event.Printable(r.Notes))
	}
}

// displayArg shows one argument as a shell would take it, or Go-quoted
// when it holds what a terminal must not print.
func displayArg(s string) string {
	if event.Printable(s) != s {
		return strconv.Quote(s)
	}
	return shellQuote(s)
}

// fireFlags are the arguments that fire action with the same sample.
func fireFlags(action string, o fireOptions, cluster, defaultCluster string) string {
	s := " " + shellQuote(action)
	if o.status != actions.StatusFiring {
		s += " --status " + o.status
	}
	if cluster != defaultCluster {
		s += " --cluster " + shellQuote(cluster)
	}
	if o.rule != "" {
		s += " --rule " + shellQuote(o.rule)
	}
	for _, kv := range o.event {
		s += " --event " + shellQuote(kv)
	}
	return s
}

// shellQuote makes s one word for a POSIX shell, so that a printed command
// can be pasted as it is.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printAudit prints each attempt as it happens.
type printAudit struct {
	mu        sync.Mutex
	e         *env
	delivered bool
}

func (p *printAudit) Record(r dispatch.Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.Kind {
	case "attempt":
		line := fmt.Sprintf("attempt %d: %s in %dms", r.Attempt, r.Outcome, r.DurationMS)
		if r.HTTPStatus != 0 {
			line += fmt.Sprintf(", HTTP %d", r.HTTPStatus)
		}
		if r.ExitCode != nil {
			line += fmt.Sprintf(", exit %d", *r.ExitCode)
		}
		if r.Error != "" {
			line += ": " + r.Error
		}
		fmt.Fprintln(p.e.stdout, line)
		if r.Output != "" {
			fmt.Fprintf(p.e.stdout, "output:\n%s\n", strings.TrimRight(r.Output, "\n"))
		}
	case "delivered":
		p.delivered = true
		fmt.Fprintf(p.e.stdout, "delivered %s to %s (delivery %s)\n", r.Status, r.Action, r.DeliveryID)
	case "failed":
		fmt.Fprintf(p.e.stdout, "FAILED to deliver to %s after %d attempts: %s\n", r.Action, r.Attempt, r.Error)
	}
}

// named returns the item of items whose name is want, or an error that
// names flag and lists the names the config has.
func named[T any](items []T, name func(T) string, flag, want, kind, config string) (T, error) {
	names := make([]string, len(items))
	for i, it := range items {
		if name(it) == want {
			return it, nil
		}
		names[i] = name(it)
	}
	var zero T
	return zero, fmt.Errorf("%s %q is not in %s (%s: %s)", flag, want, config, kind, strings.Join(names, ", "))
}
