// Package pagerduty sends notifications to PagerDuty's Events API v2: a
// firing triggers an alert and its resolve resolves it, both with the same
// dedup_key; with `change: true` every notification is a Change Event,
// which is recorded and pages nobody.
//
// What this relies on, from PagerDuty's Events API v2 documentation:
//
//   - alert events are POSTed as JSON to /v2/enqueue with routing_key (the
//     32-character integration key), event_action (trigger, acknowledge or
//     resolve) and dedup_key (at most 255 characters); a trigger needs
//     payload.summary (at most 1024 characters), payload.source and
//     payload.severity (critical, error, warning or info), and may have
//     timestamp, component, group, class and custom_details; a resolve
//     needs only routing_key, dedup_key and event_action;
//   - change events are POSTed to /v2/change/enqueue with routing_key and
//     payload.summary (at most 1024 characters), and may have source,
//     timestamp and custom_details;
//   - the answer is 202 with {"status":"success","message":...,
//     "dedup_key":...}; 400 (an invalid event, with the reasons in an
//     "errors" list) is not to be retried; 429 (too many events) and 5xx
//     are, "after some time": for 429 PagerDuty suggests waiting about
//     30 seconds, so without a Retry-After that is the wait asked for.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/event"
)

// Limits of the Events API v2, in characters.
const (
	MaxSummary  = 1024
	MaxDedupKey = 255
)

// RateLimitWait is how long a 429 without Retry-After waits: PagerDuty
// suggests retrying about 30 seconds apart.
const RateLimitWait = 30 * time.Second

// Action is a PagerDuty action.
type Action struct {
	name     string
	cfg      Config
	endpoint string // where events go: the alert or the change endpoint
	timeout  time.Duration
	client   *http.Client
	severity *template.Template
	summary  *template.Template // nil: the default
	secrets  actions.Redactor
	where    string // the endpoint as messages show it
}

// New builds the action from a spec; templates are parsed once, here.
// client may be nil (see webhook.DefaultClient).
func New(name string, spec actions.Spec, client *http.Client) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, actions.HTTPDelivery)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("action %s: %s", name, actions.Redact(errs[0].Error(), spec.Secrets()...))
	}
	if client == nil {
		client = webhook.DefaultClient()
	}
	a := &Action{name: name, cfg: cfg, endpoint: endpoint(cfg), timeout: spec.Timeout, client: client, secrets: actions.NewRedactor(spec.Secrets()...)}
	a.where = a.redact(a.endpoint)
	if a.severity, err = actions.ParseTemplate("severity", cfg.Severity); err != nil {
		return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
	}
	if cfg.Summary != "" {
		if a.summary, err = actions.ParseTemplate("summary", cfg.Summary); err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
	}
	return a, nil
}

// endpoint is the URL events go to: change events go to /v2/change/enqueue
// beside a /v2/enqueue URL, or to the URL as it is written.
func endpoint(c Config) string {
	if !c.Change {
		return c.URL
	}
	if before, ok := strings.CutSuffix(c.URL, "/v2/enqueue"); ok {
		return before + "/v2/change/enqueue"
	}
	return c.URL
}

// Event is what the Events API v2 takes: an alert event or, without
// event_action and dedup_key, a change event.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action,omitempty"`
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
}

// Payload is an event's payload.
type Payload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source,omitempty"`
	Severity      string          `json:"severity,omitempty"`
	Timestamp     string          `json:"timestamp,omitempty"`
	Group         string          `json:"group,omitempty"`
	Class         string          `json:"class,omitempty"`
	CustomDetails json.RawMessage `json:"custom_details,omitempty"`
}

// DedupKey names the alert of a rule's episode on a cluster: the same for
// the firing and its resolve, after a restart and on another node, since
// it is made of what the decision is made of. A verify_failed has an alert
// of its own (a failover that did not work is news: PagerDuty would merge
// it into the episode's open alert and page nobody), which the episode's
// resolve resolves too. A key that would be too long is hashed.
func DedupKey(n *actions.Notification) string {
	if n.Status == actions.StatusVerifyFailed {
		return dedupKey(n, "/verify_failed")
	}
	return dedupKey(n, "")
}

func dedupKey(n *actions.Notification, suffix string) string {
	episode := n.Episode
	if episode.IsZero() { // a scheduled rule: each firing is its own alert
		episode = n.FiredAt
	}
	key := "leaderhook/" + n.Cluster + "/" + n.Rule + "/" + episode.UTC().Format(time.RFC3339Nano) + suffix
	if utf8.RuneCountInString(key) <= MaxDedupKey {
		return key
	}
	sum := sha256.Sum256([]byte(n.Cluster + "\x00" + n.Rule + "\x00" + episode.UTC().Format(time.RFC3339Nano) + suffix))
	return "leaderhook/" + hex.EncodeToString(sum[:])
}

