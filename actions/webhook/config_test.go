package webhook_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
)

// hook is a valid webhook to break one key at a time.
func hook(edit func(*webhook.Config)) actions.Spec {
	c := webhook.Config{URL: "https://hooks.example/leader"}
	edit(&c)
	return actions.Spec{Type: webhook.Name, Config: c}
}

// problems writes errors as "path@offset: message".
func problems(spec actions.Spec) []string {
	var got []string
	for _, e := range spec.Validate() {
		got = append(got, e.Path+"@"+strconv.Itoa(e.Offset)+": "+e.Msg)
	}
	return got
}

func TestValidateAccepts(t *testing.T) {
	specs := map[string]actions.Spec{
		"every key": hook(func(c *webhook.Config) {
			c.Method = "put"
			c.Headers = map[string]string{"X-Cluster": "{{ .Cluster }}", "Authorization": "Bearer abc"}
			c.Body = "{\"cluster\": {{ json .Cluster }},\n \"leader\": {{ json .Event.leaderId }}}"
			c.Secret = "whsec_c2VjcmV0"
		}),
		"raw secret":  hook(func(c *webhook.Config) { c.Secret = "not base64 at all!" }),
		"cloudevents": hook(func(c *webhook.Config) { c.Format = "cloudevents" }),
		"json format": hook(func(c *webhook.Config) { c.Format = "json"; c.Method = "GET" }),
		"text body": hook(func(c *webhook.Config) {
			c.Body = "{{ .Rule }} on {{ .Cluster }}"
			c.Headers = map[string]string{"Content-Type": "text/plain"}
		}),
		// Bodies that are not JSON load, whatever the Content-Type: check
		// only warns (TestWarnings).
		"ntfy text body":  hook(func(c *webhook.Config) { c.Body = "Leader lost on {{ .Cluster }}" }),
		"ndjson body":     hook(func(c *webhook.Config) { c.Body = "{\"index\": {}}\n{\"rule\": {{ json .Rule }}}\n" }),
		"not JSON at all": hook(func(c *webhook.Config) { c.Body = `{"rule": {{ .Rule }}}` }),
	}
	for name, s := range specs {
		s.Timeout = 5 * time.Second
		s.Retry = actions.Retry{MaxAttempts: 6, InitialBackoff: time.Second, MaxBackoff: time.Minute}
		s.OnFailure = []string{"chat"}
		if errs := s.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		spec actions.Spec
		want []string // "path@offset: message"
	}{
		{"no url", hook(func(c *webhook.Config) { c.URL = "" }), []string{"url@-1: is required"}},
		{"ftp url", hook(func(c *webhook.Config) { c.URL = "ftp://h.example/x" }), []string{
			`url@-1: must be an http:// or https:// URL (got scheme "ftp")`}},
		{"relative url", hook(func(c *webhook.Config) { c.URL = "/hook" }), []string{
			"url@-1: must be an absolute http:// or https:// URL"}},
		{"url without scheme", hook(func(c *webhook.Config) { c.URL = "admin:pw@h.example/x" }), []string{
			"url@-1: must be an absolute http:// or https:// URL"}},
		{"url without host", hook(func(c *webhook.Config) { c.URL = "https:///x" }), []string{"url@-1: has no host"}},
		{"unparsable url", hook(func(c *webhook.Config) { c.URL = "https://h.example:port/x" }), []string{
			"url@-1: is not a valid URL"}},
		{"method", hook(func(c *webhook.Config) { c.Method = "FETCH" }), []string{
			`method@-1: unknown method "FETCH": GET, POST, PUT, PATCH, DELETE`}},
		{"head", hook(func(c *webhook.Config) { c.Method = "head" }), []string{
			`method@-1: unknown method "head": GET, POST, PUT, PATCH, DELETE`}},
		{"headers", hook(func(c *webhook.Config) {
			c.Headers = map[string]string{"X A": "ok", "X-B": "a\r\nInjected: 1", "X-C": "{{ .Rule ", "X-D": "{{ .cluster }}",
				"X-E": "bell\a", "X-F": "del\x7f", "X-G": "nul\x00", "X-Tab": "a\tb"}
		}), []string{
			`headers.X A@-1: "X A" is not a valid HTTP header name`,
			"headers.X-B@1: a header value cannot hold a control character (a tab aside): HTTP does not allow it",
			"headers.X-C@0: template: unclosed action",
			"headers.X-D@3: template: unknown field .cluster: did you mean .Cluster?",
			"headers.X-E@4: a header value cannot hold a control character (a tab aside): HTTP does not allow it",
			"headers.X-F@3: a header value cannot hold a control character (a tab aside): HTTP does not allow it",
			"headers.X-G@3: a header value cannot hold a control character (a tab aside): HTTP does not allow it"}},
		{"body: unknown field", hook(func(c *webhook.Config) { c.Body = `{"c": "{{ .Clustr }}"}` }), []string{
			`body@10: template: unknown field .Clustr (fields: .DeliveryID .Rule .Status .Cluster .Labels .FiredAt .Episode .EventType .Event .LeaderID .PreviousLeaderID .Leaderless .LeaderlessFor .MembersUp .MembersTotal .QuorumMargin .Unreachable .WatcherIsolated .ChangeKind .Leaders .SplitBrain .Term .Seq .DryRun .StateSince .LastOutage .Lasted .HeldBy .Failure .Summary)`}},
		{"body: error on line 3", hook(func(c *webhook.Config) { c.Body = "{\n  \"rule\": {{ json .Rule }},\n  \"ms\": {{ ms .Rule }}\n}" }), []string{
			`body@44: template: at <.Rule>: wrong type for value; expected time.Duration; got string`}},
		{"body: parse error on line 2", hook(func(c *webhook.Config) { c.Body = "{\n  {{ nope .Rule }}\n}" }), []string{
			`body@2: template: function "nope" not defined`}},
		{"body: wrong field of a field", hook(func(c *webhook.Config) { c.Body = "{{ .Rule.Name }}" }), []string{
			"body@8: template: at <.Rule.Name>: can't evaluate field Name in type string"}},
		{"format", hook(func(c *webhook.Config) { c.Format = "xml" }), []string{
			`format@-1: unknown format "xml": json (the default) or cloudevents`}},
		{"cloudevents with a body", hook(func(c *webhook.Config) { c.Format = "cloudevents"; c.Body = "x" }), []string{
			"body@-1: a cloudevents webhook sends the CloudEvents envelope; leave body out"}},
		{"whsec not base64", hook(func(c *webhook.Config) { c.Secret = "whsec_!!notbase64!!" }), []string{
			"secret@-1: starts with whsec_ but the rest is not base64 (the secret is not shown)"}},
		{"whsec empty", hook(func(c *webhook.Config) { c.Secret = "whsec_" }), []string{
			"secret@-1: starts with whsec_ but the rest is not base64 (the secret is not shown)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := problems(tc.spec); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}
}

// warnings writes a config's warnings as "path@offset: message".
func warnings(c webhook.Config) []string {
	var got []string
	for _, e := range c.Warnings() {
		got = append(got, e.Path+"@"+strconv.Itoa(e.Offset)+": "+e.Msg)
	}
	return got
}

func TestWarnings(t *testing.T) {
	const advice = ", while it is sent as JSON: insert strings with {{ json ... }}, " +
		"or set headers.Content-Type if the receiver takes another format"
	cases := []struct {
		name string
		edit func(*webhook.Config)
		want []string // "path@offset: message"
	}{
		{"default body", func(c *webhook.Config) {}, nil},
		{"JSON body", func(c *webhook.Config) { c.Body = `{"rule": {{ json .Rule }}}` }, nil},
		{"not JSON", func(c *webhook.Config) { c.Body = `{"rule": {{ .Rule }}}` }, []string{
			// The bad byte, the 'r' of rule, is the tenth: at 9 from 0.
			"body@-1: renders invalid JSON for a sample firing (invalid character 'r' looking for beginning of value, at byte 9 from 0)" + advice}},
		{"bad first byte", func(c *webhook.Config) { c.Body = `Leader lost on {{ .Cluster }}` }, []string{
			"body@-1: renders invalid JSON for a sample firing (invalid character 'L' looking for beginning of value, at byte 0 from 0)" + advice}},
		{"not JSON once resolved", func(c *webhook.Config) {
			c.Body = `{{ if eq .Status "resolved" }}{"ok": true{{ else }}{}{{ end }}`
			c.Headers = map[string]string{"content-type": "application/vnd.api+json"}
		}, []string{"body@-1: renders invalid JSON for a sample resolved (unexpected end of JSON input)" + advice}},
		{"empty for some statuses", func(c *webhook.Config) {
			c.Body = `{{ if eq .Status "firing" }}{"rule": {{ json .Rule }}}{{ end }}`
		}, nil},
		{"text content type", func(c *webhook.Config) {
			c.Body = "{{ .Rule }} on {{ .Cluster }}"
			c.Headers = map[string]string{"Content-Type": "text/plain"}
		}, nil},
		{"cloudevents", func(c *webhook.Config) { c.Format = "cloudevents" }, nil},
		{"a header that prints no value", func(c *webhook.Config) {
			c.Headers = map[string]string{"X-Leader": `{{ index .Event "leaderId" }}`}
		}, []string{`headers.X-Leader@3: template: {{ index .Event "leaderId" }} prints no value for a sample firing ` +
			`(a key the event lacks, or null), which fails the delivery; for a key it may lack, write default "…" (index .Event "key")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := webhook.Config{URL: "https://hooks.example/leader"}
			tc.edit(&c)
			if got := warnings(c); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}
}

// TestValidateOffsetsPointAtTheError checks offsets against the text
// rather than by number: they are what the config loader turns into a
// column.
func TestValidateOffsetsPointAtTheError(t *testing.T) {
	body := "{\n  \"cluster\": {{ json .Cluster }},\n  \"who\": {{ json .Leadr }}\n}"
	errs := hook(func(c *webhook.Config) { c.Body = body }).Validate()
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	if got := body[errs[0].Offset:]; !strings.HasPrefix(got, ".Leadr }}") {
		t.Errorf("offset %d points at %q", errs[0].Offset, got)
	}
}

func TestSecrets(t *testing.T) {
	c := webhook.Config{URL: "https://user:hunter2pass@h.example/x?token=s3cr3t%2Ftoken&v=1", Secret: "whsec_c2VjcmV0"}
	want := []string{"whsec_c2VjcmV0", "hunter2pass", "s3cr3t%2Ftoken", "s3cr3t/token"}
	if got := c.Secrets(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	headers := webhook.Config{URL: "https://h.example/x", Headers: map[string]string{
		"Authorization": "Bearer abcdefgh12345", "X-Api-Key": "k3y-0123456789", "X-Trace": "not-a-secret-value",
		"webhook-signature": "v1,placeholder-sig", "Cookie": "short"}}
	got := headers.Secrets()
	slices.Sort(got)
	if want := []string{"abcdefgh12345", "k3y-0123456789"}; !slices.Equal(got, want) {
		t.Errorf("credential headers: got %q, want %q", got, want)
	}
}

func TestDefaults(t *testing.T) {
	cases := []struct {
		name    string
		spec    actions.Spec
		method  string
		timeout time.Duration
		retry   actions.Retry
	}{
		{"nothing set", actions.Spec{Config: webhook.Config{}}, "POST", 10 * time.Second,
			actions.Retry{MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: time.Minute}},
		{"keeps what is set", actions.Spec{Config: webhook.Config{Method: "put"}, Timeout: time.Second,
			Retry: actions.Retry{MaxAttempts: 2, InitialBackoff: 5 * time.Minute}}, "PUT", time.Second,
			actions.Retry{MaxAttempts: 2, InitialBackoff: 5 * time.Minute, MaxBackoff: 5 * time.Minute}},
	}
	for _, tc := range cases {
		got := tc.spec.Defaults(webhook.Kind.Delivery)
		if c := got.Config.(webhook.Config); c.Method != tc.method || got.Timeout != tc.timeout || got.Retry != tc.retry {
			t.Errorf("%s: got %+v", tc.name, got)
		}
	}
}
