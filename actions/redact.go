package actions

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces what Redact hides.
const Redacted = "REDACTED"

// Redact replaces each non-empty secret in s, and the userinfo and query
// values of every URL in s, with REDACTED. Errors and renderings pass
// through it before they reach a log, the audit file or a dry run. What
// redacts often with the same secrets keeps a Redactor instead.
func Redact(s string, secrets ...string) string {
	return NewRedactor(secrets...).Redact(s)
}

// Redactor is Redact with its secrets fixed, built once per action (and
// again when a reload rebuilds it): sorting the secrets and building the
// replacer cost more than a replace, and every attempt redacts. The zero
// Redactor hides URLs' credentials and queries only.
type Redactor struct{ secrets *strings.Replacer }

// NewRedactor returns the Redactor of secrets.
func NewRedactor(secrets ...string) Redactor {
	return Redactor{secrets: secretReplacer(secrets)}
}

// Redact is Redact(s, secrets...) with r's secrets.
func (r Redactor) Redact(s string) string {
	if r.secrets != nil {
		s = r.secrets.Replace(s)
	}
	return urlPattern.ReplaceAllStringFunc(s, redactURL)
}

// secretReplacer replaces all secrets in one pass, longest first, so that a
// secret that contains another is hidden whole, and a secret such as "RED"
// is not looked for in the REDACTED put in place of another.
func secretReplacer(secrets []string) *strings.Replacer {
	sorted := slices.SortedFunc(slices.Values(secrets), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	var pairs []string
	for _, secret := range slices.Compact(sorted) {
		if secret != "" {
			pairs = append(pairs, secret, Redacted)
		}
	}
	if pairs == nil {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// urlPattern finds URLs of any scheme in free text; quotes and angle
// brackets end them, as in Go's `Post "https://…": EOF`.
var urlPattern = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'<>`]+")

// redactURL hides the userinfo and query values of one URL. It works on the
// text rather than through url.Parse, which rejects malformed URLs that may
// hold credentials all the same.
func redactURL(raw string) string {
	i := strings.Index(raw, "://") + len("://")
	scheme, rest := raw[:i], raw[i:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		rest = Redacted + rest[at:]
	}
	before, query, ok := strings.Cut(rest, "?")
	if !ok {
		return scheme + rest
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	if hasFragment {
		fragment = "#" + fragment
	}
	return scheme + before + "?" + redactQuery(query) + fragment
}

// redactQuery keeps the names of query parameters, which tell a reader
// which URL it is, and hides their values.
func redactQuery(q string) string {
	params := strings.Split(q, "&")
	for i, p := range params {
		name, _, hasValue := strings.Cut(p, "=")
		switch {
		case hasValue:
			params[i] = name + "=" + Redacted
		case p != "":
			params[i] = Redacted // ?TOKEN: a bare value
		}
	}
	return strings.Join(params, "&")
}

// minRedacted is the length below which a URL's password or query value
// is not taken for a secret, nor is any value hidden from a config error:
// short values (?v=1, whsec_ alone) are rarely credentials, and hiding them
// would blank ordinary words out of messages.
const minRedacted = 8

// Secrets returns the values of s that must never reach a log: those its
// kind's Config names, and what the environment put in its settings.
func (s Spec) Secrets() []string {
	out := s.EnvSecrets()
	if s.Config != nil {
		out = append(out, s.Config.Secrets()...)
	}
	return out
}

// EnvSecrets returns what the environment put in s's settings and is long
// enough to be taken for a secret: what a kind that picks its own secrets
// out of its Config adds to them.
func (s Spec) EnvSecrets() []string {
	var out []string
	for _, v := range s.FromEnv {
		if len(v) >= minRedacted {
			out = append(out, v)
		}
	}
	return out
}

// HeaderSecret returns the credential in a header's value, if its name
// says it carries one (see CredentialHeader): a receiver may echo it back
// in its answer, which the audit log keeps. An Authorization scheme
// ("Bearer") is left out, to stay readable; short values are not taken
// for credentials.
func HeaderSecret(name, value string) (string, bool) {
	if !CredentialHeader(name) {
		return "", false
	}
	if _, cred, ok := strings.Cut(value, " "); ok && isAuthorization(name) {
		value = cred
	}
	return value, len(value) >= minRedacted
}

// CredentialHeader reports whether a header, by its name, carries a
// credential: Authorization, cookies, and names with token, secret,
// password, api key, auth or signature in them. The Standard Webhooks
// headers (webhook-id, -timestamp, -signature) are not credentials.
func CredentialHeader(name string) bool {
	lower := strings.ToLower(name)
	if isAuthorization(lower) {
		return true
	}
	if strings.HasPrefix(lower, "webhook-") {
		return false
	}
	for _, s := range []string{"token", "secret", "password", "apikey", "api-key", "api_key", "auth", "signature", "cookie"} {
		if strings.Contains(lower, s) {
			return true
		}
	}
	return false
}

func isAuthorization(name string) bool {
	lower := strings.ToLower(name)
	return lower == "authorization" || lower == "proxy-authorization"
}

// URLSecrets returns the password and the query values of a URL, both as
// written and decoded, since a message may show either.
func URLSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var parts []string
	if pw, ok := u.User.Password(); ok {
		_, written, _ := strings.Cut(u.User.String(), ":")
		parts = append(parts, written, pw)
	}
	for _, param := range strings.Split(u.RawQuery, "&") {
		if _, value, ok := strings.Cut(param, "="); ok {
			param = value
		}
		decoded, _ := url.QueryUnescape(param)
		parts = append(parts, param, decoded)
	}
	parts = slices.Compact(parts) // written and decoded are mostly the same
	return slices.DeleteFunc(parts, func(p string) bool { return len(p) < minRedacted })
}
