package main

import (
	"log/slog"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/pipeline"
)

// renderLog is the Submitter of `run --dry-run`: it logs what each action
// would send and sends nothing.
type renderLog struct {
	targets map[string]dispatch.Target
	log     *slog.Logger
}

func (r *renderLog) Submit(n actions.Notification, names []string) []error {
	for _, nr := range pipeline.Render(r.targets, n, names) {
		r.log.Info("dry run: action not executed", "rule", n.Rule, "cluster", n.Cluster, "status", n.Status,
			"action", nr.Action, "method", nr.Method, "url", nr.URL, "headers", nr.Headers, "body", nr.Body,
			"argv", nr.Argv, "env", nr.Env, "error", nr.Error)
	}
	return nil
}
