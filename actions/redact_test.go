package actions

import (
	"slices"
	"testing"
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

func TestSecrets(t *testing.T) {
	s := Spec{Type: KindWebhook, URL: "https://user:hunter2pass@h.example/x?token=s3cr3t%2Ftoken&v=1", Secret: "whsec_c2VjcmV0"}
	got := s.Secrets()
	want := []string{"whsec_c2VjcmV0", "hunter2pass", "s3cr3t%2Ftoken", "s3cr3t/token"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	slack := Spec{Type: KindSlack, WebhookURL: "https://hooks.slack.com/services/T0/B0/xyz"}
	if got := slack.Secrets(); !slices.Equal(got, []string{slack.WebhookURL}) {
		t.Errorf("slack: got %q", got)
	}
	headers := Spec{Type: KindWebhook, URL: "https://h.example/x", Headers: map[string]string{
		"Authorization": "Bearer abcdefgh12345", "X-Api-Key": "k3y-0123456789", "X-Trace": "not-a-secret-value",
		"webhook-signature": "v1,placeholder-sig", "Cookie": "short"}}
	got = headers.Secrets()
	slices.Sort(got)
	if want := []string{"abcdefgh12345", "k3y-0123456789"}; !slices.Equal(got, want) {
		t.Errorf("credential headers: got %q, want %q", got, want)
	}
}
