package actions

import (
	"slices"
	"testing"

	"github.com/leaderhook/leaderhook/field"
)

func TestRedact(t *testing.T) {
	cases := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"secret", "key sekrit-key rejected", []string{"sekrit-key"}, "key REDACTED rejected"},
		{"every occurrence", "abc abc", []string{"abc"}, "REDACTED REDACTED"},
		{"short secrets too", "pin 42 refused", []string{"42"}, "pin REDACTED refused"},
		{"empty secret ignored", "nothing here", []string{""}, "nothing here"},
		{"longest first", "token abcdef", []string{"abc", "abcdef"}, "token REDACTED"},
		{"no second pass over REDACTED", "x=hunter2", []string{"hunter2", "RED"}, "x=REDACTED"},
		{"userinfo", `Post "https://user:pw@h.example/hook": EOF`, nil, `Post "https://REDACTED@h.example/hook": EOF`},
		{"query values keep their names", "GET https://h.example/x?token=abc&v=2#top failed", nil,
			"GET https://h.example/x?token=REDACTED&v=REDACTED#top failed"},
		{"bare query value", "https://h.example/x?s3cr3t", nil, "https://h.example/x?REDACTED"},
		{"url without secrets unchanged", "see https://h.example/docs/actions", nil, "see https://h.example/docs/actions"},
		{"any scheme", "dial ftp://u:p@h/x and postgres://app:pw@db:5432/x?sslmode=off", nil,
			"dial ftp://REDACTED@h/x and postgres://REDACTED@db:5432/x?sslmode=REDACTED"},
		{"malformed url", "https://u:p@h.example:port/x?t=1", nil, "https://REDACTED@h.example:port/x?t=REDACTED"},
		{"@ in the path is not userinfo", "https://h.example/users/@me", nil, "https://h.example/users/@me"},
		{"secret inside a url", "https://hooks.slack.com/services/T0/B0/xyz", []string{"https://hooks.slack.com/services/T0/B0/xyz"}, "REDACTED"},
		{"several urls", "https://a:b@h1/ then https://h2/?k=v", nil, "https://REDACTED@h1/ then https://h2/?k=REDACTED"},
	}
	for _, tc := range cases {
		if got := Redact(tc.in, tc.secrets...); got != tc.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.name, got, tc.want)
		}
	}
}

// stubConfig is the settings of a kind with one secret.
type stubConfig struct{ secret string }

func (c stubConfig) Validate() field.List {
	var errs field.List
	errs.Add("key", "%s is not %s", c.secret, "allowed")
	return errs
}
func (c stubConfig) Defaults() Config  { return c }
func (c stubConfig) Secrets() []string { return []string{c.secret} }

// A spec's secrets are its kind's and the long enough values that the
// environment put in its settings; validation never shows them.
func TestSpecSecrets(t *testing.T) {
	s := Spec{Type: "stub", Config: stubConfig{secret: "kind-secret"}, FromEnv: []string{"short", "from-the-environment"}}
	if got, want := s.Secrets(), []string{"from-the-environment", "kind-secret"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if errs := s.Validate(); len(errs) != 1 || errs[0].Msg != "REDACTED is not allowed" {
		t.Errorf("Validate: %v", errs)
	}
}

func TestHeaderSecret(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
		ok                bool
	}{
		{"Authorization", "Bearer abcdefgh12345", "abcdefgh12345", true},
		{"X-Api-Key", "k3y-0123456789", "k3y-0123456789", true},
		{"X-Trace", "not-a-secret-value", "", false},
		{"webhook-signature", "v1,placeholder-sig", "", false},
		{"Cookie", "short", "short", false},
	} {
		got, ok := HeaderSecret(tc.name, tc.value)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, ok)
		}
	}
}
