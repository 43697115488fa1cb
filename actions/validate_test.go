package actions

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want []string // "path@offset: message prefix"
	}{
		{"valid webhook", Spec{Type: KindWebhook, URL: "https://h.example/x", Headers: map[string]string{"X-Cluster": "{{ .Cluster }}"}, Body: `{"c": {{ json .Cluster }}}`, Secret: "whsec_c2VjcmV0"}, nil},
		{"valid shell", Spec{Type: KindShell, Command: []string{"/usr/local/bin/failover.sh", "{{ .Cluster }}", "{{ .PreviousLeaderID }}"}, Env: map[string]string{"MODE": "{{ .Status }}"}}, nil},
		{"valid slack", Spec{Type: KindSlack, WebhookURL: "https://hooks.slack.example/services/T/B/X", Channel: "#ops", Text: "{{ .Rule }} {{ upper .Status }}"}, nil},
		{"no type", Spec{}, []string{"type@-1: is required"}},
		{"unknown type", Spec{Type: "email"}, []string{`type@-1: unknown action type "email"`}},
		{"keys of another kind", Spec{Type: KindWebhook, URL: "http://h/x", Command: []string{"x"}, Channel: "#a"},
			[]string{"command@-1: does not apply to a webhook action", "channel@-1: does not apply to a webhook action"}},
		{"bad url and method", Spec{Type: KindWebhook, URL: "ftp://h/x", Method: "FETCH"},
			[]string{`url@-1: must be an http:// or https:// URL (got scheme "ftp")`, `method@-1: "FETCH": one of GET, POST, PUT, PATCH, DELETE`}},
		{"template errors with offsets", Spec{Type: KindWebhook, URL: "http://h/x", Body: "{\"c\": \"{{ .Clustr }}\"}", Headers: map[string]string{"X A": "{{ .Rule "}},
			[]string{`headers.X A@-1: "X A" is not a valid HTTP header name`, `headers.X A@0: template: unclosed action`, `body@10: template: unknown field .Clustr (fields: .DeliveryID .Rule .Status .Cluster`}},
		{"cloudevents with a body", Spec{Type: KindWebhook, URL: "http://h/x", Format: "cloudevents", Body: "x"}, []string{"body@-1: a cloudevents webhook"}},
		{"bad whsec secret", Spec{Type: KindWebhook, URL: "http://h/x", Secret: "whsec_!!notbase64!!"}, []string{"secret@-1: starts with whsec_ but the rest is not base64"}},
		{"shell program as template", Spec{Type: KindShell, Command: []string{"{{ .Rule }}"}}, []string{"command[0]@-1: the program must be a fixed path"}},
		{"shell env", Spec{Type: KindShell, Command: []string{"/bin/true"}, Env: map[string]string{"LEADERHOOK_X": "a", "1BAD": "b"}},
			[]string{`env.1BAD@-1: "1BAD" is not an environment variable name`, "env.LEADERHOOK_X@-1: LEADERHOOK_ variables are set by leaderhook itself"}},
		{"retry bounds", Spec{Type: KindSlack, WebhookURL: "https://h/x", Retry: Retry{MaxAttempts: -1, InitialBackoff: time.Minute, MaxBackoff: time.Second}},
			[]string{"retry.max_attempts@-1: must not be negative", "retry.initial_backoff@-1: is longer than max_backoff"}},
		{"slack channel", Spec{Type: KindSlack, WebhookURL: "https://h/x", Channel: "ops"}, []string{`channel@-1: "ops": a #channel`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range tc.spec.Validate() {
				got = append(got, e.Path+"@"+itoa(e.Offset)+": "+e.Msg)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got: %s\nwant: %s...", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestMessagesNeverShowSecrets(t *testing.T) {
	specs := []Spec{
		{Type: KindWebhook, URL: "ftp://user:hunter2pass@h.example/x?token=s3cr3ttoken", Secret: "whsec_hunter2%%"},
		{Type: KindSlack, WebhookURL: "gopher://h.example/services/s3cr3ttoken"},
	}
	for _, s := range specs {
		for _, e := range s.Validate() {
			for _, secret := range []string{"hunter2", "s3cr3ttoken"} {
				if strings.Contains(e.Error(), secret) {
					t.Errorf("message shows a secret: %s", e)
				}
			}
		}
	}
}

func TestRedact(t *testing.T) {
	got := Redact(`post https://user:pw@h.example/hook?token=abc failed: key sekrit-key rejected`, "sekrit-key")
	want := `post https://REDACTED@h.example/hook?REDACTED failed: key REDACTED rejected`
	if got != want {
		t.Errorf("Redact:\n got: %s\nwant: %s", got, want)
	}
}

func TestDefaults(t *testing.T) {
	w := Spec{Type: KindWebhook}.Defaults()
	if w.Method != "POST" || w.Timeout != 10*time.Second || w.Retry.MaxAttempts != 5 || w.Retry.InitialBackoff != time.Second || w.Retry.MaxBackoff != time.Minute {
		t.Errorf("webhook defaults: %+v", w)
	}
	s := Spec{Type: KindShell, Timeout: 2 * time.Minute}.Defaults()
	if s.Method != "" || s.Timeout != 2*time.Minute || s.Retry.MaxAttempts != 1 || s.Concurrency != 1 || s.KillGrace != 5*time.Second {
		t.Errorf("shell defaults: %+v", s)
	}
}

func TestPayloadAndEnviron(t *testing.T) {
	n := Notification{
		DeliveryID: "d1", Rule: "leaderless-30s", Status: StatusFiring, Cluster: "ziti-prod",
		Labels: map[string]string{"env": "prod"}, FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC),
		EventType: "state.is_leaderless", PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30500 * time.Millisecond,
	}
	data, err := n.Payload()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"version":"1","delivery_id":"d1","rule":"leaderless-30s","status":"firing","cluster":"ziti-prod","labels":{"env":"prod"},"fired_at":"2026-01-01T00:00:30.000000000Z","event":{},"state":{"leader_id":"","previous_leader_id":"ctrl1","leaderless":true,"leaderless_for_ms":30500}}`
	if string(data) != want {
		t.Errorf("payload\n got: %s\nwant: %s", data, want)
	}
	env := n.Environ()
	wantEnv := []string{"LEADERHOOK_RULE=leaderless-30s", "LEADERHOOK_STATUS=firing", "LEADERHOOK_CLUSTER=ziti-prod",
		"LEADERHOOK_EVENT_TYPE=state.is_leaderless", "LEADERHOOK_LEADER_ID=", "LEADERHOOK_PREVIOUS_LEADER_ID=ctrl1",
		"LEADERHOOK_LEADERLESS_SECONDS=30.5", "LEADERHOOK_FIRED_AT=2026-01-01T00:00:30.000000000Z",
		"LEADERHOOK_DELIVERY_ID=d1", "LEADERHOOK_DRY_RUN=false"}
	if !slices.Equal(env, wantEnv) {
		t.Errorf("environ\n got: %q\nwant: %q", env, wantEnv)
	}
}

func TestTemplateFuncs(t *testing.T) {
	tmpl, err := ParseTemplate("t", `{{ upper .Status }} {{ lower "A" }} {{ ms .LeaderlessFor }} {{ seconds .LeaderlessFor }} {{ default "none" .LeaderID }} {{ json .Labels }} {{ rfc3339 .FiredAt }}`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, &sample); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), `FIRING a 30000 30 none {"env":"prod"} 2026-01-01T00:00:00.000000000Z`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
