package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

type printSink struct{}

func (printSink) State(ev event.Event) {
	fmt.Printf("STATE %s %s leader=%s prev=%s since=%s base=%v\n", ev.Time.Format("15:04:05.000"), ev.Type, ev.LeaderID, ev.PreviousLeaderID, ev.Since.Format("15:04:05.000"), ev.Baseline)
}
func (printSink) Outcome(o rules.Outcome) {
	fmt.Printf("RULE  %s %s %s %s lf=%s\n", o.Time.Format("15:04:05.000"), o.Rule, o.Kind, o.Reason, o.LeaderlessFor)
}

func TestScratch(t *testing.T) {
	eng, err := rules.New(rules.Options{Rules: []rules.Rule{
		{Name: "gone-20s", When: `leaderless_for >= duration("20s")`, Actions: []string{"note"}},
		{Name: "gone-60s", When: `type == "state.is_leaderless" && leaderless_for >= duration("60s")`, Actions: []string{"note"}},
		{Name: "changed", When: `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`, Actions: []string{"note"}},
		{Name: "flap", When: `leader_changes(duration("1m")) >= 3`, Actions: []string{"note"}, Cooldown: 5 * time.Minute},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDriver(eng, []ClusterView{{Name: "ziti", Stabilize: 2 * time.Second}}, "ziti", printSink{})
	var srcs []event.Source
	for _, n := range []string{"1", "2", "3"} {
		f, _ := os.Open("testdata/openziti-1/events-ctrl" + n + ".jsonl")
		srcs = append(srcs, event.NewReader(f, n, 0))
	}
	m := event.Merge(srcs...)
	for {
		ev, err := m.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d.Handle(ev)
	}
}
