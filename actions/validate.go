package actions

import (
	"encoding/base64"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/field"
)

// Defaults applied to what an action leaves out (SPEC §8).
const (
	DefaultMethod         = "POST"
	DefaultHTTPTimeout    = 10 * time.Second // webhook, slack
	DefaultShellTimeout   = time.Minute
	DefaultHTTPAttempts   = 5 // webhook, slack
	DefaultShellAttempts  = 1 // a script is not assumed to be safe to rerun
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultConcurrency    = 1 // shell: runs in firing order
	DefaultKillGrace      = 5 * time.Second
)

// Methods a webhook may use.
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// kindKey is a key that only one kind of action takes.
type kindKey struct {
	kind, key string
	set       func(*Spec) bool
}

// kindKeys lists them in the order of Spec, which is the order errors
// about them come in.
var kindKeys = []kindKey{
	{KindWebhook, "url", func(s *Spec) bool { return s.URL != "" }},
	{KindWebhook, "method", func(s *Spec) bool { return s.Method != "" }},
	{KindWebhook, "headers", func(s *Spec) bool { return len(s.Headers) > 0 }},
	{KindWebhook, "body", func(s *Spec) bool { return s.Body != "" }},
	{KindWebhook, "secret", func(s *Spec) bool { return s.Secret != "" }},
	{KindWebhook, "format", func(s *Spec) bool { return s.Format != "" }},
	{KindShell, "command", func(s *Spec) bool { return len(s.Command) > 0 }},
	{KindShell, "env", func(s *Spec) bool { return len(s.Env) > 0 }},
	{KindShell, "dir", func(s *Spec) bool { return s.Dir != "" }},
	{KindShell, "concurrency", func(s *Spec) bool { return s.Concurrency != 0 }},
	{KindShell, "kill_grace", func(s *Spec) bool { return s.KillGrace != 0 }},
	{KindSlack, "webhook_url", func(s *Spec) bool { return s.WebhookURL != "" }},
	{KindSlack, "channel", func(s *Spec) bool { return s.Channel != "" }},
	{KindSlack, "username", func(s *Spec) bool { return s.Username != "" }},
	{KindSlack, "icon_emoji", func(s *Spec) bool { return s.IconEmoji != "" }},
	{KindSlack, "text", func(s *Spec) bool { return s.Text != "" }},
}

// Validate checks one action definition, templates included. Paths are
// relative to the entry (`url`, `retry.max_attempts`, `command[1]`).
// Messages never repeat a secret, a URL or a header value: after ${ENV}
// expansion any of them may hold a credential, and config errors end up in
// logs.
func (s *Spec) Validate() field.List {
	var errs field.List
	switch s.Type {
	case KindWebhook:
		s.validateWebhook(&errs)
	case KindShell:
		s.validateShell(&errs)
	case KindSlack:
		s.validateSlack(&errs)
	case "":
		errs.Add("type", "is required: webhook, shell or slack")
		return errs
	default:
		errs.Add("type", "unknown action type %q: webhook, shell or slack", s.Type)
		return errs
	}
	for _, k := range kindKeys {
		if k.kind != s.Type && k.set(s) {
			errs.Add(k.key, "does not apply to a %s action (%s only)", s.Type, k.kind)
		}
	}
	s.validateCommon(&errs)
	// The checks above print no secret; text/template's messages quote the
	// action at fault, which is where a misplaced ${TOKEN} would be.
	secrets := slices.DeleteFunc(s.Secrets(), func(v string) bool { return len(v) < minRedacted })
	for _, e := range errs {
		e.Msg = Redact(e.Msg, secrets...)
	}
	return errs
}

func (s *Spec) validateWebhook(errs *field.List) {
	checkURL(errs, "url", s.URL)
	if s.Method != "" && !slices.Contains(methods, strings.ToUpper(s.Method)) {
		errs.Add("method", "unknown method %q: %s", s.Method, strings.Join(methods, ", "))
	}
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		path := "headers." + name
		if !validHeaderName(name) {
			errs.Add(path, "%q is not a valid HTTP header name", name)
		}
		value := s.Headers[name]
		if i := strings.IndexAny(value, "\r\n\x00"); i >= 0 {
			errs.AddAt(path, i, "a header value cannot hold a line break or NUL")
		}
		checkTemplateAt(errs, path, value)
	}
	switch s.Format {
	case "", "json":
	case "cloudevents":
		if s.Body != "" {
			errs.Add("body", "a cloudevents webhook sends the CloudEvents envelope; leave body out")
		}
	default:
		errs.Add("format", "unknown format %q: json (the default) or cloudevents", s.Format)
	}
	if s.Body != "" {
		checkTemplateAt(errs, "body", s.Body)
	}
	if rest, ok := strings.CutPrefix(s.Secret, "whsec_"); ok {
		if _, err := base64.StdEncoding.DecodeString(rest); err != nil || rest == "" {
			errs.Add("secret", "starts with whsec_ but the rest is not base64 (the secret is not shown)")
		}
	}
}

