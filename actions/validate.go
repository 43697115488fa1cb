package actions

import (
	"errors"
	"io"
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

// CheckStrictTemplate warns of a template parsed with ParseStrict (a
// shell's command and env, a webhook's body and headers) that prints no
// value for a sample notification: the delivery would fail for good. A
// warning, not an error: the sample's event lacks keys that live events
// hold. Errors are CheckTemplate's.
func CheckStrictTemplate(warns *field.List, path, text string) {
	t, err := ParseStrict(checkName, text)
	if err != nil {
		return
	}
	for i := range samples {
		err := t.Execute(io.Discard, &samples[i])
		if !errors.Is(err, errNoValue) {
			continue
		}
		_, line, col := splitTemplateError(err.Error())
		off := offsetOf(text, line, col)
		warns.AddAt(path, off, "template: %s prints no value for a sample %s (a key the event lacks, or null), "+
			`which fails the delivery; for a key it may lack, write default "…" (index .Event "key")`,
			actionAt(text, off), samples[i].Status)
		return
	}
}

// actionAt returns the {{ action }} of text that holds offset, as written,
// or "a value" when there is none.
func actionAt(text string, offset int) string {
	if offset < 0 || offset >= len(text) {
		return "a value"
	}
	start := strings.LastIndex(text[:offset+1], "{{")
	if start < 0 {
		return "a value"
	}
	end := strings.Index(text[start:], "}}")
	if end < 0 {
		return "a value"
	}
	return text[start : start+end+2]
}
