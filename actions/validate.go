package actions

import (
	"encoding/base64"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/field"
)

// Defaults applied to what an action leaves out.
const (
	DefaultMethod         = "POST"
	DefaultHTTPTimeout    = 10 * time.Second
	DefaultShellTimeout   = time.Minute
	DefaultHTTPAttempts   = 5
	DefaultShellAttempts  = 1
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultKillGrace      = 5 * time.Second
	DefaultConcurrency    = 1
)

var (
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	headerName = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")
	slackID    = regexp.MustCompile(`^[CDG][A-Z0-9]{6,}$`)
	methods    = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
)

// Validate checks one action definition, templates included. Paths are
// relative to the entry (`url`, `retry.max_attempts`, `command[1]`).
// Messages never repeat a secret or a URL's credentials.
func (s *Spec) Validate() field.List {
	var errs field.List
	notFor := func(key string, set bool) {
		if set {
			errs.Add(key, "does not apply to a %s action", s.Type)
		}
	}
	webhookKeys := func() {
		notFor("url", s.URL != "")
		notFor("method", s.Method != "")
		notFor("headers", len(s.Headers) > 0)
		notFor("body", s.Body != "")
		notFor("secret", s.Secret != "")
		notFor("format", s.Format != "")
	}
	shellKeys := func() {
		notFor("command", len(s.Command) > 0)
		notFor("env", len(s.Env) > 0)
		notFor("dir", s.Dir != "")
		notFor("concurrency", s.Concurrency != 0)
		notFor("kill_grace", s.KillGrace != 0)
	}
	slackKeys := func() {
		notFor("webhook_url", s.WebhookURL != "")
		notFor("channel", s.Channel != "")
		notFor("username", s.Username != "")
		notFor("icon_emoji", s.IconEmoji != "")
		notFor("text", s.Text != "")
	}
	switch s.Type {
	case KindWebhook:
		shellKeys()
		slackKeys()
		s.validateWebhook(&errs)
	case KindShell:
		webhookKeys()
		slackKeys()
		s.validateShell(&errs)
	case KindSlack:
		webhookKeys()
		shellKeys()
		s.validateSlack(&errs)
	case "":
		errs.Add("type", "is required: webhook, shell or slack")
		return errs
	default:
		errs.Add("type", "unknown action type %q: webhook, shell or slack", s.Type)
		return errs
	}
	if s.Timeout < 0 {
		errs.Add("timeout", "must not be negative")
	}
	if s.Retry.MaxAttempts < 0 {
		errs.Add("retry.max_attempts", "must not be negative")
	}
	if s.Retry.InitialBackoff < 0 {
		errs.Add("retry.initial_backoff", "must not be negative")
	}
	if s.Retry.MaxBackoff < 0 {
		errs.Add("retry.max_backoff", "must not be negative")
	}
	if s.Retry.InitialBackoff > 0 && s.Retry.MaxBackoff > 0 && s.Retry.InitialBackoff > s.Retry.MaxBackoff {
		errs.Add("retry.initial_backoff", "is longer than max_backoff")
	}
	return errs
}

func (s *Spec) validateWebhook(errs *field.List) {
	checkURL(errs, "url", s.URL)
	if s.Method != "" && !slices.Contains(methods, strings.ToUpper(s.Method)) {
		errs.Add("method", "%q: one of %s", s.Method, strings.Join(methods, ", "))
	}
	for _, name := range sortedKeys(s.Headers) {
		path := "headers." + name
		if !headerName.MatchString(name) {
			errs.Add(path, "%q is not a valid HTTP header name", name)
		}
		checkTemplateAt(errs, path, s.Headers[name])
	}
	switch s.Format {
	case "", "json":
	case "cloudevents":
		if s.Body != "" {
			errs.Add("body", "a cloudevents webhook sends the CloudEvents envelope; leave body out")
		}
	default:
		errs.Add("format", "%q: json (the default) or cloudevents", s.Format)
	}
	if s.Body != "" {
		checkTemplateAt(errs, "body", s.Body)
	}
	if rest, ok := strings.CutPrefix(s.Secret, "whsec_"); ok {
		if _, err := base64.StdEncoding.DecodeString(rest); err != nil || rest == "" {
			errs.Add("secret", "starts with whsec_ but the rest is not base64 (the secret itself is not shown)")
		}
	}
}

