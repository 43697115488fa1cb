package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/pipeline"
)

// Reload reads the config file again and applies it whole, or refuses it
// whole: a config with errors, or one that changes a key only a restart
// can apply (each such key is named), leaves the running config in force.
// Rules whose decision did not change keep their state, clusters keep
// their views (with new members and stabilize periods applied), changed
// sources restart, and actions take their new settings. Either way the
// audit log is reopened at its path, as after a rotation.
func (d *Daemon) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.reopenAudit()
	err := d.reload()
	if !errors.Is(err, api.ErrBusy) {
		// A reload put off while leaderhook starts or stops is not a
		// refused config: the metrics alerted on say nothing of it.
		d.metrics.Reloaded(err == nil)
	}
	if err != nil {
		d.log.Error("reload refused", "err", err)
	}
	return err
}

func (d *Daemon) reload() error {
	read := modTime(d.opts.ConfigPath)
	err := d.reloadRead()
	if errors.Is(err, api.ErrBusy) {
		// Put off, not lost (a SIGHUP while leaderhook starts): the file
		// counts as unread, so the watcher reloads it once running.
		read = time.Time{}
	}
	d.configMod = read
	return err
}

func (d *Daemon) reloadRead() error {
	next, res, err := config.LoadDaemon(d.opts.ConfigPath)
	if res != nil {
		for _, w := range res.Warnings {
			d.log.Warn("config warning", "warning", w.String())
		}
	}
	if err != nil {
		return fmt.Errorf("%w\nthe running config is unchanged", err)
	}
	old := d.config()
	if keys := restartOnly(old, next); len(keys) > 0 {
		return fmt.Errorf("%s changed: restart leaderhook to apply (a reload cannot)\nthe running config is unchanged", strings.Join(keys, ", "))
	}
	engine, views, err := pipeline.Engine(next, d.log)
	if err != nil {
		return err
	}
	targets, err := pipeline.Targets(next, d.stateDir, nil, d.log)
	if err != nil {
		return err
	}
	plan, err := d.sources.prepare(next)
	if err != nil {
		return err
	}
	applyPolls, err := d.group.preparePolls(next)
	if err != nil {
		return err
	}
	if !d.isRunning() {
		return busyError{errors.New("leaderhook is starting or stopping: reload again once it runs\nthe running config is unchanged")}
	}
	// Everything is built: from here on, every part takes the change. The
	// actions first, since the new engine may fire at once to a new one;
	// not with the driver held, as old actions' background work stops.
	d.setTargets(targets)
	if err := d.call(func() {
		now := d.reloadTime()
		d.recorder.reloaded(now)
		d.driver.Replace(now, engine, views)
		d.driver.MaxSkew = next.ClockSkew()
	}); err != nil {
		return busyError{fmt.Errorf("shutting down: %w", err)}
	}
	d.api.SetLimits(limitsOf(next))
	d.mu.Lock()
	d.cfg = next
	d.mu.Unlock()
	// After the views: events of a new cluster find theirs.
	d.sources.apply(plan)
	applyPolls()
	d.clusterMetrics(old, next)
	d.log.Info("config reloaded", "rules", len(next.Rules), "actions", len(next.Actions))
	return nil
}

// reloadTime is the instant a reload takes effect in the pipeline: now,
// on a daemon alone; in a group, the group's time, which is its log's and
// alike on every node. A reload is not in the log: moved to this node's
// clock, the group's next events would be late here only. Call it with
// the driver held.
func (d *Daemon) reloadTime() time.Time {
	if d.group != nil {
		return d.driver.Now()
	}
	return d.opts.Clock.Now().Round(0) // as the driver's times: wall clock only
}

// reopenAudit reopens the audit log for a rotation that renamed it: the
// reload in a logrotate postrotate, which must not depend on the config
// being accepted.
func (d *Daemon) reopenAudit() {
	if d.audit == nil {
		return
	}
	if err := d.audit.Reopen(); err != nil {
		d.log.Error("audit log: cannot reopen; still writing to the file open", "err", err)
	}
}

