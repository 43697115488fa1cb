package rules

import (
	"maps"
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

// failsOnSamples runs a compiled condition on sample states of a cluster
// (leaderless for a minute; led for a minute) and returns the error of the
// first run that fails. The type checker lets through some expressions
// that fail whenever they run (a duration times a float compared with a
// duration): the engine would count them false on every evaluation.
func failsOnSamples(prog *vm.Program, windows []time.Duration) error {
	for _, sample := range []map[string]any{
		{"type": event.Leaderless, "leaderless": true, "leaderless_for": time.Minute, "previous_leader_id": "a"},
		{"type": event.HasLeader, "leader_id": "b", "previous_leader_id": "a", "leader_for": time.Minute},
	} {
		env := maps.Clone(variableTypes)
		maps.Copy(env, map[string]any{"cluster": "c", "trigger": TriggerEvent, "now": time.Now(),
			"members_up": 3, "members_total": 3, "members": []string{"a", "b", "c"}, "term": 2})
		maps.Copy(env, sample)
		for _, d := range windows {
			env[changesVar(d)] = 1
		}
		if _, err := expr.Run(prog, env); err != nil {
			return err
		}
	}
	return nil
}
