package pagerduty

import (
	"slices"
	"strings"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of PagerDuty actions.
const Name = "pagerduty"

// DefaultURL is the Events API v2 endpoint of PagerDuty's US service
// region; the EU region's is https://events.eu.pagerduty.com/v2/enqueue.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// DefaultSeverity is the severity of a trigger that names none.
const DefaultSeverity = "critical"

// Severities are the values the Events API v2 takes for payload.severity.
var Severities = []string{"critical", "error", "warning", "info"}

// RoutingKeyLength is the length of an integration (routing) key: the
// API refuses others with a 400.
const RoutingKeyLength = 32

// Kind describes PagerDuty actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: actions.HTTPDelivery,
	New: func(name string, spec actions.Spec, opts actions.Options) (actions.Action, error) {
		return New(name, spec, opts.Client)
	},
	Docs: map[string]string{
		"routing_key": "the 32-character integration key of an Events API v2 integration (a secret: use `${ENV}`).",
		"url":         "the Events API v2 endpoint. Default `" + DefaultURL + "`; the EU service region's is `https://events.eu.pagerduty.com/v2/enqueue`; a proxy or a test server may stand in. With `change: true`, a URL ending in `/v2/enqueue` sends to `/v2/change/enqueue` beside it.",
		"severity":    "template of the alert's severity: critical (default), error, warning or info. Checked at load like every template, and its value on a sample firing; one that fails or renders anything else on a real notification is sent as critical, the audit detail saying why.",
		"summary":     "template of the alert's summary, cut to 1024 characters. Default: the cluster, the rule and what happened (`.Summary`), also sent when the template fails or renders nothing (the audit detail says why).",
		"change":      "send a Change Event instead of an alert: recorded on the service's timeline, pages nobody (for planned leader moves).",
	},
	PlainKeys: []string{"url", "severity", "change"},
}

// Config is the settings of a PagerDuty action.
type Config struct {
	RoutingKey string `koanf:"routing_key" json:"routing_key,omitempty"`
	URL        string `koanf:"url" json:"url,omitempty"`
	Severity   string `koanf:"severity" json:"severity,omitempty"`
	Summary    string `koanf:"summary" json:"summary,omitempty"`
	Change     bool   `koanf:"change" json:"change,omitempty"`
}

// Validate checks the settings without printing the routing key.
func (c Config) Validate() field.List {
	var errs field.List
	switch {
	case c.RoutingKey == "":
		errs.Add("routing_key", "is required: the integration key of an Events API v2 integration")
	case len(c.RoutingKey) != RoutingKeyLength:
		errs.Add("routing_key", "must be %d characters long, as PagerDuty's integration keys are (it has %d; the key is not shown)", RoutingKeyLength, len(c.RoutingKey))
	}
	if c.URL != "" {
		actions.CheckURL(&errs, "url", c.URL)
	}
	switch {
	case c.Severity == "":
	case strings.Contains(c.Severity, "{{"):
		actions.CheckTemplate(&errs, "severity", c.Severity)
		// PagerDuty refuses any other value: every trigger would fail.
		if out, ok := actions.SampleOutput(c.Severity); ok && !slices.Contains(Severities, strings.TrimSpace(out)) {
			errs.Add("severity", "renders %q for a sample firing: PagerDuty takes critical, error, warning or info", strings.TrimSpace(out))
		}
	case !slices.Contains(Severities, c.Severity):
		errs.Add("severity", "unknown severity %q: critical, error, warning or info", c.Severity)
	}
	if c.Summary != "" {
		actions.CheckTemplate(&errs, "summary", c.Summary)
	}
	return errs
}

// Defaults fills in the endpoint and the severity.
func (c Config) Defaults() actions.Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Severity == "" {
		c.Severity = DefaultSeverity
	}
	return c
}

// Secrets returns the routing key, and the password and query values of
// the URL (a proxy's).
func (c Config) Secrets() []string {
	var out []string
	if c.RoutingKey != "" {
		out = append(out, c.RoutingKey)
	}
	return append(out, actions.URLSecrets(c.URL)...)
}

// OpensIncident: an alert opens an incident; a Change Event opens none.
func (c Config) OpensIncident() bool { return !c.Change }
