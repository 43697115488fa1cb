package actions

import (
	"net/url"
	"slices"
	"strings"

	"github.com/leaderhook/leaderhook/field"
)

// Validate checks the keys every action takes and the kind's Config.
// Paths are relative to the entry (`url`, `retry.max_attempts`,
// `command[1]`). Whether Type names a kind is for the registry
// (actions/kinds) to say.
func (s Spec) Validate() field.List {
	var errs field.List
	if s.Config != nil {
		errs = s.Config.Validate()
	}
	s.validateCommon(&errs)
	// The checks print no secret; text/template's messages quote the
	// action at fault, which is where a misplaced ${TOKEN} would be.
	secrets := slices.DeleteFunc(s.Secrets(), func(v string) bool { return len(v) < minRedacted })
	for _, e := range errs {
		e.Msg = Redact(e.Msg, secrets...)
	}
	return errs
}

func (s Spec) validateCommon(errs *field.List) {
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

// CheckTemplate reports a template error at the place in the value that
// text/template names. The message is text/template's, which quotes the
// action at fault but never the literal text around it, where an expanded
// secret would be.
func CheckTemplate(errs *field.List, path, text string) {
	if msg, off, ok := checkTemplate(text); !ok {
		errs.AddAt(path, off, "template: %s", msg)
	}
}

// CheckURL wants an absolute http(s) URL and never prints it: webhook URLs
// often carry tokens in their userinfo, query or (Slack) path.
func CheckURL(errs *field.List, key, raw string) {
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
