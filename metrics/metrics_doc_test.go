package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/metrics"
	"github.com/leaderhook/leaderhook/rules"
)

// documented is one row of the metrics table in docs/operations.md.
type documented struct {
	kind   string
	labels []string
}

// metricsSection returns the "## Metrics" section of docs/operations.md.
func metricsSection(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "\n## Metrics")
	if start < 0 {
		t.Fatal("docs/operations.md has no ## Metrics section")
	}
	section := doc[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	return section
}

var row = regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|\\s*([a-z]*)\\s*\\|\\s*([a-z_, ]*?)\\s*\\|")

func documentedMetrics(t *testing.T, section string) map[string]documented {
	t.Helper()
	out := map[string]documented{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		d := documented{kind: m[2]}
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.TrimSpace(l); l != "" {
				d.labels = append(d.labels, l)
			}
		}
		slices.Sort(d.labels)
		out[m[1]] = d
	}
	if len(out) < 10 {
		t.Fatalf("found only %d rows in the metrics table", len(out))
	}
	return out
}

// exposed gathers leaderhook's own metrics from a registry built as the
// daemon builds it, after touching every labelled metric once: a vector
// shows up in /metrics only once it has a child.
func exposed(t *testing.T, dropped func() float64) map[string]documented {
	t.Helper()
	m := metrics.New(func() float64 { return 0 }, dropped)
	now := time.Now()
	m.Event(event.Event{Cluster: "c", Source: "m1", Type: event.HasLeader, LeaderID: "m1", Time: now})
	m.Rejected("c", "stdin")
	m.Skipped("c", "http")
	m.Skewed(event.Event{Cluster: "c", Source: "m1"})
	m.State(event.Event{Cluster: "c", Type: event.HasLeader, LeaderID: "m1", Time: now, Since: now})
	m.State(event.Event{Cluster: "c", Type: event.Leaderless, Time: now, Since: now.Add(-time.Second)})
	m.Tick(now)
	m.Outcome(rules.Outcome{Cluster: "c", Rule: "r", Kind: rules.Suppressed, Reason: rules.ReasonCooldown})
	m.Record(dispatch.Record{Kind: "attempt", Action: "a", Outcome: "ok", DurationMS: 3})
	m.Record(dispatch.Record{Kind: "failed", Action: "a"})
	m.Reloaded(false)
	m.BuildInfo("dev")
	m.CrashSafe(func() bool { return true })
	m.Members(now, map[string][]metrics.MemberState{"c": {{Name: "m1", Kind: "refused", LastReport: now}}},
		map[string]event.Health{"c": {MembersUp: 1, MembersTotal: 3}})

	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[dto.MetricType]string{dto.MetricType_COUNTER: "counter", dto.MetricType_GAUGE: "gauge", dto.MetricType_HISTOGRAM: "histogram"}
	out := map[string]documented{}
	for _, f := range families {
		// Go runtime and process metrics are Prometheus' own, not ours.
		if !strings.HasPrefix(f.GetName(), "leaderhook_") {
			continue
		}
		d := documented{kind: kinds[f.GetType()]}
		if d.kind == "" {
			d.kind = f.GetType().String()
		}
		for _, l := range f.GetMetric()[0].GetLabel() {
			d.labels = append(d.labels, l.GetName())
		}
		slices.Sort(d.labels)
		out[f.GetName()] = d
	}
	return out
}

// TestMetricsMatchTheDocs compares the metrics the daemon's registry
// exposes with the table in docs/operations.md, both ways: names, types
// and label names.
func TestMetricsMatchTheDocs(t *testing.T) {
	doc := documentedMetrics(t, metricsSection(t))
	got := exposed(t, nil) // as `leaderhook run` builds it
	for name, g := range got {
		d, ok := doc[name]
		switch {
		case !ok:
			t.Errorf("%s (%s, labels %v) is exposed but not in docs/operations.md", name, g.kind, g.labels)
		case d.kind != g.kind:
			t.Errorf("%s: the docs say %s, it is a %s", name, d.kind, g.kind)
		case !slices.Equal(d.labels, g.labels):
			t.Errorf("%s: the docs list labels %v, it has %v", name, d.labels, g.labels)
		}
	}
	for name := range doc {
		if _, ok := got[name]; !ok {
			t.Errorf("%s is in docs/operations.md but not exposed", name)
		}
	}
}

// TestMetricsOnlyForRaftPrograms: the metric a Go program embedding raft
// can add is not in the daemon's table, but the section names it.
func TestMetricsOnlyForRaftPrograms(t *testing.T) {
	section := metricsSection(t)
	daemon := exposed(t, nil)
	var extra []string
	for name := range exposed(t, func() float64 { return 0 }) {
		if _, ok := daemon[name]; !ok {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		t.Fatal("a dropped-observations counter adds no metric")
	}
	doc := documentedMetrics(t, section)
	for _, name := range extra {
		if _, inTable := doc[name]; inTable || !strings.Contains(section, "`"+name+"`") {
			t.Errorf("%s: the Metrics section should name it outside the daemon's table", name)
		}
	}
}
