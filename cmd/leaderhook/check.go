package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
)

func checkCmd(e *env) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check -c FILE",
		Short: "Validate a config file; list every error with file:line:col",
		Long: `Validate everything in the config file: YAML syntax, unknown keys, value types,
durations, cron schedules, references between rules, actions and windows, and every
rule expression and template, compiled and type-checked as the daemon would, and the
sources run refuses at start (a raft source, a second cluster reading stdin).

Exit status: 0 valid, 1 invalid (all errors are listed, not just the first).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, ok := e.loadDaemonConfig(path)
			if !ok {
				return exitError{1}
			}
			fmt.Fprintf(e.stdout, "%s: OK (%d clusters, %d actions, %d rules)\n",
				path, len(cfg.Clusters), len(cfg.Actions), len(cfg.Rules))
			return nil
		},
	}
	configFlag(cmd, &path)
	return cmd
}

func configFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVarP(path, "config", "c", "", "config file (YAML)")
	_ = cmd.MarkFlagRequired("config")
}

// loadConfig loads and validates path, printing warnings and errors to
// stderr. It reports false when the config cannot be used.
func (e *env) loadConfig(path string) (*config.Config, bool) {
	return e.loadUsing(path, config.Load)
}

// loadDaemonConfig is loadConfig for the commands that start the config's
// sources (run, record), and for check, which says whether run would
// start: it also refuses what only a program embedding leaderhook runs.
func (e *env) loadDaemonConfig(path string) (*config.Config, bool) {
	return e.loadUsing(path, config.LoadDaemon)
}

func (e *env) loadUsing(path string, load func(string) (*config.Config, *config.Result, error)) (*config.Config, bool) {
	cfg, res, err := load(path)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintf(e.stderr, "%s (warning)\n", w)
		}
	}
	if err != nil {
		e.configErrors(path, err)
		return nil, false
	}
	return cfg, true
}

// loadServer reads the server block of path for a command that calls a
// running daemon, printing its errors to stderr; the rest of the file is
// check's and run's to judge.
func (e *env) loadServer(path string) (*config.Server, bool) {
	server, err := config.LoadServer(path)
	if err != nil {
		e.configErrors(path, err)
		return nil, false
	}
	return server, true
}

// configErrors prints the problems of the config file at path.
func (e *env) configErrors(path string, err error) {
	var list *config.Errors
	if errors.As(err, &list) {
		fmt.Fprintln(e.stderr, list.Error())
		fmt.Fprintf(e.stderr, "%s: %s\n", path, countErrors(len(list.Diagnostics)))
	} else {
		fmt.Fprintln(e.stderr, "leaderhook:", err)
	}
}

// countErrors says "1 error" or "N errors".
func countErrors(n int) string {
	if n == 1 {
		return "1 error"
	}
	return fmt.Sprintf("%d errors", n)
}
