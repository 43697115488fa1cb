// Package webhook posts notifications to HTTP endpoints, signed with the
// Standard Webhooks scheme (https://www.standardwebhooks.com): headers
// webhook-id (the delivery id, the same on every attempt), webhook-timestamp
// (unix seconds of the attempt) and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>"). A secret that starts
// with whsec_ is base64 after the prefix; otherwise its bytes are the key.
//
// One Run is one attempt. 2xx is success; 408, 425, 429 and 5xx are retried (after
// Retry-After when the answer has one), as are network errors and
// timeouts; any other answer, redirects included, is a permanent failure,
// and so is a certificate that does not verify.
// Error messages never show the secret, nor the URL's credentials or query.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/event"
)

// UserAgent is sent with every request unless a header template replaces it.
const UserAgent = "leaderhook/1"

// Content types of the two formats.
const (
	ContentTypeJSON        = "application/json"
	ContentTypeCloudEvents = "application/cloudevents+json"
)

// Action is a webhook action.
type Action struct {
	name    string
	cfg     Config
	timeout time.Duration // of one attempt
	client  *http.Client
	body    *template.Template // nil: the default payload or the CloudEvent
	headers []header           // sorted by name
	key     []byte             // nil: unsigned
	secrets actions.Redactor   // the spec's secrets, and URLs' credentials and queries
	where   string             // the URL as messages show it
	now     func() time.Time
}

type header struct {
	name string
	tmpl *template.Template
}

// DefaultClient returns the client used when New is given none: no global
// timeout (each attempt is bounded by its context and the action's timeout) and
// redirects returned, not followed.
func DefaultClient() *http.Client {
	return &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// transport is shared by every webhook and Slack action. It keeps as many
// idle connections per receiver as deliveries may run at once: with
// net/http's default of 2, a burst to one receiver would open and close
// a connection per delivery.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}()

// New builds the action from a spec; templates are parsed once, here.
// client may be nil (see DefaultClient). Errors never show the URL or the
// secret.
func New(name string, spec actions.Spec, client *http.Client) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, actions.HTTPDelivery)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	if client == nil {
		client = DefaultClient()
	}
	if err := checkURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("action %s: url %w", name, err)
	}
	a := &Action{name: name, cfg: cfg, timeout: spec.Timeout, client: client, now: time.Now, secrets: actions.NewRedactor(spec.Secrets()...)}
	a.where = a.redact(cfg.URL)
	if cfg.Body != "" && cfg.Format != "cloudevents" {
		t, err := actions.ParseStrict("body", cfg.Body)
		if err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
		a.body = t
	}
	for _, h := range slices.Sorted(maps.Keys(cfg.Headers)) {
		// What a header inserts is escaped (event.Printable): an id from
		// an event may hold a newline or a NUL, which HTTP cannot carry,
		// and must not make the delivery fail for good.
		t, err := actions.ParseStrictEscaped("headers."+h, cfg.Headers[h], event.Printable)
		if err != nil {
			return nil, fmt.Errorf("action %s: %s", name, a.redact(err.Error()))
		}
		a.headers = append(a.headers, header{name: h, tmpl: t})
	}
	if cfg.Secret != "" {
		k, err := key(cfg.Secret)
		if err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		a.key = k
	}
	return a, nil
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("must be an http:// or https:// URL (got scheme %q)", u.Scheme)
	case u.Host == "":
		return errors.New("has no host")
	}
	return nil
}

// key returns the HMAC key of a secret: the base64-decoded bytes after
// whsec_, or else the secret's own bytes.
func key(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return []byte(secret), nil
	}
	k, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(k) == 0 {
		return nil, errors.New("secret starts with whsec_ but the rest is not base64 (the secret itself is not shown)")
	}
	return k, nil
}

// Sign returns the webhook-signature value of a delivery:
// "v1,<base64 HMAC-SHA256 of id.ts.body>", ts in unix seconds. The key is
// the base64 after whsec_, or the secret's bytes when it has no such prefix
// (or is not valid base64 after it).
func Sign(secret string, id string, ts time.Time, body []byte) string {
	k, err := key(secret)
	if err != nil {
		k = []byte(secret)
	}
	return sign(k, id, ts, body)
}

func sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// request renders what one attempt sends, signature aside.
func (a *Action) request(n *actions.Notification) (body []byte, headers http.Header, err error) {
	// Keys in canonical form, as Set would write them; room for the
	// configured headers and the signature's two.
	headers = make(http.Header, 5+len(a.headers))
	headers["Content-Type"] = []string{ContentTypeJSON}
	headers["User-Agent"] = []string{UserAgent}
	switch {
	case a.cfg.Format == "cloudevents":
		body, err = CloudEvent(n)
		headers["Content-Type"] = []string{ContentTypeCloudEvents}
	case a.body != nil:
		var b bytes.Buffer
		err = a.body.Execute(&b, n)
		body = b.Bytes()
	case bodiless(a.cfg.Method):
		delete(headers, "Content-Type")
	default:
		body, err = n.Payload()
	}
	if err != nil {
		// No default in its place, as messages have (see
		// actions.RenderMessage): the receiver is a program, which
		// must not act on a body or header it was not written for.
		return nil, nil, fmt.Errorf("render body: %w", err)
	}
	for _, h := range a.headers {
		var b strings.Builder
		if err := h.tmpl.Execute(&b, n); err != nil {
			return nil, nil, fmt.Errorf("render header %s: %w", h.name, err)
		}
		if !validHeaderValue(b.String()) {
			return nil, nil, fmt.Errorf("render header %s: the template's own text has a control character, which HTTP does not allow", h.name)
		}
		headers.Set(h.name, b.String())
	}
	headers["Webhook-Id"] = []string{n.DeliveryID} // a header template does not replace it
	return body, headers, nil
}

