package pipeline

import (
	"fmt"
	"net/http"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/actions/slack"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
)

// Targets builds every configured action with its delivery policy. client
// may be nil.
func Targets(cfg *config.Config, client *http.Client) (map[string]dispatch.Target, error) {
	targets := make(map[string]dispatch.Target, len(cfg.Actions))
	for name, spec := range cfg.Actions {
		spec = spec.Defaults()
		var a actions.Action
		var err error
		workers := 1
		switch spec.Type {
		case actions.KindWebhook:
			a, err = webhook.New(name, spec, client)
		case actions.KindSlack:
			a, err = slack.New(name, spec, client)
		case actions.KindShell:
			a, err = shell.New(name, spec)
			// The action itself orders runs per cluster and bounds them.
			workers = spec.Concurrency
		default:
			err = fmt.Errorf("unknown type %q", spec.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		targets[name] = dispatch.Target{Action: a, Spec: spec, Secrets: spec.Secrets(), Workers: workers}
	}
	return targets, nil
}

// Render shows what the named actions would do for an outcome's
// notification, without doing it.
func Render(targets map[string]dispatch.Target, n actions.Notification, names []string) []NamedRendering {
	var out []NamedRendering
	for _, name := range names {
		r := NamedRendering{Action: name}
		t, ok := targets[name]
		renderer, can := t.Action.(actions.Renderer)
		switch {
		case !ok:
			r.Error = "unknown action"
		case !can:
			r.Error = "this action cannot show what it would do"
		default:
			n.DeliveryID = "msg_dry-run"
			rendering, err := renderer.Render(&n)
			if err != nil {
				r.Error = actions.Redact(err.Error(), t.Secrets...)
			}
			r.Rendering = rendering
		}
		out = append(out, r)
	}
	return out
}

// NamedRendering is one action's dry run.
type NamedRendering struct {
	Action string `json:"action"`
	actions.Rendering
	Error string `json:"error,omitempty"`
}
