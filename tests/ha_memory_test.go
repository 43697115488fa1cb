package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// alertLog is an Alertmanager's POST /api/v2/alerts, as far as a test
// needs it: it counts the posts of each alert, firing (endsAt ahead) or
// resolved.
type alertLog struct {
	*httptest.Server
	mu       sync.Mutex
	firing   map[string]int
	resolved map[string]int
}

func newAlertLog(t *testing.T) *alertLog {
	l := &alertLog{firing: map[string]int{}, resolved: map[string]int{}}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var alerts []struct {
			Labels map[string]string `json:"labels"`
			EndsAt time.Time         `json:"endsAt"`
		}
		if err := json.Unmarshal(body, &alerts); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, a := range alerts {
			if a.EndsAt.After(time.Now()) {
				l.firing[a.Labels["alertname"]]++
			} else {
				l.resolved[a.Labels["alertname"]]++
			}
		}
	}))
	t.Cleanup(l.Close)
	return l
}

func (l *alertLog) posts(name string) (firing, resolved int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firing[name], l.resolved[name]
}

// remembers reports whether node i's alertmanager action keeps the alert
// of rule open, from its memory under state_dir.
func (g *haGroup) remembers(i int, rule string) bool {
	data, _ := os.ReadFile(filepath.Join(g.dir, fmt.Sprintf("lh%d", i+1), "state", "actions", "am.json"))
	return strings.Contains(string(data), fmt.Sprintf(`"alertname":%q`, rule))
}

// The alerts the leader keeps open in an Alertmanager are known to the
// whole group: the next leader goes on refreshing them (else Alertmanager
// would end them while the rule still fires), and a node that was down
// while the group resolved one learns it when it catches up (else, leading
// again, it would open it anew).
func TestHAAlertmanagerMemoryFollowsTheLeader(t *testing.T) {
	am := newAlertLog(t)
	rules := "  - {name: lost, when: leaderless, actions: [am], on_resolve: [am]}"
	g := startGroupWith(t, "1m", rules, "{type: events, http: true}", fmt.Sprintf("  am: {type: alertmanager, urls: [%q], refresh: 1s}", am.URL))
	leader := g.leader()
	other := (leader + 1) % haNodes
	start := time.Now()
	g.post(other, eventAt("c1", "state.has_leader", "c1", start))
	g.post(other, eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	waitFor(t, "the alert to be posted", func() bool { f, _ := am.posts("lost"); return f > 0 }, g.live()...)
	for i := range haNodes {
		waitFor(t, fmt.Sprintf("lh%d to remember the open alert", i+1), func() bool { return g.remembers(i, "lost") }, g.live()...)
	}

	g.kill9(leader)
	g.leader()
	posted, _ := am.posts("lost")
	waitFor(t, "the next leader to refresh the alert", func() bool { f, _ := am.posts("lost"); return f >= posted+2 }, g.live()...)

	g.post(other, eventAt("c1", "state.has_leader", "c2", time.Now()))
	waitFor(t, "the alert to be resolved", func() bool { _, r := am.posts("lost"); return r > 0 }, g.live()...)
	g.restart(leader)
	for i := range haNodes {
		waitFor(t, fmt.Sprintf("lh%d to forget the resolved alert", i+1), func() bool { return !g.remembers(i, "lost") }, g.live()...)
	}
}