func (s *Spec) validateShell(errs *field.List) {
	if len(s.Command) == 0 {
		errs.Add("command", `is required: the program and its arguments, e.g. [/usr/local/bin/failover.sh, "{{ .Cluster }}"]`)
	}
	for i, arg := range s.Command {
		path := "command[" + strconv.Itoa(i) + "]"
		if i == 0 {
			if arg == "" || strings.Contains(arg, "{{") {
				errs.Add(path, "the program must be a fixed path or name, not a template")
			}
			continue
		}
		checkTemplateAt(errs, path, arg)
	}
	for _, name := range sortedKeys(s.Env) {
		path := "env." + name
		switch {
		case !envName.MatchString(name):
			errs.Add(path, "%q is not an environment variable name", name)
		case strings.HasPrefix(name, "LEADERHOOK_"):
			errs.Add(path, "LEADERHOOK_ variables are set by leaderhook itself")
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

func (s *Spec) validateSlack(errs *field.List) {
	checkURL(errs, "webhook_url", s.WebhookURL)
	if c := s.Channel; c != "" && !strings.HasPrefix(c, "#") && !strings.HasPrefix(c, "@") && !slackID.MatchString(c) {
		errs.Add("channel", "%q: a #channel, an @user or a channel ID such as C0123456", c)
	}
	if s.Text != "" {
		checkTemplateAt(errs, "text", s.Text)
	}
}

func checkTemplateAt(errs *field.List, path, text string) {
	if msg, off, ok := checkTemplate(path, text); !ok {
		errs.AddAt(path, off, "template: %s", msg)
	}
}

// checkURL wants an absolute http(s) URL and never prints it: URLs of
// webhooks often carry tokens.
func checkURL(errs *field.List, key, raw string) {
	if raw == "" {
		errs.Add(key, "is required")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		errs.Add(key, "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		errs.Add(key, "must be an http:// or https:// URL (got scheme %q)", u.Scheme)
	case u.Host == "":
		errs.Add(key, "has no host")
	}
}

// Defaults returns a copy of s with what it leaves out filled in.
func (s Spec) Defaults() Spec {
	http := s.Type != KindShell
	if http && s.Method == "" {
		s.Method = DefaultMethod
	}
	s.Method = strings.ToUpper(s.Method)
	if s.Timeout == 0 {
		s.Timeout = map[bool]time.Duration{true: DefaultHTTPTimeout, false: DefaultShellTimeout}[http]
	}
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = map[bool]int{true: DefaultHTTPAttempts, false: DefaultShellAttempts}[http]
	}
	if s.Retry.InitialBackoff == 0 {
		s.Retry.InitialBackoff = DefaultInitialBackoff
	}
	if s.Retry.MaxBackoff == 0 {
		s.Retry.MaxBackoff = max(DefaultMaxBackoff, s.Retry.InitialBackoff)
	}
	if s.Type == KindShell {
		if s.Concurrency == 0 {
			s.Concurrency = DefaultConcurrency
		}
		if s.KillGrace == 0 {
			s.KillGrace = DefaultKillGrace
		}
	}
	return s
}

// Redact replaces each secret, and the credentials and query of any URL in
// s, with REDACTED, for logs and errors.
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	return urlSecrets.ReplaceAllStringFunc(s, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return raw
		}
		if u.User != nil {
			u.User = url.User("REDACTED")
		}
		if u.RawQuery != "" {
			u.RawQuery = "REDACTED"
		}
		return u.String()
	})
}

var urlSecrets = regexp.MustCompile(`https?://[^\s"'<>]+`)

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
