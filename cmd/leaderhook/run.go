package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/daemon"
)

type runOptions struct {
	config string
	dryRun bool
	drain  time.Duration
}

func runCmd(e *env) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run -c FILE [--dry-run]",
		Short: "Watch the clusters and run the rules' actions (the daemon)",
		Long: `Run the daemon: read each cluster's events, keep its view of the leader, evaluate the
rules on every change and when time makes them true, and deliver the actions.

State (cooldowns, firing rules, each cluster's leader and leaderless-since, pending
deliveries, read positions of followed files) is kept in state_dir and survives a
restart, kill -9 included: nothing fires twice inside its cooldown, an interrupted
delivery resumes with the same delivery id, and a cluster that recovered while
leaderhook was down gets its resolve.

POST /v1/events answers 202 once the events are decided and every delivery they
caused is in the journal; 503 with Retry-After while the cluster's deliveries are
backed up.

SIGHUP, POST /-/reload or saving the config file reloads it: every change applies,
or the reload is refused whole and names what needs a restart.

SIGTERM or SIGINT: stop reading, save the state, deliver what is queued for up to
--drain-timeout, exit 0. Undelivered notifications stay pending for the next start.

--dry-run evaluates everything but executes no action: it logs what each action
would send (URL, headers, body, argv, env; secrets redacted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return e.daemon(ctx, o)
		},
	}
	configFlag(cmd, &o.config)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "execute no action; log what each would send")
	cmd.Flags().DurationVar(&o.drain, "drain-timeout", 10*time.Second, "on shutdown, how long to keep delivering what is queued")
	return cmd
}

// daemon is `leaderhook run`: the daemon package does the work; this
// loads the config and turns SIGHUP into reloads.
func (e *env) daemon(ctx context.Context, o runOptions) error {
	// Before anything else: SIGHUP's default action would end the process
	// (systemctl reload just after start). One that comes while starting
	// is a reload once the daemon is built.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, ok := e.loadDaemonConfig(o.config)
	if !ok {
		return exitError{1}
	}
	d, err := daemon.New(cfg, daemon.Options{ConfigPath: o.config, DryRun: o.dryRun, DrainTimeout: o.drain,
		Stdin: e.stdin, Log: e.log, Version: buildVersion()})
	if err != nil {
		return err
	}
	defer d.Close()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = d.Reload() // logs a refusal itself
			}
		}
	}()
	return d.Run(ctx)
}
