package rules

import (
	"maps"
	"regexp"
	"slices"

	"github.com/leaderhook/leaderhook/field"
)

// LabelNamePattern is what a rule's label may be called: a Prometheus
// label name, since Alertmanager routes on these labels.
const LabelNamePattern = `^[a-zA-Z_][a-zA-Z0-9_]*$`

var labelName = regexp.MustCompile(LabelNamePattern)

// ReservedLabels are the labels every notification has already: the rule
// (alertname, as Prometheus calls it) and the cluster. A rule cannot set
// them.
var ReservedLabels = []string{"alertname", "cluster"}

// MergeLabels returns the labels of a rule's notifications: the cluster's,
// with the rule's over them. Without rule labels it returns the cluster's
// map itself, so that a rule without labels costs nothing; the result is
// shared and must not be modified.
func MergeLabels(cluster, rule map[string]string) map[string]string {
	if len(rule) == 0 {
		return cluster
	}
	merged := make(map[string]string, len(cluster)+len(rule))
	maps.Copy(merged, cluster)
	maps.Copy(merged, rule)
	return merged
}

// checkLabels checks the names of a rule's labels, each at its own path
// (rules[i].labels.NAME) so that the loader points at its line.
func checkLabels(errs *field.List, path string, labels map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		p := path + ".labels." + name
		switch {
		case slices.Contains(ReservedLabels, name):
			errs.Add(p, "label %q is reserved: every notification has alertname = the rule and cluster = the cluster", name)
		case !labelName.MatchString(name):
			errs.Add(p, "label name %q: use letters, digits and '_', not starting with a digit (a Prometheus label name)", name)
		}
	}
}
