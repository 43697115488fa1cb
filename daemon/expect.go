package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/ha"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
)

// expectView is a window of expected changes, in GET /v1/state and in
// the answers of /v1/expect.
type expectView struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason,omitempty"`
}

// expectAnswer is the answer of POST and DELETE /v1/expect.
type expectAnswer struct {
	Cluster  string      `json:"cluster"`
	Expected *expectView `json:"expected"`           // the window open now; null when none
	Previous *expectView `json:"previous,omitempty"` // the one this request replaced or ended
}

func viewOf(x rules.Expectation, open bool) *expectView {
	if !open {
		return nil
	}
	return &expectView{Since: x.Since, Until: x.Until, Reason: x.Reason}
}

// expect is POST /v1/expect: the cluster's changes are expected for d.
func (d *Daemon) expect(ctx context.Context, cluster string, dur time.Duration, reason string) (any, error) {
	now := d.opts.Clock.Now()
	x := rules.Expectation{Since: now, Until: now.Add(dur), Reason: reason}
	previous, err := d.declare(ctx, cluster, x, now)
	if err != nil {
		return nil, err
	}
	d.log.Info("changes expected", "cluster", cluster, "for", dur.String(), "until", x.Until, "reason", reason)
	d.auditExpect(dispatch.Record{Time: now, Kind: "expect", Status: "open", Cluster: cluster, Until: x.Until, Reason: reason})
	return expectAnswer{Cluster: cluster, Expected: viewOf(x, true), Previous: previous}, nil
}

// unexpect is DELETE /v1/expect: the cluster's window ends now.
func (d *Daemon) unexpect(ctx context.Context, cluster string) (any, error) {
	now := d.opts.Clock.Now()
	previous, err := d.declare(ctx, cluster, rules.Expectation{}, now)
	if err != nil {
		return nil, err
	}
	if previous == nil {
		d.log.Info("no window of expected changes to end", "cluster", cluster)
	} else {
		d.log.Info("expected changes ended early", "cluster", cluster, "until", previous.Until, "reason", previous.Reason)
		d.auditExpect(dispatch.Record{Time: now, Kind: "expect", Status: "ended", Cluster: cluster, Until: previous.Until, Reason: previous.Reason})
	}
	return expectAnswer{Cluster: cluster, Previous: previous}, nil
}

// declare hands a window (or its end, a zero x) to the pipeline, alone or
// through the group, and returns the window that was open before.
func (d *Daemon) declare(ctx context.Context, cluster string, x rules.Expectation, now time.Time) (*expectView, error) {
	if !slices.ContainsFunc(d.config().Clusters, func(c detector.Cluster) bool { return c.Name == cluster }) {
		return nil, fmt.Errorf("%w: %q is not a cluster of the config", api.ErrNoSuchCluster, cluster)
	}
	var previous *expectView
	var err error
	if d.group != nil {
		d.driver.Do(func() { previous = viewOf(d.driver.Expected(cluster, now)) })
		return previous, d.group.expect(ctx, cluster, x, now)
	}
	called := d.call(func() {
		previous = viewOf(d.driver.Expected(cluster, now))
		d.recorder.expected(cluster, x, now) // an input like an event: a replay takes it too
		err = d.driver.Expect(cluster, x, now)
	})
	if called != nil {
		return nil, fmt.Errorf("%w: shutting down", api.ErrBusy)
	}
	if errors.Is(err, pipeline.ErrUnknownCluster) {
		return nil, fmt.Errorf("%w: %w", api.ErrNoSuchCluster, err)
	}
	return previous, err
}

func (d *Daemon) auditExpect(r dispatch.Record) {
	if d.audit != nil {
		d.audit.Record(r)
	}
}

// expect makes a window one of the group's inputs, so that every node
// agrees on it: the leader proposes it, another node forwards it to the
// leader. A node in fail-open refuses it: the group could not agree.
func (g *group) expect(ctx context.Context, cluster string, x rules.Expectation, at time.Time) error {
	c := ha.Command{Kind: ha.Expect, Cluster: cluster, Time: at, Expect: &x}
	var err error
	switch {
	case g.runningAlone():
		err = errors.New("the group has no leader (this node decides alone): a window must be agreed by the group; try again once it has one")
	case g.node.IsLeader():
		err = g.node.Propose(c, proposeTimeout)
	default:
		err = g.forwardCommand(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", api.ErrBusy, err)
	}
	return nil
}

// applyExpect applies a window of the group's log to the pipeline.
func (g *group) applyExpect(c ha.Command) {
	if c.Expect == nil {
		return
	}
	g.d.driver.Do(func() {
		if err := g.d.driver.Expect(c.Cluster, *c.Expect, c.Time); err != nil {
			g.log.Warn("window of expected changes not applied", "cluster", c.Cluster, "err", err)
		}
	})
}
