// Package kinds is the one list of the kinds of action. A kind is a
// package under actions/ that exports
//
//   - a Config type: the kind's keys as koanf-tagged fields, with Validate,
//     Defaults and Secrets (actions.Config), and if need be Workers
//     (actions.Concurrent) and Warnings (actions.Warner);
//   - an action that makes one attempt (actions.Action) and shows what it
//     would send (actions.Renderer), built from an actions.Spec;
//   - an actions.Kind that names the kind and ties these together, with
//     the documentation of its keys.
//
// Adding a kind is writing that package and adding its Kind to All: the
// config loader, `leaderhook check` and `schema`, docs/configuration.md
// (go test ./config -update), dry runs, `fire` and the daemon take the
// kinds from here.
package kinds

import (
	"reflect"
	"strings"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/alertmanager"
	"github.com/leaderhook/leaderhook/actions/email"
	"github.com/leaderhook/leaderhook/actions/pagerduty"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/actions/slack"
	"github.com/leaderhook/leaderhook/actions/teams"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/field"
)

// All lists the kinds in the order messages and docs name them.
var All = []*actions.Kind{&webhook.Kind, &shell.Kind, &slack.Kind, &teams.Kind, &email.Kind, &pagerduty.Kind, &alertmanager.Kind}

// Lookup returns the kind named name, or nil.
func Lookup(name string) *actions.Kind {
	for _, k := range All {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Names lists the kinds' names as a sentence does: "webhook, shell or
// slack".
func Names() string {
	names := make([]string, len(All))
	for i, k := range All {
		names[i] = k.Name
	}
	return OneOf(names)
}

// OneOf joins choices as a sentence does: "a, b or c".
func OneOf(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	last := len(choices) - 1
	return strings.Join(choices[:last], ", ") + " or " + choices[last]
}

// Validate checks an action definition: that its type names a kind whose
// settings it holds, then the rest (see actions.Spec.Validate). A spec
// without settings is checked as the kind's zero Config.
func Validate(s actions.Spec) field.List {
	var errs field.List
	kind := Lookup(s.Type)
	switch {
	case s.Type == "":
		errs.Add("type", "is required: %s", Names())
	case kind == nil:
		errs.Add("type", "unknown action type %q: %s", s.Type, Names())
	case s.Config == nil:
		s.Config = kind.Config
		return s.Validate()
	case reflect.TypeOf(s.Config) != reflect.TypeOf(kind.Config):
		errs.Add("type", "%s, but the settings are those of a %T", s.Type, s.Config)
	default:
		return s.Validate()
	}
	return errs
}
