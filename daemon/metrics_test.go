package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/metrics"
)

// At startup a cluster's saved state shows in the metrics at once; a
// cluster with none shows as not known, without has_leader.
func TestKnownMetricsAtStartup(t *testing.T) {
	m := metrics.New(nil, nil)
	since := time.Now().Add(-time.Minute)
	knownMetrics(m, "led", detector.State{Known: true, LeaderID: "n1", Since: since})
	knownMetrics(m, "lost", detector.State{Known: true, Since: since})
	knownMetrics(m, "new", detector.State{})
	want := `
# HELP leaderhook_cluster_has_leader 1 when the cluster has a leader that a majority follows.
# TYPE leaderhook_cluster_has_leader gauge
leaderhook_cluster_has_leader{cluster="led"} 1
leaderhook_cluster_has_leader{cluster="lost"} 0
# HELP leaderhook_cluster_known 1 once the cluster's state is known (from its members or the saved state); until then it has no cluster_has_leader.
# TYPE leaderhook_cluster_known gauge
leaderhook_cluster_known{cluster="led"} 1
leaderhook_cluster_known{cluster="lost"} 1
leaderhook_cluster_known{cluster="new"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "leaderhook_cluster_has_leader", "leaderhook_cluster_known"); err != nil {
		t.Error(err)
	}
	// A restart does not count as a state change.
	if n := testutil.CollectAndCount(m.Registry, "leaderhook_state_changes_total"); n != 0 {
		t.Errorf("%d state change series after a restore", n)
	}
}
