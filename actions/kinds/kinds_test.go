package kinds

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/alertmanager"
	"github.com/leaderhook/leaderhook/actions/email"
	"github.com/leaderhook/leaderhook/actions/pagerduty"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/actions/slack"
	"github.com/leaderhook/leaderhook/actions/teams"
	"github.com/leaderhook/leaderhook/actions/webhook"
)

// Valid actions of every kind.
var (
	hook         = actions.Spec{Type: "webhook", Config: webhook.Config{URL: "https://hooks.example/leader"}}
	run          = actions.Spec{Type: "shell", Config: shell.Config{Command: []string{"/usr/local/bin/failover.sh", "{{ .Cluster }}"}}}
	slackMessage = actions.Spec{Type: "slack", Config: slack.Config{WebhookURL: "https://hooks.slack.example/services/T0/B0/x"}}
	teamsCard    = actions.Spec{Type: "teams", Config: teams.Config{WebhookURL: "https://prod.workflows.example/wf/1"}}
	mail         = actions.Spec{Type: "email", Config: email.Config{Host: "smtp.example", From: "lh@example", To: []string{"ops@example"}}}
	page         = actions.Spec{Type: "pagerduty", Config: pagerduty.Config{RoutingKey: strings.Repeat("k", pagerduty.RoutingKeyLength)}}
	alert        = actions.Spec{Type: "alertmanager", Config: alertmanager.Config{URLs: []string{"http://am.example:9093"}}}
	every        = []actions.Spec{hook, run, slackMessage, teamsCard, mail, page, alert}
)

// Every kind is complete and has a name of its own.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range All {
		switch {
		case k.Name == "" || seen[k.Name]:
			t.Errorf("kind %q: no name, or a name taken", k.Name)
		case k.Config == nil || reflect.TypeOf(k.Config).Kind() != reflect.Struct:
			t.Errorf("%s: Config must be a struct value, got %T", k.Name, k.Config)
		case k.New == nil:
			t.Errorf("%s: no constructor", k.Name)
		case k.Delivery.Timeout <= 0 || k.Delivery.Attempts <= 0:
			t.Errorf("%s: delivery defaults %+v", k.Name, k.Delivery)
		case Lookup(k.Name) != k:
			t.Errorf("%s: Lookup finds another kind", k.Name)
		}
		seen[k.Name] = true
	}
	if Lookup("sms") != nil || Lookup("") != nil {
		t.Error("Lookup finds a kind that is not there")
	}
	if got := Names(); got != "webhook, shell, slack, teams, email, pagerduty or alertmanager" {
		t.Errorf("Names() = %q", got)
	}
}

