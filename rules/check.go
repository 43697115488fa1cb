package rules

import (
	"github.com/leaderhook/leaderhook/field"
)

// Known names what rules may refer to, for cross-reference checks. A nil map
// skips that check.
type Known struct {
	Actions  map[string]bool
	Clusters map[string]bool
}

// Check validates rules and windows exactly as the engine loads them:
// durations, cron schedules, references to actions, clusters and windows, and
// expressions compiled and type-checked. It also refuses conditions that can
// never hold, which the engine would run (vocabulary.go). Paths in the returned lists are
// rooted at the config file ("rules[2].when", "windows.sunday.schedule").
// Warnings do not stop loading.
func Check(rs []Rule, windows map[string]Window, known Known) (errs, warnings field.List) {
	_, errs, warnings = compile(rs, windows, known)
	errs = checkVocabulary(rs, errs)
	return errs, warnings
}
