package pipeline

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/kinds"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
)

// Targets builds every configured action with its delivery policy. client
// may be nil. Actions keep what must outlive a restart under stateDir (see
// actions.Options): the daemon's, which has a default when the config sets
// none; "" keeps it in memory only. Their background work logs to log
// (nil: nowhere).
func Targets(cfg *config.Config, stateDir string, client *http.Client, log *slog.Logger) (map[string]dispatch.Target, error) {
	targets := make(map[string]dispatch.Target, len(cfg.Actions))
	opts := actions.Options{Client: client, StateDir: stateDir, ExternalURL: cfg.Server.ExternalURL, Log: log}
	for name, spec := range cfg.Actions {
		t, err := target(name, spec, opts)
		if err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		targets[name] = t
	}
	return targets, nil
}

// target builds one action, by its kind, with the kind's defaults.
func target(name string, spec actions.Spec, opts actions.Options) (dispatch.Target, error) {
	kind := kinds.Lookup(spec.Type)
	if kind == nil {
		return dispatch.Target{}, fmt.Errorf("unknown type %q", spec.Type)
	}
	spec = spec.Defaults(kind.Delivery)
	a, err := kind.New(name, spec, opts)
	if err != nil {
		return dispatch.Target{}, err
	}
	workers := 1
	if c, ok := spec.Config.(actions.Concurrent); ok {
		// The action itself orders runs per cluster and bounds them.
		workers = c.Workers()
	}
	f, ok := spec.Config.(actions.Fenced)
	fenced := ok && f.CancelsOnChange()
	return dispatch.Target{Action: a, Spec: spec, Secrets: spec.Secrets(), Workers: workers, CancelOnChange: fenced}, nil
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
