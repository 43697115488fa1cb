package daemon

import (
	"strings"
	"sync"
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

// Scrapes at the same time (two Prometheus servers, or a curl beside
// one) each see every member's series: one scrape's refresh of the member
// metrics must not empty them under another's gathering.
func TestConcurrentScrapesSeeEveryMember(t *testing.T) {
	h := newHarness(t, `server: {listen: "127.0.0.1:0"}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, members: [a, b, c], source: {type: events, http: true}}
`, nil)
	h.start(Options{})
	const scrapes = 200
	missing := make(chan string, scrapes)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range scrapes / 8 {
				_, body := h.get("/metrics")
				for _, m := range []string{"a", "b", "c"} {
					if series := `leaderhook_member_up{cluster="ziti",member="` + m + `"} 1`; !strings.Contains(body, series) {
						missing <- series
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(missing)
	for series := range missing {
		t.Errorf("a scrape beside others lacks %s", series)
	}
}
