package webhook

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of webhook actions.
const Name = "webhook"

// Kind describes webhook actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: actions.HTTPDelivery,
	New: func(name string, spec actions.Spec, opts actions.Options) (actions.Action, error) {
		return New(name, spec, opts.Client)
	},
	Docs: map[string]string{
		"url":     "the endpoint (http or https).",
		"method":  "GET, POST (default), PUT, PATCH or DELETE. GET and DELETE send no body and no Content-Type unless `body` (or `format: cloudevents`) says what to send; a signature then covers the empty body.",
		"headers": "extra headers; values are templates. What a value inserts is sent with control characters escaped (`\\n`, `\\x00`...), so that an id holding a newline cannot add a header nor fail the delivery.",
		"body":    "body template. Default: the JSON payload (none for GET and DELETE). It is sent as `application/json` unless `headers` sets `Content-Type`; while it is JSON, check warns of a body that renders invalid JSON (and is not empty) for a sample notification (insert strings with `{{ json .Summary }}`); a receiver that takes text or NDJSON whatever the Content-Type (ntfy, Elasticsearch `_bulk`) works all the same.",
		"secret":  "Standard Webhooks signing secret (`whsec_` + base64, or raw bytes).",
		"format":  "`json` (default) or `cloudevents` (CloudEvents 1.0 structured).",
	},
	Enums:     map[string][]string{"method": methods, "format": formats},
	PlainKeys: []string{"url", "method", "format"},
}

// DefaultMethod is the method of a webhook that names none.
const DefaultMethod = "POST"

// Methods a webhook may use, and its formats.
var (
	methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	formats = []string{"json", "cloudevents"}
)

// Config is the settings of a webhook action.
type Config struct {
	URL     string            `koanf:"url" json:"url,omitempty"`
	Method  string            `koanf:"method" json:"method,omitempty"`
	Headers map[string]string `koanf:"headers" json:"headers,omitempty"`
	Body    string            `koanf:"body" json:"body,omitempty"`
	Secret  string            `koanf:"secret" json:"secret,omitempty"`
	Format  string            `koanf:"format" json:"format,omitempty"`
}

// Validate checks the settings without ever printing the URL, a header
// value or the secret.
func (c Config) Validate() field.List {
	var errs field.List
	actions.CheckURL(&errs, "url", c.URL)
	if c.Method != "" && !slices.Contains(methods, strings.ToUpper(c.Method)) {
		errs.Add("method", "unknown method %q: %s", c.Method, strings.Join(methods, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		path := "headers." + name
		if !validHeaderName(name) {
			errs.Add(path, "%q is not a valid HTTP header name", name)
		}
		value := c.Headers[name]
		if i := controlCharAt(value); i >= 0 {
			errs.AddAt(path, i, "a header value cannot hold a control character (a tab aside): HTTP does not allow it")
		}
		actions.CheckTemplate(&errs, path, value)
	}
	switch c.Format {
	case "", "json":
	case "cloudevents":
		if c.Body != "" {
			errs.Add("body", "a cloudevents webhook sends the CloudEvents envelope; leave body out")
		}
	default:
		errs.Add("format", "unknown format %q: json (the default) or cloudevents", c.Format)
	}
	if c.Body != "" {
		actions.CheckTemplate(&errs, "body", c.Body)
	}
	if rest, ok := strings.CutPrefix(c.Secret, "whsec_"); ok {
		if _, err := base64.StdEncoding.DecodeString(rest); err != nil || rest == "" {
			errs.Add("secret", "starts with whsec_ but the rest is not base64 (the secret is not shown)")
		}
	}
	return errs
}

// Warnings: a body that renders invalid JSON for a sample notification
// while it is sent as JSON. Not an error: some receivers take text or
// NDJSON whatever the Content-Type says (ntfy, Elasticsearch's _bulk),
// and a body may render nothing for a status it is not meant for. Neither
// the body nor the Content-Type header's value is shown.
func (c Config) Warnings() field.List {
	var warns field.List
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		actions.CheckStrictTemplate(&warns, "headers."+name, c.Headers[name])
	}
	if c.Body != "" && c.Format != "cloudevents" {
		actions.CheckStrictTemplate(&warns, "body", c.Body)
	}
	if c.Body == "" || c.Format == "cloudevents" || !isJSONType(c.contentType()) {
		return warns
	}
	renderings, ok := actions.SampleOutputs(c.Body)
	if !ok {
		return warns // Validate says why
	}
	for _, r := range renderings {
		if strings.TrimSpace(r.Out) == "" {
			continue
		}
		if why := jsonProblem(r.Out); why != "" {
			warns.Add("body", "renders invalid JSON for a sample %s (%s), while it is sent as JSON: "+
				"insert strings with {{ json ... }}, or set headers.Content-Type if the receiver takes another format",
				r.Status, why)
			break
		}
	}
	return warns
}

// jsonProblem says why out is not JSON, and where, or returns "".
func jsonProblem(out string) string {
	var v any
	err := json.Unmarshal([]byte(out), &v)
	if err == nil {
		return ""
	}
	why := err.Error()
	var syntax *json.SyntaxError
	// Offset counts the bytes read, the bad one included; at the end of
	// the input there is no bad byte to point at.
	if errors.As(err, &syntax) && syntax.Offset > 0 && !strings.HasPrefix(why, "unexpected end") {
		why += fmt.Sprintf(", at byte %d from 0", syntax.Offset-1)
	}
	return why
}

// contentType is the Content-Type the body is sent with: a header's, as
// the sample renders it, or JSON.
func (c Config) contentType() string {
	for name, value := range c.Headers {
		if strings.EqualFold(name, "Content-Type") {
			if out, ok := actions.SampleOutput(value); ok {
				return out
			}
			return value
		}
	}
	return ContentTypeJSON
}

// isJSONType reports whether a Content-Type says JSON: application/json,
// or a +json type (application/vnd.api+json).
func isJSONType(contentType string) bool {
	media, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	media = strings.TrimSpace(media)
	return media == ContentTypeJSON || strings.HasSuffix(media, "+json")
}

// validHeaderName is the token rule of RFC 9110 that net/http applies: a
// request with any other name fails at every attempt.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Defaults fills in the method, in capitals.
func (c Config) Defaults() actions.Config {
	if c.Method == "" {
		c.Method = DefaultMethod
	}
	c.Method = strings.ToUpper(c.Method)
	return c
}

// Secrets returns the signing secret, the password and query values of the
// URL, and the credentials of headers such as Authorization.
func (c Config) Secrets() []string {
	var out []string
	if c.Secret != "" {
		out = append(out, c.Secret)
	}
	out = append(out, actions.URLSecrets(c.URL)...)
	for name, value := range c.Headers {
		if cred, ok := actions.HeaderSecret(name, value); ok {
			out = append(out, cred)
		}
	}
	return out
}
