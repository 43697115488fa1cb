package metrics

import "github.com/prometheus/client_golang/prometheus"

// GroupStats is what a node of a group of leaderhook nodes (ha:) shows.
type GroupStats struct {
	Role            string // leader, follower, candidate, fail-open
	Term            uint64
	AppliedIndex    uint64
	CommitIndex     uint64
	LeaderChanges   int
	FailOpenSeconds float64
}

// groupRoles are the values of leaderhook_ha_role's label.
var groupRoles = []string{"leader", "follower", "candidate", "fail-open"}

// Group shows the group's state, read from stats at each scrape.
func (m *Metrics) Group(stats func() GroupStats) {
	m.Registry.MustRegister(groupCollector{stats: stats,
		role:     prometheus.NewDesc("leaderhook_ha_role", "1 for this node's role in the group (leader, follower, candidate, fail-open), 0 for the others.", []string{"role"}, nil),
		term:     prometheus.NewDesc("leaderhook_ha_term", "The group's raft term as this node knows it.", nil, nil),
		applied:  prometheus.NewDesc("leaderhook_ha_applied_index", "Index of the last entry of the group's log this node applied.", nil, nil),
		lag:      prometheus.NewDesc("leaderhook_ha_apply_lag", "Entries committed but not yet applied on this node.", nil, nil),
		changes:  prometheus.NewDesc("leaderhook_ha_leader_changes_total", "Leaders the group's log announced since this node started.", nil, nil),
		failOpen: prometheus.NewDesc("leaderhook_ha_fail_open_seconds_total", "Time this node spent deciding and dispatching alone (fail-open).", nil, nil),
	})
}

type groupCollector struct {
	stats                                       func() GroupStats
	role, term, applied, lag, changes, failOpen *prometheus.Desc
}

func (c groupCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.role, c.term, c.applied, c.lag, c.changes, c.failOpen} {
		ch <- d
	}
}

func (c groupCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for _, role := range groupRoles {
		v := 0.0
		if role == s.Role {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.role, prometheus.GaugeValue, v, role)
	}
	lag := 0.0
	if s.CommitIndex > s.AppliedIndex {
		lag = float64(s.CommitIndex - s.AppliedIndex)
	}
	ch <- prometheus.MustNewConstMetric(c.term, prometheus.GaugeValue, float64(s.Term))
	ch <- prometheus.MustNewConstMetric(c.applied, prometheus.GaugeValue, float64(s.AppliedIndex))
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(c.changes, prometheus.CounterValue, float64(s.LeaderChanges))
	ch <- prometheus.MustNewConstMetric(c.failOpen, prometheus.CounterValue, s.FailOpenSeconds)
}