// bodiless reports whether a request of method carries no payload unless
// a body template says what: a GET or DELETE with a body is undefined in
// HTTP, and receivers (a heartbeat's ping) ignore or refuse it. HEAD is
// not among the methods a webhook may use.
func bodiless(method string) bool {
	switch method {
	case http.MethodGet, http.MethodDelete:
		return true
	}
	return false
}

// validHeaderValue reports whether v may be sent as a header value: no
// control characters but horizontal tab (RFC 9110 §5.5).
func validHeaderValue(v string) bool { return controlCharAt(v) < 0 }

// controlCharAt returns the offset of the first byte of v that a header
// value cannot hold (see validHeaderValue), or -1. Validate and Run share
// it, so that a header that passes check is one that can be sent.
func controlCharAt(v string) int {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return i
		}
	}
	return -1
}

// Run makes one attempt, bounded by ctx and by the action's timeout.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	body, headers, err := a.request(n)
	if err != nil {
		msg := a.redact(err.Error())
		return actions.Outcome{Detail: truncate(msg, MaxDetail)}, actions.Permanent(errors.New(msg))
	}
	if a.key != nil {
		ts := a.now()
		headers.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		headers.Set("webhook-signature", sign(a.key, n.DeliveryID, ts, body))
	}
	// The dispatcher's attempts come with this deadline already.
	if dl, ok := ctx.Deadline(); a.timeout > 0 && (!ok || time.Until(dl) > a.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, a.cfg.Method, a.cfg.URL, bytes.NewReader(body))
	if err != nil {
		// The URL is not shown: it may carry a token in a form that
		// Redact does not recognise once it fails to parse.
		msg := fmt.Sprintf("%s %s: cannot build the request", a.cfg.Method, a.where)
		return actions.Outcome{Detail: msg}, actions.Permanent(errors.New(a.redact(msg)))
	}
	req.Header = headers
	if h := headers.Get("Host"); h != "" {
		req.Host = h
	}
	return Exchange(a.client, req, a.where, a.redact)
}

func (a *Action) redact(s string) string { return a.secrets.Redact(s) }

// Where is the endpoint, as messages show it.
func (a *Action) Where() string { return a.where }

// Render shows what Run would send, with the secret, the URL's credentials
// and query, and the values of credential headers (Authorization, Cookie,
// X-Api-Key...) redacted. The signature is computed at send time and not
// shown.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	body, headers, err := a.request(n)
	if err != nil {
		return actions.Rendering{}, errors.New(a.redact(err.Error()))
	}
	if a.key != nil {
		headers.Set("webhook-timestamp", "(unix seconds at send time)")
		headers.Set("webhook-signature", "v1,(HMAC-SHA256 at send time)")
	}
	r := actions.Rendering{Kind: Name, Method: a.cfg.Method, URL: a.where,
		Headers: map[string]string{}, Body: a.redact(string(body))}
	for h := range headers {
		r.Headers[h] = RedactHeader(h, a.redact(headers.Get(h)))
	}
	return r, nil
}

// RedactHeader hides the value of a header that carries a credential,
// keeping an Authorization scheme ("Bearer REDACTED").
func RedactHeader(name, value string) string {
	if !actions.CredentialHeader(name) {
		return value
	}
	lower := strings.ToLower(name)
	if lower == "authorization" || lower == "proxy-authorization" {
		if scheme, _, ok := strings.Cut(value, " "); ok {
			return scheme + " " + actions.Redacted
		}
	}
	return actions.Redacted
}

// cloudEvent is a CloudEvents 1.0 event in structured JSON mode.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// CloudEventType is the CloudEvents type of a notification:
// io.leaderhook.rule.firing or io.leaderhook.rule.resolved.
func CloudEventType(status string) string { return "io.leaderhook.rule." + status }

// CloudEvent wraps the notification's payload in a CloudEvents 1.0
// structured envelope: id is the delivery id, source leaderhook/<cluster>,
// subject the rule, time the firing time (RFC 3339, as the payload's
// fired_at), data the payload.
func CloudEvent(n *actions.Notification) ([]byte, error) {
	payload, err := n.Payload()
	if err != nil {
		return nil, err
	}
	return json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: n.DeliveryID, Source: "leaderhook/" + n.Cluster, Type: CloudEventType(n.Status),
		Subject: n.Rule, Time: n.FiredAt.Format("2006-01-02T15:04:05.000000000Z07:00"),
		DataContentType: ContentTypeJSON, Data: payload,
	})
}