func TestValidate(t *testing.T) {
	withCommon := func(s actions.Spec, edit func(*actions.Spec)) actions.Spec { edit(&s); return s }
	cases := []struct {
		name string
		spec actions.Spec
		want []string // "path@offset: message"
	}{
		{"valid webhook", hook, nil},
		{"valid shell", run, nil},
		{"valid slack", slackMessage, nil},
		{"valid teams", teamsCard, nil},
		{"valid email", mail, nil},
		{"valid pagerduty", page, nil},
		{"valid alertmanager", alert, nil},
		{"teams without its url", actions.Spec{Type: "teams"}, []string{"webhook_url@-1: is required"}},
		{"pagerduty with a short key", actions.Spec{Type: "pagerduty", Config: pagerduty.Config{RoutingKey: "k3y", Severity: "fatal"}}, []string{
			"routing_key@-1: must be 32 characters long, as PagerDuty's integration keys are (it has 3; the key is not shown)",
			`severity@-1: unknown severity "fatal": critical, error, warning or info`}},
		{"alertmanager without urls", actions.Spec{Type: "alertmanager"}, []string{
			"urls@-1: is required: the base URL of at least one Alertmanager"}},
		{"no type", actions.Spec{Config: webhook.Config{URL: "https://h/x"}}, []string{
			"type@-1: is required: webhook, shell, slack, teams, email, pagerduty or alertmanager"}},
		{"unknown type", actions.Spec{Type: "sms"}, []string{
			`type@-1: unknown action type "sms": webhook, shell, slack, teams, email, pagerduty or alertmanager`}},
		{"settings of another kind", actions.Spec{Type: "shell", Config: webhook.Config{URL: "https://h/x"}}, []string{
			"type@-1: shell, but the settings are those of a webhook.Config"}},
		{"no settings: the kind's zero settings", actions.Spec{Type: "slack"}, []string{"webhook_url@-1: is required"}},
		{"negative timeout and retry", withCommon(slackMessage, func(s *actions.Spec) {
			s.Timeout = -1
			s.Retry = actions.Retry{MaxAttempts: -1, InitialBackoff: -1, MaxBackoff: -1}
		}), []string{
			"timeout@-1: must not be negative",
			"retry.max_attempts@-1: must not be negative",
			"retry.initial_backoff@-1: must not be negative",
			"retry.max_backoff@-1: must not be negative"}},
		{"initial backoff above max", withCommon(run, func(s *actions.Spec) {
			s.Retry = actions.Retry{InitialBackoff: time.Minute, MaxBackoff: time.Second}
		}), []string{
			"retry.initial_backoff@-1: 1m0s is longer than max_backoff (1s)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Validate(tc.spec) {
				got = append(got, e.Path+"@"+strconv.Itoa(e.Offset)+": "+e.Msg)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	const (
		password = "hunter2pass"
		token    = "s3cr3ttoken"
		secret   = "whsec_hunter2%%sekrit"
	)
	specs := []actions.Spec{
		{Type: "webhook", Config: webhook.Config{URL: "ftp://user:" + password + "@h.example/x?token=" + token, Secret: secret}},
		{Type: "webhook", Config: webhook.Config{URL: "user:" + password + "@h.example/x?token=" + token, Secret: secret,
			Headers: map[string]string{"Authorization": "Bearer " + token + " {{ .Nope }}", "X-Bad Name": token}}},
		{Type: "webhook", Config: webhook.Config{URL: "https://user:" + password + "@h.example:bad/x?token=" + token}},
		{Type: "webhook", Config: webhook.Config{URL: "https://h.example/x?token=" + token, Body: "{{ .Rule " + token + " }}"}},
		{Type: "webhook", Config: webhook.Config{URL: "https://u:" + password + "@h.example/x", Body: "{{ " + password + " }}", Secret: "s" + token,
			Headers: map[string]string{"X-Sig": "{{ s" + token + " }}"}}},
		{Type: "slack", Config: slack.Config{WebhookURL: "gopher://h.example/services/" + token, Text: token + " {{ .Nope }}"}},
		{Type: "slack", Config: slack.Config{WebhookURL: "hooks.slack.com/services/" + token}},
		{Type: "shell", Config: shell.Config{Command: []string{"curl -u admin:" + password + " https://h/"},
			Env: map[string]string{"TOKEN": token + "{{ .Nope }}"}}, FromEnv: []string{token}},
		{Type: "shell", Config: shell.Config{Command: []string{"bin/x?token=" + token}}},
		{Type: "teams", Config: teams.Config{WebhookURL: "ftp://h.example/wf?sig=" + token}},
		{Type: "email", Config: email.Config{Host: "smtp.example", Password: password, From: "lh@example", To: []string{"ops@example"}}},
		{Type: "pagerduty", Config: pagerduty.Config{RoutingKey: token}},
		{Type: "alertmanager", Config: alertmanager.Config{URLs: []string{"ftp://u:" + password + "@am.example/?t=" + token}}},
	}
	for _, s := range specs {
		errs := Validate(s)
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

// Defaults fill in only what the spec's own kind has, so a spec with
// defaults still validates.
func TestDefaultsStillValid(t *testing.T) {
	for _, s := range every {
		if errs := Validate(s.Defaults(Lookup(s.Type).Delivery)); len(errs) > 0 {
			t.Errorf("%s with defaults: %v", s.Type, errs)
		}
	}
}
