package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/metrics"
	"github.com/leaderhook/leaderhook/web"
)

// newAPI wires the HTTP API to the daemon.
func (d *Daemon) newAPI() *api.Server {
	return &api.Server{
		Accepts:  d.acceptsHTTP,
		Ingest:   d.ingest,
		State:    d.state,
		History:  d.historyWindow,
		Page:     web.Handler(),
		Rejected: func(cluster string) { d.metrics.Rejected(cluster, "http") },
		Skipped:  func(cluster string, le *event.LineError) { d.sources.skips.skipped(cluster, "http", le) },
		Reload:   d.Reload,
		Ready:    d.ready,
		Expect:   d.expect,
		Unexpect: d.unexpect,
		Gatherer: d.gatherer(),
		Log:      d.log,
	}
}

// gatherer refreshes the metrics read as of now and gathers them, one
// scrape at a time: the member metrics are reset and set again for each,
// and a scrape gathering while another resets would lack their series.
func (d *Daemon) gatherer() prometheus.Gatherer {
	var mu sync.Mutex
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mu.Lock()
		defer mu.Unlock()
		d.metrics.Tick(time.Now())
		d.memberMetrics()
		return d.metrics.Registry.Gather()
	})
}

func limitsOf(cfg *config.Config) api.Limits {
	return api.Limits{Token: cfg.Server.IngestToken, MaxBody: int64(cfg.Server.MaxBodyBytes)}
}

// acceptsHTTP reports whether a cluster takes events over HTTP.
func (d *Daemon) acceptsHTTP(cluster string) bool {
	return d.acceptsHTTPIn(d.config())(cluster)
}

// acceptsHTTPIn reports whether a cluster of cfg takes events over HTTP.
func (d *Daemon) acceptsHTTPIn(cfg *config.Config) func(cluster string) bool {
	return func(cluster string) bool {
		for _, c := range cfg.Clusters {
			if c.Name == cluster && c.Source.Type == detector.SourceEvents && c.Source.HTTP {
				return true
			}
		}
		return false
	}
}

// state is GET /v1/state, live: an operator asking wants now.
func (d *Daemon) state(ctx context.Context) (any, error) {
	var v stateView
	if err := d.call(func() { v = d.view() }); err != nil {
		return nil, err
	}
	return v, nil
}

// memberMetrics sets the members' metrics from the views, as of now.
func (d *Daemon) memberMetrics() {
	members := map[string][]metrics.MemberState{}
	health := map[string]event.Health{}
	d.call(func() {
		_, views := d.driver.Snapshot()
		for name, st := range views {
			for id, r := range st.Reports {
				members[name] = append(members[name], metrics.MemberState{Name: id, Up: !r.Down && !r.Unknown,
					Kind: errorKind(r), LastReport: r.Last})
			}
			health[name] = d.driver.Health(name)
		}
	})
	d.metrics.Members(time.Now(), members, health)
}

// errorKind says in one word why a member is not up.
func errorKind(r detector.MemberReport) string {
	switch {
	case r.Down && strings.Contains(r.Reason, "refused"):
		return "refused"
	case r.Down:
		return "down"
	case strings.Contains(r.Reason, "no answer within"):
		return "timeout"
	}
	return "error"
}

func (d *Daemon) ready() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.running != nil && d.running.Err() != nil:
		return errors.New("shutting down")
	case !d.taking:
		return errors.New("starting: events not yet taken")
	}
	if d.group != nil {
		return d.group.ready()
	}
	if err := d.store.CrashSafe(); err != nil {
		return fmt.Errorf("not crash-safe: the delivery journal cannot be written: %w", err)
	}
	return nil
}
