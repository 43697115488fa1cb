package rules

import (
	"maps"
	"regexp"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/field"
)

// warnIfFailing adds a warning at path when the condition fails on a
// sample state.
func warnIfFailing(warnings *field.List, path string, prog *vm.Program, windows []time.Duration) {
	if err := failsOnSamples(prog, windows); err != nil {
		warnings.Add(path, "fails when evaluated on a sample state, so the engine would count it false: %v", err)
	}
}

// typeMismatch is expr's error of a binary operation on two typed values
// ("invalid operation: float64 >= time.Duration"), not on a missing one
// (<nil>) nor of a conversion (int() of "").
var typeMismatch = regexp.MustCompile(`invalid operation: [\w.]+ \S+ [\w.]+ `)

// sampleTime is the instant of the sample states: fixed, so that a
// warning does not depend on when check runs.
var sampleTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// failsOnSamples runs a compiled condition on sample states of a cluster
// (leaderless for a minute; led for a minute) and returns the first
// operation on two values of its variables' own types that fails. The
// type checker lets such expressions through (a duration times a float,
// compared with a duration), and they fail whenever they run. Failures
// that depend on data (an event key, a label, an index) are left alone:
// a real state may well have what the sample lacks.
func failsOnSamples(prog *vm.Program, windows []time.Duration) error {
	for _, ev := range []event.Event{
		{Type: event.Leaderless, PreviousLeaderID: "a", Source: "a"},
		{Type: event.HasLeader, LeaderID: "b", PreviousLeaderID: "a", Source: "b"},
	} {
		ev.Time, ev.Since = sampleTime, sampleTime.Add(-time.Minute)
		env := maps.Clone(variableTypes)
		maps.Copy(env, map[string]any{"cluster": "c", "trigger": TriggerEvent, "now": sampleTime, "event": ev.Fields(),
			"type": ev.Type, "leader_id": ev.LeaderID, "previous_leader_id": ev.PreviousLeaderID,
			"members_up": 3, "members_total": 3, "quorum_margin": 1, "members": []string{"a", "b", "c"}, "term": 2})
		if ev.Type == event.Leaderless {
			maps.Copy(env, map[string]any{"leaderless": true, "leaderless_for": time.Minute})
		} else {
			maps.Copy(env, map[string]any{"leader_for": time.Minute, "leaders": []string{ev.LeaderID}})
		}
		for _, d := range windows {
			env[changesVar(d)] = 1
		}
		if _, err := expr.Run(prog, env); err != nil && typeMismatch.MatchString(err.Error()) {
			return err
		}
	}
	return nil
}
