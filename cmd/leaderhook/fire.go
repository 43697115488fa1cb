package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/pipeline"
)

func fireCmd(e *env) *cobra.Command {
	var path, status, cluster string
	cmd := &cobra.Command{
		Use:   "fire -c FILE ACTION [--status firing|resolved]",
		Short: "Send one sample notification through an action, for real",
		Long: `Send one sample notification (rule "leaderhook-fire", a cluster leaderless for 42s)
through the named action, with its real retries and timeout, and report every attempt:
to check a receiver, a signature verifier or a script end to end before an incident.

Only that action runs: when it fails, its on_failure actions are listed, not run.
Fire each of them the same way to test it.

Exit status: 0 when delivered, 1 when it failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return e.fire(path, args[0], status, cluster)
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().StringVar(&status, "status", actions.StatusFiring, "firing or resolved")
	cmd.Flags().StringVar(&cluster, "cluster", "", "configured cluster named in the sample, with its labels (default: the first)")
	return cmd
}

func (e *env) fire(path, name, status, cluster string) error {
	if status != actions.StatusFiring && status != actions.StatusResolved {
		return fmt.Errorf("--status %q: firing or resolved", status)
	}
	cfg, ok := e.loadConfig(path)
	if !ok {
		return exitError{1}
	}
	if _, ok := cfg.Actions[name]; !ok {
		names := make([]string, 0, len(cfg.Actions))
		for n := range cfg.Actions {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("no action %q in %s (actions: %s)", name, path, strings.Join(names, ", "))
	}
	targets, err := pipeline.Targets(cfg, nil)
	if err != nil {
		return err
	}
	if cluster == "" {
		cluster = cfg.Clusters[0].Name
	}
	labels, ok := clusterLabels(cfg, cluster)
	if !ok {
		// A typo would send a sample for a cluster that cannot fire.
		names := make([]string, len(cfg.Clusters))
		for i, c := range cfg.Clusters {
			names[i] = c.Name
		}
		return fmt.Errorf("--cluster %q is not in %s (clusters: %s)", cluster, path, strings.Join(names, ", "))
	}
	n := actions.Notification{Rule: "leaderhook-fire", Status: status, Cluster: cluster, FiredAt: time.Now(),
		EventType: "state.is_leaderless", PreviousLeaderID: "sample-leader", Leaderless: true, LeaderlessFor: 42 * time.Second}
	if status == actions.StatusResolved {
		n.EventType, n.LeaderID, n.Leaderless, n.LeaderlessFor = "state.has_leader", "sample-leader-2", false, 0
	}
	n.Labels = labels
	rec := &printAudit{e: e}
	// Only the named action is a target: fire tests one action, so the
	// dispatcher cannot start its on_failure actions.
	d := dispatch.New(dispatch.Options{Targets: map[string]dispatch.Target{name: targets[name]}, Audit: rec, Log: slog.New(slog.DiscardHandler)})
	d.Submit(n, []string{name})
	if err := d.Close(context.Background()); err != nil {
		return err
	}
	if !rec.delivered {
		if fallbacks := targets[name].Spec.OnFailure; len(fallbacks) > 0 {
			fmt.Fprintf(e.stdout, "not run: on_failure %s (fire tests one action). Test each with:\n", strings.Join(fallbacks, ", "))
			for _, fb := range fallbacks {
				fmt.Fprintf(e.stdout, "  leaderhook fire -c %s%s\n", shellQuote(path), fireFlags(fb, status, cluster, cfg.Clusters[0].Name))
			}
		}
		return exitError{1}
	}
	return nil
}

func clusterLabels(cfg *config.Config, name string) (map[string]string, bool) {
	for _, c := range cfg.Clusters {
		if c.Name == name {
			return c.Labels, true
		}
	}
	return nil, false
}

// fireFlags are the arguments that fire action with the same sample.
func fireFlags(action, status, cluster, defaultCluster string) string {
	s := " " + shellQuote(action)
	if status != actions.StatusFiring {
		s += " --status " + status
	}
	if cluster != defaultCluster {
		s += " --cluster " + shellQuote(cluster)
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
