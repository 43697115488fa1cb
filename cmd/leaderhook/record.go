package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/daemon"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

func recordCmd(e *env) *cobra.Command {
	var path, out string
	cmd := &cobra.Command{
		Use:   "record -c FILE [-o FILE]",
		Short: "Record the clusters' events as JSONL, for replay and rule tests",
		Long: `Read the configured event sources (files, stdin) without evaluating rules or running
actions, and write every member's report and every cluster state change the detector
derives from them (event_src_id "leaderhook", with cluster, previousLeaderId and since)
as JSON lines. 'leaderhook replay' reads the file back: it recomputes the states from
the members' reports, so a recording also tests a changed 'stabilize' or membership.

Stops on SIGINT/SIGTERM, when every source has ended (stdin closed), or at once with
exit status 1 when the recording cannot be written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return e.record(ctx, path, out)
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().StringVarP(&out, "output", "o", "-", "file to write (- for stdout)")
	return cmd
}

func (e *env) record(ctx context.Context, path, out string) error {
	cfg, ok := e.loadDaemonConfig(path)
	if !ok {
		return exitError{1}
	}
	if err := e.unrecorded(cfg); err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if out != "-" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640) // as the flight recorder: it names members and leaders
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	rec := &recorder{w: bw}
	cfg.Rules = nil // sources and the detector only
	driver, err := pipeline.New(cfg, "", rec, e.log)
	if err != nil {
		return err
	}
	events := make(chan event.Event, 1024)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wait, err := daemon.StartSources(ctx, cfg, events, e.stdin, e.log)
	if err != nil {
		return err
	}
	go func() { wait(); close(events) }()
	// Events are taken at their own timestamps, with no timer: a recording
	// may be of old events, and the real clock must not overtake them. A
	// state change waiting for its stabilize period is written with the
	// next event (replay recomputes states from the reports anyway).
	for {
		select {
		case <-ctx.Done():
			return rec.failed()
		case ev, ok := <-events:
			if !ok {
				return rec.failed()
			}
			rec.member(ev)
			if err := driver.Handle(ev); err != nil {
				fmt.Fprintln(e.stderr, "leaderhook:", err)
			}
			// A recording that cannot be written (a full disk) stops at
			// once: recording on would lose the drill unseen.
			if err := rec.failed(); err != nil {
				return err
			}
		}
	}
}

// unrecorded tells of the clusters whose events only come over HTTP,
// for which record does not listen; with no other, there is nothing to
// record, and that is an error rather than an empty file.
func (e *env) unrecorded(cfg *config.Config) error {
	var overHTTP []string
	for _, c := range cfg.Clusters {
		if s := c.Source; s.Type == detector.SourceEvents && s.File == "" && !s.Stdin {
			overHTTP = append(overHTTP, c.Name)
		}
	}
	if len(overHTTP) > 0 && len(overHTTP) == len(cfg.Clusters) {
		return errors.New("nothing to record: every cluster's events come over HTTP (source.http), for which record does not listen; " +
			"record a file or stdin source, or replay the daemon's flight recorder (state_dir/inputs*.jsonl)")
	}
	for _, name := range overHTTP {
		fmt.Fprintf(e.stderr, "leaderhook: cluster %s is not recorded: its events come over HTTP (source.http), for which record does not listen\n", name)
	}
	return nil
}

// recorder writes members' reports and derived states, one JSON per line.
type recorder struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

func (r *recorder) write(ev event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, err := ev.MarshalJSON()
	if err == nil {
		_, err = r.w.Write(append(data, '\n'))
	}
	if err == nil {
		err = r.w.Flush()
	}
	if err != nil && r.err == nil {
		r.err = err
	}
}

// failed is the first write error, if any.
func (r *recorder) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("recording: %w", r.err)
	}
	return nil
}

func (r *recorder) member(ev event.Event)   { r.write(ev) }
func (r *recorder) State(ev event.Event)    { r.write(ev) }
func (r *recorder) Outcome(o rules.Outcome) {}
