package rules_test

import (
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/synth"
	"github.com/leaderhook/leaderhook/rules"
)

// BenchmarkEngineObserve measures the engine's cost per state event with 50
// rules: every event is a leader change or loss, so every rule is evaluated,
// and time-triggered deadlines come due in between.
func BenchmarkEngineObserve(b *testing.B) {
	e, err := rules.New(rules.Options{Rules: synth.Rules(50), Windows: synth.Windows,
		Clusters: []rules.Cluster{{Name: "ziti-prod", Labels: map[string]string{"env": "prod"}}}})
	if err != nil {
		b.Fatal(err)
	}
	members := []string{"ctrl1", "ctrl2", "ctrl3"}
	leaders := []string{"ctrl1", "ctrl2", "ctrl3"}
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	mk := func(i int) event.Event {
		ev := event.Event{Source: event.DetectorSource, Cluster: "ziti-prod", Time: now, Members: members, Since: now}
		if i%2 == 0 {
			ev.Type = event.HasLeader
			ev.LeaderID = leaders[(i/2)%3]
			ev.PreviousLeaderID = leaders[(i/2+2)%3]
		} else {
			ev.Type = event.Leaderless
			ev.PreviousLeaderID = leaders[(i/2)%3]
			ev.Since = now.Add(-2 * time.Second)
		}
		return ev
	}
	out := make([]rules.Outcome, 0, 256)
	// Warm up: baseline, first firings, cooldown maps.
	for i := range 1000 {
		now = now.Add(7 * time.Second)
		out = e.Observe(mk(i), out[:0])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(7 * time.Second)
		out = e.Observe(mk(i), out[:0])
	}
}

// BenchmarkNaiveExpr is the peer of BenchmarkEngineObserve: what a direct
// use of expr-lang costs for the same 50 conditions, evaluated once per event
// with expr.Run and an environment map built per event (no edges, cooldowns,
// time triggers or schedules).
func BenchmarkNaiveExpr(b *testing.B) {
	var progs []*vm.Program
	changes := func(params ...any) (any, error) { return 2, nil }
	for _, r := range synth.Rules(50) {
		p, err := expr.Compile(r.When, expr.Function("leader_changes", changes, new(func(time.Duration) int)),
			expr.Env(map[string]any{"type": "", "leader_id": "", "previous_leader_id": "", "leaderless": false,
				"leaderless_for": time.Duration(0), "leader_for": time.Duration(0), "labels": map[string]string{},
				"members": []string{}, "cluster": "", "trigger": ""}))
		if err != nil {
			b.Fatal(err)
		}
		progs = append(progs, p)
	}
	members := []string{"ctrl1", "ctrl2", "ctrl3"}
	labels := map[string]string{"env": "prod"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		env := map[string]any{"type": event.HasLeader, "leader_id": "ctrl2", "previous_leader_id": "ctrl1",
			"leaderless": i%2 == 1, "leaderless_for": time.Duration(i) * time.Millisecond, "leader_for": time.Duration(i) * time.Second,
			"labels": labels, "members": members, "cluster": "ziti-prod", "trigger": "event"}
		for _, p := range progs {
			if _, err := expr.Run(p, env); err != nil {
				b.Fatal(err)
			}
		}
	}
}
