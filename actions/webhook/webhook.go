// Package webhook posts notifications to HTTP endpoints, signed with the
// Standard Webhooks scheme (https://www.standardwebhooks.com): headers
// webhook-id (the delivery id, the same on every attempt), webhook-timestamp
// (unix seconds of the attempt) and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>"). A secret that starts
// with whsec_ is base64 after the prefix; otherwise its bytes are the key.
//
// One Run is one attempt. 2xx is success; 429 and 5xx are retried (after
// Retry-After when the answer has one), as are network errors and
// timeouts; any other answer is a permanent failure.
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
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// Action is a webhook action.
type Action struct {
	name    string
	spec    actions.Spec
	client  *http.Client
	body    *template.Template // nil: the default payload
	headers map[string]*template.Template
	key     []byte
	now     func() time.Time
}

// New builds the action from a validated spec. client may be nil.
func New(name string, spec actions.Spec, client *http.Client) (*Action, error) {
	spec = spec.Defaults()
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	a := &Action{name: name, spec: spec, client: client, headers: map[string]*template.Template{}, now: time.Now}
	if spec.Body != "" {
		t, err := actions.ParseTemplate(name+".body", spec.Body)
		if err != nil {
			return nil, err
		}
		a.body = t
	}
	for h, v := range spec.Headers {
		t, err := actions.ParseTemplate(name+".headers."+h, v)
		if err != nil {
			return nil, err
		}
		a.headers[h] = t
	}
	if spec.Secret != "" {
		a.key = Key(spec.Secret)
	}
	return a, nil
}

// Key returns the HMAC key of a secret.
func Key(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return k
		}
	}
	return []byte(secret)
}

// Sign returns the webhook-signature value for a delivery.
func Sign(key []byte, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// request renders what one attempt sends.
func (a *Action) request(n *actions.Notification) (body []byte, headers http.Header, err error) {
	headers = http.Header{}
	headers.Set("Content-Type", "application/json")
	headers.Set("User-Agent", "leaderhook/1")
	switch {
	case a.spec.Format == "cloudevents":
		body, err = cloudEvent(n)
		headers.Set("Content-Type", "application/cloudevents+json")
	case a.body != nil:
		var b bytes.Buffer
		err = a.body.Execute(&b, n)
		body = b.Bytes()
	default:
		body, err = n.Payload()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("render body: %w", err)
	}
	for h, t := range a.headers {
		var b strings.Builder
		if err := t.Execute(&b, n); err != nil {
			return nil, nil, fmt.Errorf("render header %s: %w", h, err)
		}
		headers.Set(h, b.String())
	}
	headers.Set("webhook-id", n.DeliveryID)
	return body, headers, nil
}

// Run makes one attempt.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	body, headers, err := a.request(n)
	if err != nil {
		return actions.Outcome{}, actions.Permanent(err)
	}
	if a.key != nil {
		ts := a.now()
		headers.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		headers.Set("webhook-signature", Sign(a.key, n.DeliveryID, ts, body))
	}
	req, err := http.NewRequestWithContext(ctx, a.spec.Method, a.spec.URL, bytes.NewReader(body))
	if err != nil {
		return actions.Outcome{}, actions.Permanent(a.redacted(err))
	}
	req.Header = headers
	resp, err := a.client.Do(req)
	if err != nil {
		// Network errors and timeouts may pass: retry.
		return actions.Outcome{Detail: "no answer"}, a.redacted(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	out := actions.Outcome{HTTPStatus: resp.StatusCode, Detail: string(snippet)}
	return out, Classify(resp, a.redactor())
}

// Classify turns an HTTP answer into nil, a retryable error, a
// RetryAfterError or a permanent error. Slack uses it too.
func Classify(resp *http.Response, redact func(string) string) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("%s answered %s", redact(resp.Request.URL.String()), resp.Status)
	if code == http.StatusTooManyRequests || code >= 500 {
		if after, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &actions.RetryAfterError{Err: err, After: after}
		}
		return err
	}
	return actions.Permanent(err)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func (a *Action) redactor() func(string) string {
	return func(s string) string { return actions.Redact(s, a.spec.Secret) }
}

func (a *Action) redacted(err error) error {
	var urlErr interface{ Timeout() bool }
	timeout := errors.As(err, &urlErr) && urlErr.Timeout()
	msg := actions.Redact(err.Error(), a.spec.Secret)
	if timeout {
		return fmt.Errorf("timed out: %s", msg)
	}
	return errors.New(msg)
}

// Render shows what Run would send, with the secret and the URL's
// credentials and query redacted.
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	body, headers, err := a.request(n)
	if err != nil {
		return actions.Rendering{}, err
	}
	if a.key != nil {
		headers.Set("webhook-timestamp", "(at send time)")
		headers.Set("webhook-signature", "v1,(HMAC-SHA256 at send time)")
	}
	r := actions.Rendering{Kind: actions.KindWebhook, Method: a.spec.Method, URL: actions.Redact(a.spec.URL), Headers: map[string]string{}}
	for h := range headers {
		r.Headers[h] = actions.Redact(headers.Get(h), a.spec.Secret)
	}
	r.Body = actions.Redact(string(body), a.spec.Secret)
	return r, nil
}

// cloudEvent wraps the payload in a CloudEvents 1.0 structured envelope.
func cloudEvent(n *actions.Notification) ([]byte, error) {
	payload, err := n.Payload()
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"specversion":     "1.0",
		"id":              n.DeliveryID,
		"source":          "leaderhook/" + n.Cluster,
		"type":            "io.leaderhook.rule." + n.Status,
		"subject":         n.Rule,
		"time":            n.FiredAt.UTC().Format(time.RFC3339Nano),
		"datacontenttype": "application/json",
		"data":            json.RawMessage(payload),
	})
}
