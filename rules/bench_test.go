package rules

import (
	"fmt"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// RealisticRules returns n rules of the kinds operators write: leaderless
// thresholds, leader changes, flapping, tenure, label and cluster filters,
// with cooldowns, for, repeat, mute windows and a few schedules.
func realisticRules(n int) ([]Rule, map[string]Window) {
	windows := map[string]Window{
		"sunday": {Schedule: "0 2 * * SUN", Duration: 2 * time.Hour},
		"nightly": {Schedule: "30 3 * * *", Duration: 15 * time.Minute},
	}
	kinds := []func(i int) Rule{
		func(i int) Rule {
			return Rule{When: fmt.Sprintf(`type == "state.is_leaderless" && leaderless_for >= duration("%ds")`, 10+i), Cooldown: 10 * time.Minute, Mute: []string{"sunday"}}
		},
		func(i int) Rule {
			return Rule{When: `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`, Cooldown: time.Minute}
		},
		func(i int) Rule {
			return Rule{When: fmt.Sprintf(`leader_changes(duration("%dm")) >= 3`, 5+i%10), Cooldown: 30 * time.Minute}
		},
		func(i int) Rule {
			return Rule{When: fmt.Sprintf(`leaderless && labels.env == "prod" && leaderless_for > duration("%ds")`, 5+i), Repeat: 5 * time.Minute}
		},
		func(i int) Rule {
			return Rule{When: fmt.Sprintf(`!leaderless && leader_for >= duration("%dh") && leader_id in ["ctrl1", "ctrl2"]`, 1+i%5)}
		},
		func(i int) Rule {
			return Rule{When: `leaderless && len(members) >= 3 && cluster startsWith "ziti"`, For: 20 * time.Second, Mute: []string{"nightly"}}
		},
		func(i int) Rule {
			return Rule{When: `type == "state.has_leader" && previous_leader_id == leader_id`, CooldownKey: "leader_id", Cooldown: 5 * time.Minute}
		},
		func(i int) Rule {
			return Rule{When: `trigger == "event" && leaderless`, OnResolve: []string{"a"}}
		},
		func(i int) Rule {
			return Rule{Schedule: "0 9 * * *", When: `!leaderless`}
		},
	}
	rs := make([]Rule, n)
	for i := range rs {
		r := kinds[i%len(kinds)](i)
		r.Name = fmt.Sprintf("rule-%02d", i)
		r.Actions = []string{"a"}
		rs[i] = r
	}
	return rs, windows
}

// BenchmarkEngineObserve measures the engine's cost per state event with 50
// rules: every event is a leader change or loss, so every rule is evaluated,
// and time-triggered deadlines come due in between.
func BenchmarkEngineObserve(b *testing.B) {
	rs, wins := realisticRules(50)
	e, err := New(Options{Rules: rs, Windows: wins, Clusters: []Cluster{{Name: "ziti-prod", Labels: map[string]string{"env": "prod"}}}})
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
	out := make([]Outcome, 0, 256)
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
