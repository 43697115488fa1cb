package actions

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/leaderhook/leaderhook/field"
)

// Kind describes one kind of action to the rest of leaderhook. Each kind's
// package exports one, and actions/kinds lists them: the config loader,
// `leaderhook check` and `schema`, the reference docs, dry runs and
// `fire` take everything about a kind from here and from its Config.
type Kind struct {
	// Name is the value of `type:` that selects the kind.
	Name string
	// Config is the zero value of the kind's settings. The config loader
	// decodes an action's keys, other than those of Spec, into a value of
	// its type; the JSON Schema and the reference are made from that type.
	Config Config
	// Delivery gives the defaults of timeout and retry.max_attempts.
	Delivery Delivery
	// New builds an action from a valid spec (Spec.Defaults applied, Config
	// of the kind's type) and what the daemon lends its actions (Options).
	New func(name string, spec Spec, opts Options) (Action, error)
	// Docs documents each key of Config, by path relative to the action:
	// `headers`, `items[].name` (a list item), `labels.*` (a map entry).
	// An entry for a key every action takes, such as `retry.max_attempts`,
	// adds a sentence to that key's description.
	Docs map[string]string
	// Enums lists the values that keys taking a fixed set may have, by path
	// as in Docs, for the JSON Schema.
	Enums map[string][]string
	// PlainKeys lists the keys whose values are shown in logs even when
	// they come from ${VAR}s, because they say where, not who: a URL's
	// scheme and host. Its password and query values are redacted as in
	// any URL, and the path of a URL that a ${VAR} supplies (whole, or its
	// start) is a secret when it holds a token (Discord's, a heartbeat's).
	// Values of other keys that come from the environment are redacted
	// like secrets.
	PlainKeys []string
}

// Options is what an action is lent besides its spec. Every field may be
// left out.
type Options struct {
	// Client is for kinds that speak HTTP, so that they share connections;
	// nil: the kind's own default.
	Client *http.Client
	// StateDir is the config's state_dir, where an action keeps what must
	// outlive a restart (see OpenMemory); "" keeps it in memory only
	// (fire, tests).
	StateDir string
	// ExternalURL is server.external_url, where people reach leaderhook,
	// for links in messages; "" for none.
	ExternalURL string
	// Log is where an action's background work (see Background) tells
	// what no delivery reports; nil logs nothing.
	Log *slog.Logger
}

// Background is an action with work of its own between deliveries (an
// alertmanager action re-posts the alerts it keeps open). The dispatcher
// starts it when it takes the action on, and stops it when it lets the
// action go: at a reload that replaces it, and at shutdown. Dry runs never
// start it. Stop returns once the work has stopped.
type Background interface {
	Start()
	Stop()
}

// Unrepeatable is an action whose attempt must not be made again unseen:
// a program that may have run to its end even though leaderhook did not
// see it end. The dispatcher journals such an attempt before it starts,
// so that one a crash cut short counts against retry.max_attempts, rather
// than being made again, maybe beside the one still running.
type Unrepeatable interface {
	Unrepeatable()
}

// Describer is an action that can say where it delivers, safely shown
// (no credential): an on_failure message names it.
type Describer interface {
	Where() string
}

// Delivery is a kind's defaults for the delivery keys every action takes.
type Delivery struct {
	Timeout  time.Duration // of one attempt
	Attempts int           // retry.max_attempts
}

// HTTPDelivery suits kinds that send one HTTP request: a receiver that is
// down for a moment is tried again.
var HTTPDelivery = Delivery{Timeout: 10 * time.Second, Attempts: 5}

// Config is a kind's own settings: the keys an action takes besides those
// of Spec, named by koanf tags (json tags to match). Implementations are
// plain values, so that copies share nothing that changes.
type Config interface {
	// Validate checks the settings, templates included, with paths
	// relative to the action (`url`, `command[1]`). Messages must not
	// repeat a URL, a header value or a secret: after ${ENV} expansion any
	// of them may hold a credential, and config errors end up in logs.
	Validate() field.List
	// Defaults returns a copy with what is left out filled in.
	Defaults() Config
	// Secrets returns the values that must never reach a log, an audit
	// record or a dry run.
	Secrets() []string
}

// IncidentOpener is a Config whose action, on a firing, opens something
// that only a resolve sent to the same action closes (a PagerDuty
// incident, an Alertmanager alert kept alive): a rule that fires it
// without resolving it leaves it open.
type IncidentOpener interface {
	OpensIncident() bool
}

// Concurrent is a Config whose action may run several deliveries for one
// cluster at once, and bounds and orders them itself (shell: concurrency).
// Actions of other kinds get one delivery at a time per cluster.
type Concurrent interface {
	Workers() int
}

// Fenced is a Config whose action's deliveries must not outlive the state
// of the cluster they were decided for (shell: cancel_on_change): once it
// moves on, the dispatcher drops those waiting and stops those running.
type Fenced interface {
	CancelsOnChange() bool
}

// Warner is a Config with warnings for `leaderhook check`: problems on
// this host that need not be errors in the config (a script not installed
// yet), with paths relative to the action.
type Warner interface {
	Warnings() field.List
}
