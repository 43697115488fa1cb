// Package synth makes synthetic but realistic workloads for benchmarks: a
// rule set of the kinds operators write, and a recording of a three-member
// cluster whose leader is killed every thirty seconds.
package synth

import (
	"fmt"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Windows are the mute windows Rules refers to.
var Windows = map[string]rules.Window{
	"sunday":  {Schedule: "0 2 * * SUN", Duration: 2 * time.Hour},
	"nightly": {Schedule: "30 3 * * *", Duration: 15 * time.Minute},
}

// Rules returns n rules: leaderless thresholds, leader changes, flapping,
// tenure, label and cluster filters, with cooldowns, for, repeat, mute
// windows and a few schedules. They act on the action "note".
func Rules(n int) []rules.Rule {
	kinds := []func(i int) rules.Rule{
		func(i int) rules.Rule {
			return rules.Rule{When: fmt.Sprintf(`type == "state.is_leaderless" && leaderless_for >= duration("%ds")`, 10+i), Cooldown: 10 * time.Minute, Mute: []string{"sunday"}}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: `type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id`, Cooldown: time.Minute}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: fmt.Sprintf(`leader_changes(duration("%dm")) >= 3`, 5+i%10), Cooldown: 30 * time.Minute}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: fmt.Sprintf(`leaderless && labels.env == "prod" && leaderless_for > duration("%ds")`, 5+i), Repeat: 5 * time.Minute}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: fmt.Sprintf(`!leaderless && leader_for >= duration("%dh") && leader_id in ["ctrl1", "ctrl2"]`, 1+i%5)}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: `leaderless && len(members) >= 3 && cluster startsWith "ziti"`, For: 20 * time.Second, Mute: []string{"nightly"}}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: `type == "state.has_leader" && previous_leader_id == leader_id`, CooldownKey: "leader_id", Cooldown: 5 * time.Minute}
		},
		func(i int) rules.Rule {
			return rules.Rule{When: `trigger == "event" && leaderless`, OnResolve: []string{"note"}}
		},
		func(i int) rules.Rule {
			return rules.Rule{Schedule: "0 9 * * *", When: `!leaderless`}
		},
	}
	rs := make([]rules.Rule, n)
	for i := range rs {
		r := kinds[i%len(kinds)](i)
		r.Name = fmt.Sprintf("rule-%02d", i)
		r.Actions = []string{"note"}
		rs[i] = r
	}
	return rs
}

// Members of the synthetic cluster.
var Members = []string{"ctrl1", "ctrl2", "ctrl3"}

// Start is when the synthetic recording begins (a Monday).
var Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// Recording calls emit with n member events of a three-member cluster:
// steady peer chatter, and every ~30 s the leader is killed, the followers
// notice (peer.disconnected), elect a new leader and the old one restarts
// (a leaderless blip). Every tenth time quorum is lost for 75 s. It returns
// the number of leader changes.
func Recording(n int, emit func(event.Event)) (changes int) {
	t := Start
	written := 0
	send := func(ev event.Event) {
		if written < n {
			ev.Time = t
			emit(ev)
			written++
		}
	}
	all := make([]string, len(Members))
	copy(all, Members)
	leader := 0
	for cycle := 0; written < n; cycle++ {
		for i := 0; i < 20 && written < n; i++ {
			t = t.Add(1500 * time.Millisecond)
			m := Members[i%3]
			send(event.Event{Source: m, Type: event.PeerConnected, Peers: []string{Members[(i+1)%3]}})
			send(event.Event{Source: m, Type: event.MembersChanged, Index: 10, Peers: all})
		}
		old := Members[leader]
		next := (leader + 1 + cycle%2) % 3
		for i, m := range Members {
			if i != leader {
				t = t.Add(time.Millisecond)
				send(event.Event{Source: m, Type: event.PeerDisconnected, Peers: []string{old}})
			}
		}
		gap := 4 * time.Second
		if cycle%10 == 9 {
			gap = 75 * time.Second
		}
		t = t.Add(gap)
		for i, m := range Members {
			if i != leader {
				send(event.Event{Source: m, Type: event.Leaderless})
			}
		}
		t = t.Add(5 * time.Millisecond)
		send(event.Event{Source: Members[next], Type: event.LeadershipGained})
		for _, m := range Members {
			if m != old {
				t = t.Add(time.Millisecond)
				send(event.Event{Source: m, Type: event.HasLeader, LeaderID: Members[next]})
			}
		}
		t = t.Add(1500 * time.Millisecond)
		send(event.Event{Source: old, Type: event.Leaderless}) // the old leader restarts
		t = t.Add(100 * time.Millisecond)
		send(event.Event{Source: old, Type: event.HasLeader, LeaderID: Members[next]})
		leader = next
		changes++
	}
	return changes
}

// RulesYAML returns the windows and n rules of Rules as config YAML; the
// rules act on an action named "note", which the caller defines.
func RulesYAML(n int) string {
	var b strings.Builder
	b.WriteString("windows:\n")
	for name, w := range Windows {
		fmt.Fprintf(&b, "  %s: {schedule: %q, duration: %s}\n", name, w.Schedule, w.Duration)
	}
	b.WriteString("rules:\n")
	for _, r := range Rules(n) {
		fmt.Fprintf(&b, "  - name: %s\n    when: '%s'\n    actions: [%s]\n", r.Name, strings.ReplaceAll(r.When, "'", "''"), strings.Join(r.Actions, ", "))
		for key, d := range map[string]time.Duration{"for": r.For, "repeat": r.Repeat, "cooldown": r.Cooldown} {
			if d > 0 {
				fmt.Fprintf(&b, "    %s: %s\n", key, d)
			}
		}
		if r.CooldownKey != "" {
			fmt.Fprintf(&b, "    cooldown_key: '%s'\n", r.CooldownKey)
		}
		if len(r.Mute) > 0 {
			fmt.Fprintf(&b, "    mute: [%s]\n", strings.Join(r.Mute, ", "))
		}
		if len(r.OnResolve) > 0 {
			fmt.Fprintf(&b, "    on_resolve: [%s]\n", strings.Join(r.OnResolve, ", "))
		}
		if r.Schedule != "" {
			fmt.Fprintf(&b, "    schedule: %q\n", r.Schedule)
		}
	}
	return b.String()
}
