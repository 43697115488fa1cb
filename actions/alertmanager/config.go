package alertmanager

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of Alertmanager actions.
const Name = "alertmanager"

// DefaultRefresh is how often alerts that are firing are posted again.
const DefaultRefresh = time.Minute

// Kind describes Alertmanager actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: actions.HTTPDelivery,
	New: func(name string, spec actions.Spec, opts actions.Options) (actions.Action, error) {
		return New(name, spec, opts)
	},
	Docs: map[string]string{
		"urls":        "base URLs of one or more Alertmanagers (`http://alertmanager:9093`): alerts are posted to each one's `/api/v2/alerts`, under its path and with its query (a proxy's token, say); a delivery succeeds when one accepts. A URL that ends in `/api/v2/alerts` already, or has a `#fragment`, is refused.",
		"annotations": "annotations of the alert: templates by name. Default: `summary` and `description`, from the notification. One that fails on a real notification is sent with the default of its name, or left out if its name has none (the audit detail says why).",
		"refresh":     "while a rule fires, its alert is posted again this often, each time with `endsAt` four refreshes ahead: it stays active whatever the Alertmanager's `resolve_timeout`, and ends by itself four refreshes after leaderhook stops. Default `1m`.",
	},
	PlainKeys: []string{"urls", "refresh"},
}

// Config is the settings of an Alertmanager action.
type Config struct {
	URLs        []string          `koanf:"urls" json:"urls,omitempty"`
	Annotations map[string]string `koanf:"annotations" json:"annotations,omitempty"`
	Refresh     time.Duration     `koanf:"refresh" json:"refresh,omitempty"`
}

// Validate checks the settings without printing a URL.
func (c Config) Validate() field.List {
	var errs field.List
	if len(c.URLs) == 0 {
		errs.Add("urls", "is required: the base URL of at least one Alertmanager")
	}
	for i, u := range c.URLs {
		checkBaseURL(&errs, "urls["+strconv.Itoa(i)+"]", u)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Annotations)) {
		if !validLabelName(name) {
			errs.Add("annotations."+name, "%q is not a valid annotation name: letters, digits and '_', not starting with a digit", name)
		}
		actions.CheckTemplate(&errs, "annotations."+name, c.Annotations[name])
	}
	if c.Refresh < 0 || c.Refresh > 0 && c.Refresh < time.Second {
		errs.Add("refresh", "must be 1s or more")
	}
	return errs
}

// checkBaseURL checks an Alertmanager's base URL, to which the action adds
// /api/v2/alerts: one that has it, or part of an API path, already would
// post to /api/v2/alerts/api/v2/alerts, and a fragment is never sent.
func checkBaseURL(errs *field.List, key, raw string) {
	n := len(*errs)
	actions.CheckURL(errs, key, raw)
	if len(*errs) > n {
		return
	}
	u, _ := url.Parse(raw)
	path := strings.TrimRight(u.Path, "/")
	for _, api := range []string{alertsPath, "/api/v2", "/api/v1/alerts", "/api/v1"} {
		if strings.HasSuffix(path, api) {
			errs.Add(key, "ends in %s: give the Alertmanager's base URL (http://alertmanager:9093), to which %s is added", api, alertsPath)
			break
		}
	}
	// A '#' anywhere begins the fragment (an empty one included).
	if strings.Contains(raw, "#") {
		errs.Add(key, "has a fragment (#...), which is never sent: give the base URL without it")
	}
}

// validLabelName is Prometheus' rule for label names, which Alertmanager
// applies to labels and annotations.
func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Defaults fills in the refresh period.
func (c Config) Defaults() actions.Config {
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	return c
}

// Secrets returns the passwords and query values of the URLs.
func (c Config) Secrets() []string {
	var out []string
	for _, u := range c.URLs {
		out = append(out, actions.URLSecrets(u)...)
	}
	return out
}

// OpensIncident: a firing's alert is kept alive until a resolve ends it.
func (Config) OpensIncident() bool { return true }
