package main

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/demo"
)

func demoCmd(e *env) *cobra.Command {
	var ha bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch a local 3-node raft cluster lose its leader, live (about 15 s)",
		Long: `Start a real 3-node hashicorp/raft cluster on 127.0.0.1, watch it with leaderhook
and break it while you watch: the leader is killed (a failover: the leader-changed
rule fires), then two of the three nodes (quorum lost: leaderless-3s fires 3 s after
the loss, not after the nodes noticed), then they come back (the alert resolves).
Each firing is delivered as a signed webhook to a receiver inside the demo.
Nothing leaves 127.0.0.1; it ends by itself in about 15 seconds.

With --ha, three leaderhook nodes watch the cluster as a group (ha:, see docs/ha.md),
in this process; the raft nodes' reports reach them over HTTP. While the cluster has
no quorum, before the page is due, the group's leader is killed: the other two elect
a new leader, which delivers the page, once. About 20 seconds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			var err error
			if ha {
				_, err = demo.RunHA(ctx, e.stdout, e.log)
			} else {
				_, err = demo.Run(ctx, e.stdout, e.log)
			}
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				// Ctrl-C: what the operator asked for, not a failure.
				fmt.Fprintln(e.stdout, "demo stopped")
				return nil
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&ha, "ha", false, "watch with a group of three leaderhook nodes and kill the group's leader during the outage")
	return cmd
}