// busyError is a reload refused for a moment, not for its config: the API
// answers it as api.ErrBusy, a 503 to try again.
type busyError struct{ error }

func (e busyError) Unwrap() error      { return e.error }
func (busyError) Is(target error) bool { return target == api.ErrBusy }

// isRunning reports whether Run runs and has not begun to stop.
func (d *Daemon) isRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running != nil && d.running.Err() == nil
}

// setTargets hands the actions of a reloaded config to what delivers them:
// the dispatcher, the group (its dispatcher, and the one it builds next),
// or a dry run's log.
func (d *Daemon) setTargets(targets map[string]dispatch.Target) {
	switch {
	case d.disp != nil:
		d.disp.SetTargets(targets)
	case d.group != nil:
		d.group.setTargets(targets)
	case d.render != nil:
		d.render.setTargets(targets)
	}
}

// samePlace reports whether two paths name the same place, however
// written (./leaderhook-state, leaderhook-state/, absolute): a reload
// does not change the working directory they are relative to.
func samePlace(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return absA == absB
}

// restartOnly names the keys that changed and that only a restart can
// apply.
func restartOnly(old, next *config.Config) []string {
	var keys []string
	if old.Server.Listen != next.Server.Listen {
		keys = append(keys, "server.listen")
	}
	if !reflect.DeepEqual(old.Server.TLS, next.Server.TLS) {
		keys = append(keys, "server.tls")
	}
	if !samePlace(cmp.Or(old.StateDir, DefaultStateDir), cmp.Or(next.StateDir, DefaultStateDir)) {
		keys = append(keys, "state_dir")
	}
	if (old.AuditLog == "") != (next.AuditLog == "") || !samePlace(old.AuditLog, next.AuditLog) {
		keys = append(keys, "audit_log")
	}
	if !reflect.DeepEqual(old.HA, next.HA) {
		keys = append(keys, "ha")
	}
	if old.FlightRecorder() != next.FlightRecorder() {
		keys = append(keys, "flight_recorder_bytes")
	}
	if !reflect.DeepEqual(old.History, next.History) {
		keys = append(keys, "history")
	}
	// stdin is read once: a cluster reading it keeps its source.
	for _, o := range old.Clusters {
		i := slices.IndexFunc(next.Clusters, func(n detector.Cluster) bool { return n.Name == o.Name })
		stdinBefore := o.Source.Stdin
		stdinAfter := i >= 0 && next.Clusters[i].Source.Stdin
		if stdinBefore != stdinAfter || (stdinBefore && !reflect.DeepEqual(o.Source, next.Clusters[i].Source)) {
			keys = append(keys, fmt.Sprintf("clusters[%s].source (stdin is read once)", o.Name))
		}
	}
	return keys
}

// clusterMetrics shows new clusters as not known yet, and removes the
// metrics of clusters no longer configured.
func (d *Daemon) clusterMetrics(old, next *config.Config) {
	for _, c := range next.Clusters {
		if !slices.ContainsFunc(old.Clusters, func(o detector.Cluster) bool { return o.Name == c.Name }) {
			d.metrics.Unknown(c.Name)
		}
	}
	for _, o := range old.Clusters {
		if !slices.ContainsFunc(next.Clusters, func(c detector.Cluster) bool { return c.Name == o.Name }) {
			d.metrics.Forget(o.Name)
		}
	}
}

// watchConfig reloads when the config file changes.
func (d *Daemon) watchConfig(ctx context.Context) {
	path := d.opts.ConfigPath
	if path == "" {
		return
	}
	ticker := time.NewTicker(2 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if d.configChanged() {
				d.log.Info("config file changed; reloading", "file", path)
				_ = d.Reload() // logs a refusal itself
			}
		}
	}
}

// configChanged reports whether the config file changed since it was last
// read, at start or by a reload (whichever way it was asked for).
func (d *Daemon) configChanged() bool {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	return !modTime(d.opts.ConfigPath).Equal(d.configMod)
}

func modTime(path string) time.Time {
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}