// Build returns the event for a notification, and notes of what its
// templates rendered wrong (see summaryOf and severityOf).
func (a *Action) Build(n *actions.Notification) (ev Event, notes string, err error) {
	ev = Event{RoutingKey: a.cfg.RoutingKey}
	if !a.cfg.Change {
		ev.EventAction, ev.DedupKey = "trigger", DedupKey(n)
		if n.Status == actions.StatusResolved {
			ev.EventAction = "resolve"
			return ev, "", nil // a resolve needs nothing else
		}
	}
	if ev.Payload, notes, err = a.payload(n); err != nil {
		return Event{}, "", err
	}
	if !a.cfg.Change {
		ev.Client = "leaderhook"
	}
	return ev, notes, nil
}

func (a *Action) payload(n *actions.Notification) (*Payload, string, error) {
	summary, notes := a.summaryOf(n)
	details, err := n.Payload()
	if err != nil {
		return nil, "", err
	}
	p := &Payload{Summary: Fit(event.Printable(summary), MaxSummary), Source: n.Cluster,
		Timestamp: n.FiredAt.Format(event.TimeLayout), CustomDetails: details}
	if a.cfg.Change {
		return p, notes, nil
	}
	severity, note := a.severityOf(n)
	p.Severity, p.Group, p.Class = severity, n.Cluster, n.Rule
	return p, actions.JoinNotes(notes, note), nil
}

// A template that renders wrong on real data (a label missing, a value
// PagerDuty refuses) still pages, as critical or with the default summary:
// a page sent at the wrong severity beats one never sent. The note says
// what was sent instead, for the audit log.

// summaryOf renders the summary, the default one if the template fails or
// renders nothing (see actions.RenderMessage); note says so.
func (a *Action) summaryOf(n *actions.Notification) (summary, note string) {
	def := fmt.Sprintf("%s: %s %s: %s", n.Cluster, n.Rule, n.Status, n.Summary())
	summary, note = actions.RenderMessage(a.name, a.summary, n, def, false)
	return strings.TrimSpace(summary), note
}

// severityOf renders the severity, critical if the template fails or
// renders a value PagerDuty refuses; note says so, as RenderMessage's do.
func (a *Action) severityOf(n *actions.Notification) (severity, note string) {
	var b strings.Builder
	err := a.severity.Execute(&b, n)
	s := strings.TrimSpace(b.String())
	if err == nil && slices.Contains(Severities, s) {
		return s, ""
	}
	why := fmt.Sprintf("rendered %q, not critical, error, warning or info", s)
	return "critical", actions.FallbackNote(a.name, a.severity, err, why, "sent as critical")
}

// Fit cuts s to limit characters, ending with … when cut.
func Fit(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit-1]) + "…"
}

// Run sends the event once, bounded by ctx and by the action's timeout.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	body, notes, err := a.body(n)
	if err != nil {
		msg := a.redact(err.Error())
		return actions.Outcome{Detail: msg}, actions.Permanent(errors.New(msg))
	}
	if dl, ok := ctx.Deadline(); a.timeout > 0 && (!ok || time.Until(dl) > a.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	out, err := a.post(ctx, body)
	out = out.Noted(a.redact(notes))
	if err != nil || n.Status != actions.StatusResolved || a.cfg.Change {
		return out, err
	}
	// The episode's verify_failed alert, if it had one, ends with it; a
	// resolve of a key never triggered is accepted and changes nothing.
	verify := Event{RoutingKey: a.cfg.RoutingKey, EventAction: "resolve", DedupKey: dedupKey(n, "/verify_failed")}
	body, err = json.Marshal(verify)
	if err != nil {
		return out, actions.Permanent(err)
	}
	return a.post(ctx, body)
}

// post sends one event.
func (a *Action) post(ctx context.Context, body []byte) (actions.Outcome, error) {
	out, err := webhook.PostJSON(ctx, a.client, a.endpoint, a.where, body, a.redact)
	if _, asked := actions.RetryAfter(err); out.HTTPStatus == http.StatusTooManyRequests && !asked {
		err = &actions.RetryAfterError{Err: err, After: RateLimitWait}
	}
	return out, err
}

func (a *Action) body(n *actions.Notification) (body []byte, notes string, err error) {
	ev, notes, err := a.Build(n)
	if err != nil {
		return nil, "", err
	}
	body, err = json.Marshal(ev)
	return body, notes, err
}

func (a *Action) redact(s string) string { return a.secrets.Redact(s) }

// Where is the endpoint, credentials hidden.
func (a *Action) Where() string { return a.where }

// Render shows the event a run would send, the routing key hidden.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	body, notes, err := a.body(n)
	if err != nil {
		return actions.Rendering{}, errors.New(a.redact(err.Error()))
	}
	r := webhook.JSONRendering(Name, a.where, body, a.redact)
	r.Notes = a.redact(notes)
	return r, nil
}
