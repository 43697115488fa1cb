package pipeline

import (
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/synth"
	"github.com/leaderhook/leaderhook/rules"
)

type countSink struct{ states, outcomes int }

func (c *countSink) State(event.Event)     { c.states++ }
func (c *countSink) Outcome(rules.Outcome) { c.outcomes++ }

// BenchmarkDriverHandle measures the cost per member event of the whole
// decision path: the detector's cluster view, then the engine with 50 rules
// whenever the cluster state changes, and every time-triggered evaluation in
// between. The recording is synth.Recording: a leader killed every ~30 s.
func BenchmarkDriverHandle(b *testing.B) {
	engine, err := rules.New(rules.Options{Rules: synth.Rules(50), Windows: synth.Windows,
		Clusters: []rules.Cluster{{Name: "ziti-prod", Labels: map[string]string{"env": "prod"}}}})
	if err != nil {
		b.Fatal(err)
	}
	sink := &countSink{}
	d := NewDriver(engine, []ClusterView{{Name: "ziti-prod", Stabilize: 2 * time.Second}}, "ziti-prod", sink)
	events := make([]event.Event, 0, b.N+2000)
	synth.Recording(b.N+2000, func(ev event.Event) { events = append(events, ev) })
	for _, ev := range events[:2000] { // warm up: baseline, first firings
		if err := d.Handle(ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, ev := range events[2000:] {
		if err := d.Handle(ev); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sink.states == 0 || sink.outcomes == 0 {
		b.Fatalf("nothing happened: %d states, %d outcomes", sink.states, sink.outcomes)
	}
}
