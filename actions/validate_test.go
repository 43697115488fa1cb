package actions

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// hook is a valid webhook to break one key at a time.
func hook(edit func(*Spec)) Spec {
	s := Spec{Type: KindWebhook, URL: "https://hooks.example/leader"}
	edit(&s)
	return s
}

func shellSpec(edit func(*Spec)) Spec {
	s := Spec{Type: KindShell, Command: []string{"/usr/local/bin/failover.sh", "{{ .Cluster }}"}}
	edit(&s)
	return s
}

func slackSpec(edit func(*Spec)) Spec {
	s := Spec{Type: KindSlack, WebhookURL: "https://hooks.slack.example/services/T0/B0/x"}
	edit(&s)
	return s
}

func TestValidateAccepts(t *testing.T) {
	specs := map[string]Spec{
		"webhook, every key": hook(func(s *Spec) {
			s.Method = "put"
			s.Headers = map[string]string{"X-Cluster": "{{ .Cluster }}", "Authorization": "Bearer abc"}
			s.Body = "{\"cluster\": {{ json .Cluster }},\n \"leader\": {{ json .Event.leaderId }}}"
			s.Secret = "whsec_c2VjcmV0"
			s.Timeout = 5 * time.Second
			s.Retry = Retry{MaxAttempts: 6, InitialBackoff: time.Second, MaxBackoff: time.Minute}
			s.OnFailure = []string{"chat"}
		}),
		"webhook, raw secret":  hook(func(s *Spec) { s.Secret = "not base64 at all!" }),
		"webhook, cloudevents": hook(func(s *Spec) { s.Format = "cloudevents" }),
		"webhook, json format": hook(func(s *Spec) { s.Format = "json"; s.Method = "GET" }),
		"shell, every key": shellSpec(func(s *Spec) {
			s.Command = []string{"failover.sh", "--cluster={{ .Cluster }}", "{{ .PreviousLeaderID }}"}
			s.Env = map[string]string{"MODE": "{{ .Status }}", "_TEAM": "{{ .Labels.team }}"}
			s.Dir = "/var/lib/leaderhook"
			s.Concurrency = 4
			s.KillGrace = time.Second
		}),
		"shell, program relative to dir":       shellSpec(func(s *Spec) { s.Command = []string{"./failover.sh"}; s.Dir = "/opt/hooks" }),
		"shell, absolute program with a space": shellSpec(func(s *Spec) { s.Command = []string{"/opt/My Scripts/page.sh"} }),
		"slack, every key": slackSpec(func(s *Spec) {
			s.Channel = "#ops"
			s.Username = "leaderhook"
			s.IconEmoji = ":rotating_light:"
			s.Text = `{{ upper .Status }}: {{ default "no leader" (index .Event "leaderId") }} {{ .Event.members | join ", " }}`
		}),
		"slack, user":       slackSpec(func(s *Spec) { s.Channel = "@oncall" }),
		"slack, channel ID": slackSpec(func(s *Spec) { s.Channel = "C0123" }),
	}
	for name, s := range specs {
		if errs := s.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want []string // "path@offset: message"
	}{
		{"no type", Spec{URL: "https://h/x"}, []string{
			"type@-1: is required: webhook, shell or slack"}},
		{"unknown type", Spec{Type: "email"}, []string{
			`type@-1: unknown action type "email": webhook, shell or slack`}},
		{"shell and slack keys on a webhook", hook(func(s *Spec) {
			s.Command = []string{"x"}
			s.KillGrace = time.Second
			s.Channel = "#a"
		}), []string{
			"command@-1: does not apply to a webhook action (shell only)",
			"kill_grace@-1: does not apply to a webhook action (shell only)",
			"channel@-1: does not apply to a webhook action (slack only)"}},
		{"webhook keys on a shell", shellSpec(func(s *Spec) { s.URL = "https://h/x"; s.Headers = map[string]string{"A": "b"} }), []string{
			"url@-1: does not apply to a shell action (webhook only)",
			"headers@-1: does not apply to a shell action (webhook only)"}},
		{"webhook keys on slack", slackSpec(func(s *Spec) { s.Body = "x"; s.Concurrency = 2 }), []string{
			"body@-1: does not apply to a slack action (webhook only)",
			"concurrency@-1: does not apply to a slack action (shell only)"}},

		{"no url", hook(func(s *Spec) { s.URL = "" }), []string{"url@-1: is required"}},
		{"ftp url", hook(func(s *Spec) { s.URL = "ftp://h.example/x" }), []string{
			`url@-1: must be an http:// or https:// URL (got scheme "ftp")`}},
		{"relative url", hook(func(s *Spec) { s.URL = "/hook" }), []string{
			"url@-1: must be an absolute http:// or https:// URL"}},
		{"url without scheme", hook(func(s *Spec) { s.URL = "admin:pw@h.example/x" }), []string{
			"url@-1: must be an absolute http:// or https:// URL"}},
		{"url without host", hook(func(s *Spec) { s.URL = "https:///x" }), []string{"url@-1: has no host"}},
		{"unparsable url", hook(func(s *Spec) { s.URL = "https://h.example:port/x" }), []string{
			"url@-1: is not a valid URL"}},
		{"method", hook(func(s *Spec) { s.Method = "FETCH" }), []string{
			`method@-1: unknown method "FETCH": GET, POST, PUT, PATCH, DELETE`}},
		{"headers", hook(func(s *Spec) {
			s.Headers = map[string]string{"X A": "ok", "X-B": "a\r\nInjected: 1", "X-C": "{{ .Rule ", "X-D": "{{ .cluster }}"}
		}), []string{
			`headers.X A@-1: "X A" is not a valid HTTP header name`,
			"headers.X-B@1: a header value cannot hold a line break or NUL",
			"headers.X-C@0: template: unclosed action",
			"headers.X-D@3: template: unknown field .cluster: did you mean .Cluster?"}},
		{"body: unknown field", hook(func(s *Spec) { s.Body = `{"c": "{{ .Clustr }}"}` }), []string{
			`body@10: template: unknown field .Clustr (fields: .DeliveryID .Rule .Status .Cluster .Labels .FiredAt .EventType .Event .LeaderID .PreviousLeaderID .Leaderless .LeaderlessFor .DryRun)`}},
		{"body: error on line 3", hook(func(s *Spec) { s.Body = "{\n  \"rule\": {{ json .Rule }},\n  \"ms\": {{ ms .Rule }}\n}" }), []string{
			`body@44: template: at <.Rule>: wrong type for value; expected time.Duration; got string`}},
		{"body: parse error on line 2", hook(func(s *Spec) { s.Body = "{\n  {{ nope .Rule }}\n}" }), []string{
			`body@2: template: function "nope" not defined`}},
		{"body: wrong field of a field", hook(func(s *Spec) { s.Body = "{{ .Rule.Name }}" }), []string{
			"body@8: template: at <.Rule.Name>: can't evaluate field Name in type string"}},
		{"format", hook(func(s *Spec) { s.Format = "xml" }), []string{
			`format@-1: unknown format "xml": json (the default) or cloudevents`}},
		{"cloudevents with a body", hook(func(s *Spec) { s.Format = "cloudevents"; s.Body = "x" }), []string{
			"body@-1: a cloudevents webhook sends the CloudEvents envelope; leave body out"}},
		{"whsec not base64", hook(func(s *Spec) { s.Secret = "whsec_!!notbase64!!" }), []string{
			"secret@-1: starts with whsec_ but the rest is not base64 (the secret is not shown)"}},
		{"whsec empty", hook(func(s *Spec) { s.Secret = "whsec_" }), []string{
			"secret@-1: starts with whsec_ but the rest is not base64 (the secret is not shown)"}},

		{"no command", shellSpec(func(s *Spec) { s.Command = nil }), []string{
			`command@-1: is required: the program and its arguments, e.g. [/usr/local/bin/failover.sh, "{{ .Cluster }}"]`}},
		{"empty program", shellSpec(func(s *Spec) { s.Command = []string{""} }), []string{
			"command[0]@-1: the program is empty"}},
		{"program as template", shellSpec(func(s *Spec) { s.Command = []string{"{{ .Rule }}"} }), []string{
			"command[0]@-1: the program must be a fixed path or name, not a template"}},
		{"relative program", shellSpec(func(s *Spec) { s.Command = []string{"scripts/failover.sh"} }), []string{
			"command[0]@-1: is a relative path but dir is not set: use an absolute path, a bare name to look up in PATH, or set dir"}},
		{"command line as program", shellSpec(func(s *Spec) { s.Command = []string{"failover.sh --force"} }), []string{
			"command[0]@-1: looks like a command line: list the program and each argument as separate items"}},
		{"argument template", shellSpec(func(s *Spec) { s.Command = []string{"echo", "ok", "--id={{ .LeaderId }}"} }), []string{
			"command[2]@8: template: unknown field .LeaderId: did you mean .LeaderID?"}},
		{"env", shellSpec(func(s *Spec) {
			s.Env = map[string]string{"LEADERHOOK_X": "a", "1BAD": "b", "OK": "{{ end }}"}
		}), []string{
			`env.1BAD@-1: "1BAD" is not an environment variable name (letters, digits and _, not starting with a digit)`,
			"env.LEADERHOOK_X@-1: LEADERHOOK_ variables are reserved: leaderhook sets them itself",
			"env.OK@0: template: unexpected {{end}}"}},
		{"negative concurrency and grace", shellSpec(func(s *Spec) { s.Concurrency = -1; s.KillGrace = -time.Second }), []string{
			"concurrency@-1: must not be negative",
			"kill_grace@-1: must not be negative"}},

		{"no webhook_url", Spec{Type: KindSlack}, []string{"webhook_url@-1: is required"}},
		{"slack channel name", slackSpec(func(s *Spec) { s.Channel = "ops" }), []string{
			`channel@-1: "ops": use #channel, @user or a channel ID such as C0123ABCD`}},
		{"slack channel in capitals", slackSpec(func(s *Spec) { s.Channel = "GENERAL" }), []string{
			`channel@-1: "GENERAL": use #channel, @user or a channel ID such as C0123ABCD`}},
		{"slack text", slackSpec(func(s *Spec) { s.Text = "{{ .Rule | frobnicate }}" }), []string{
			`text@0: template: function "frobnicate" not defined`}},

		{"negative timeout and retry", slackSpec(func(s *Spec) {
			s.Timeout = -1
			s.Retry = Retry{MaxAttempts: -1, InitialBackoff: -1, MaxBackoff: -1}
		}), []string{
			"timeout@-1: must not be negative",
			"retry.max_attempts@-1: must not be negative",
			"retry.initial_backoff@-1: must not be negative",
			"retry.max_backoff@-1: must not be negative"}},
		{"initial backoff above max", shellSpec(func(s *Spec) { s.Retry = Retry{InitialBackoff: time.Minute, MaxBackoff: time.Second} }), []string{
			"retry.initial_backoff@-1: 1m0s is longer than max_backoff (1s)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range tc.spec.Validate() {
				got = append(got, e.Path+"@"+strconv.Itoa(e.Offset)+": "+e.Msg)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
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
	s := hook(func(s *Spec) { s.Body = body })
	errs := s.Validate()
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	if got := body[errs[0].Offset:]; !strings.HasPrefix(got, ".Leadr }}") {
		t.Errorf("offset %d points at %q", errs[0].Offset, got)
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	const (
		password = "hunter2pass"
		token    = "s3cr3ttoken"
		secret   = "whsec_hunter2%%sekrit"
	)
	specs := []Spec{
		{Type: KindWebhook, URL: "ftp://user:" + password + "@h.example/x?token=" + token, Secret: secret},
		{Type: KindWebhook, URL: "user:" + password + "@h.example/x?token=" + token, Secret: secret,
			Headers: map[string]string{"Authorization": "Bearer " + token + " {{ .Nope }}", "X-Bad Name": token}},
		{Type: KindWebhook, URL: "https://user:" + password + "@h.example:bad/x?token=" + token},
		{Type: KindWebhook, URL: "https://h.example/x?token=" + token, Body: "{{ .Rule " + token + " }}"},
		{Type: KindWebhook, URL: "https://u:" + password + "@h.example/x", Body: "{{ " + password + " }}", Secret: "s" + token,
			Headers: map[string]string{"X-Sig": "{{ s" + token + " }}"}},
		{Type: KindSlack, WebhookURL: "gopher://h.example/services/" + token, Text: token + " {{ .Nope }}"},
		{Type: KindSlack, WebhookURL: "hooks.slack.com/services/" + token},
		{Type: KindShell, URL: "https://u:" + password + "@h/?t=" + token, Command: []string{"curl -u admin:" + password + " https://h/"},
			Env: map[string]string{"TOKEN": token + "{{ .Nope }}"}},
		{Type: KindShell, Command: []string{"bin/x?token=" + token}},
	}
	for _, s := range specs {
		errs := s.Validate()
		if len(errs) == 0 {
			t.Errorf("%+v: want errors", s)
		}
		for _, e := range errs {
			for _, leak := range []string{password, token, "sekrit"} {
				if strings.Contains(e.Error(), leak) {
					t.Errorf("message shows a secret: %s", e)
				}
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	cases := []struct {
		name       string
		spec, want Spec
	}{
		{"webhook", Spec{Type: KindWebhook}, Spec{Type: KindWebhook, Method: "POST", Timeout: DefaultHTTPTimeout,
			Retry: Retry{MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: time.Minute}}},
		{"webhook keeps what is set", Spec{Type: KindWebhook, Method: "put", Timeout: time.Second, Retry: Retry{MaxAttempts: 2, InitialBackoff: 5 * time.Minute}},
			Spec{Type: KindWebhook, Method: "PUT", Timeout: time.Second, Retry: Retry{MaxAttempts: 2, InitialBackoff: 5 * time.Minute, MaxBackoff: 5 * time.Minute}}},
		{"shell", Spec{Type: KindShell, Timeout: 2 * time.Minute}, Spec{Type: KindShell, Timeout: 2 * time.Minute,
			Retry: Retry{MaxAttempts: 1, InitialBackoff: time.Second, MaxBackoff: time.Minute}, Concurrency: 1, KillGrace: 5 * time.Second}},
		{"slack", Spec{Type: KindSlack}, Spec{Type: KindSlack, Timeout: 10 * time.Second,
			Retry: Retry{MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: time.Minute}}},
	}
	for _, tc := range cases {
		got := tc.spec.Defaults()
		if !equalSpec(got, tc.want) {
			t.Errorf("%s:\n got: %+v\nwant: %+v", tc.name, got, tc.want)
		}
	}
}

// TestDefaultsStillValid guards against filling a key of another kind,
// which Validate would then reject.
func TestDefaultsStillValid(t *testing.T) {
	for _, s := range []Spec{hook(func(*Spec) {}), shellSpec(func(*Spec) {}), slackSpec(func(*Spec) {})} {
		d := s.Defaults()
		if errs := d.Validate(); len(errs) > 0 {
			t.Errorf("%s with defaults: %v", s.Type, errs)
		}
	}
}

func equalSpec(a, b Spec) bool {
	return a.Type == b.Type && a.Method == b.Method && a.Timeout == b.Timeout && a.Retry == b.Retry &&
		a.Concurrency == b.Concurrency && a.KillGrace == b.KillGrace
}