func (s *Spec) validateShell(errs *field.List) {
	if len(s.Command) == 0 {
		errs.Add("command", `is required: the program and its arguments, e.g. [/usr/local/bin/failover.sh, "{{ .Cluster }}"]`)
		return
	}
	checkProgram(errs, s.Command[0], s.Dir)
	for i, arg := range s.Command[1:] {
		checkTemplateAt(errs, "command["+strconv.Itoa(i+1)+"]", arg)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Env)) {
		path := "env." + name
		switch {
		case !envName.MatchString(name):
			errs.Add(path, "%q is not an environment variable name (letters, digits and _, not starting with a digit)", name)
		case strings.HasPrefix(name, "LEADERHOOK_"):
			errs.Add(path, "LEADERHOOK_ variables are reserved: leaderhook sets them itself")
		}
		checkTemplateAt(errs, path, s.Env[name])
	}
	if s.Concurrency < 0 {
		errs.Add("concurrency", "must not be negative")
	}
	if s.KillGrace < 0 {
		errs.Add("kill_grace", "must not be negative")
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkProgram wants the program fixed, because a program chosen by event
// data would let whoever writes events choose what runs; and absolute, a
// bare name looked up in PATH, or relative to dir, because a path relative
// to nothing would depend on where leaderhook was started.
func checkProgram(errs *field.List, prog, dir string) {
	const path = "command[0]"
	switch {
	case prog == "":
		errs.Add(path, "the program is empty")
	case strings.Contains(prog, "{{"):
		errs.Add(path, "the program must be a fixed path or name, not a template")
	case filepath.IsAbs(prog):
	case strings.ContainsAny(prog, " \t"):
		// Not quoted: a pasted command line may carry a password.
		errs.Add(path, "looks like a command line: list the program and each argument as separate items")
	case strings.Contains(prog, "/") && dir == "":
		errs.Add(path, "is a relative path but dir is not set: use an absolute path, a bare name to look up in PATH, or set dir")
	}
}

func (s *Spec) validateSlack(errs *field.List) {
	checkURL(errs, "webhook_url", s.WebhookURL)
	if c := s.Channel; c != "" && !strings.HasPrefix(c, "#") && !strings.HasPrefix(c, "@") && !isSlackID(c) {
		errs.Add("channel", "%q: use #channel, @user or a channel ID such as C0123ABCD", c)
	}
	if s.Text != "" {
		checkTemplateAt(errs, "text", s.Text)
	}
}

var slackID = regexp.MustCompile(`^[CDG][A-Z0-9]{4,}$`)

// isSlackID recognises conversation IDs (C0123ABCD, G…, D…). Requiring a
// digit keeps a channel name typed in capitals without its '#' (GENERAL)
// from passing as an ID.
func isSlackID(s string) bool {
	return slackID.MatchString(s) && strings.ContainsAny(s, "0123456789")
}

func (s *Spec) validateCommon(errs *field.List) {
	if s.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	r := s.Retry
	if r.MaxAttempts < 0 {
		errs.Add("retry.max_attempts", "must not be negative")
	}
	if r.InitialBackoff < 0 {
		errs.Add("retry.initial_backoff", "must not be negative")
	}
	if r.MaxBackoff < 0 {
		errs.Add("retry.max_backoff", "must not be negative")
	}
	if r.InitialBackoff > 0 && r.MaxBackoff > 0 && r.InitialBackoff > r.MaxBackoff {
		errs.Add("retry.initial_backoff", "%s is longer than max_backoff (%s)", r.InitialBackoff, r.MaxBackoff)
	}
}

// checkTemplateAt reports a template error at the place in the value that
// text/template names. The message is text/template's, which quotes the
// action at fault but never the literal text around it, where an expanded
// secret would be.
func checkTemplateAt(errs *field.List, path, text string) {
	if msg, off, ok := checkTemplate(text); !ok {
		errs.AddAt(path, off, "template: %s", msg)
	}
}

// checkURL wants an absolute http(s) URL and never prints it: webhook URLs
// often carry tokens in their userinfo, query or (Slack) path.
func checkURL(errs *field.List, key, raw string) {
	if raw == "" {
		errs.Add(key, "is required")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// url.Parse's error quotes the URL.
		errs.Add(key, "is not a valid URL")
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" {
			errs.Add(key, "has no host")
		}
	case strings.HasPrefix(strings.ToLower(raw), u.Scheme+"://"):
		errs.Add(key, "must be an http:// or https:// URL (got scheme %q)", u.Scheme)
	default:
		// No "://": what url.Parse took for a scheme may be the user
		// name of "user:password@host", so it is not shown.
		errs.Add(key, "must be an absolute http:// or https:// URL")
	}
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

// Defaults returns a copy of s with what it leaves out filled in. Only the
// keys of s's kind are filled, so the result still validates. It takes a
// value so that it works on map entries and literals.
func (s Spec) Defaults() Spec {
	shell := s.Type == KindShell
	if s.Type == KindWebhook {
		if s.Method == "" {
			s.Method = DefaultMethod
		}
		s.Method = strings.ToUpper(s.Method)
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultHTTPTimeout
		if shell {
			s.Timeout = DefaultShellTimeout
		}
	}
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = DefaultHTTPAttempts
		if shell {
			s.Retry.MaxAttempts = DefaultShellAttempts
		}
	}
	if s.Retry.InitialBackoff == 0 {
		s.Retry.InitialBackoff = DefaultInitialBackoff
	}
	if s.Retry.MaxBackoff == 0 {
		// An initial backoff above the default maximum raises the maximum
		// rather than being cut down by it.
		s.Retry.MaxBackoff = max(DefaultMaxBackoff, s.Retry.InitialBackoff)
	}
	if shell {
		if s.Concurrency == 0 {
			s.Concurrency = DefaultConcurrency
		}
		if s.KillGrace == 0 {
			s.KillGrace = DefaultKillGrace
		}
	}
	return s
}
