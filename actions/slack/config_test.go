package slack_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/slack"
)

// slackSpec is a valid Slack action to break one key at a time.
func slackSpec(edit func(*slack.Config)) actions.Spec {
	c := slack.Config{WebhookURL: "https://hooks.slack.example/services/T0/B0/x"}
	edit(&c)
	return actions.Spec{Type: slack.Name, Config: c}
}

func TestValidateAccepts(t *testing.T) {
	specs := map[string]actions.Spec{
		"every key": slackSpec(func(c *slack.Config) {
			c.Channel = "#ops"
			c.Username = "leaderhook"
			c.IconEmoji = ":rotating_light:"
			c.Text = `{{ upper .Status }}: {{ default "no leader" (index .Event "leaderId") }} {{ .Unreachable | join ", " }}`
		}),
		"user":       slackSpec(func(c *slack.Config) { c.Channel = "@oncall" }),
		"channel ID": slackSpec(func(c *slack.Config) { c.Channel = "C0123" }),
		// chat.postMessage takes a user's ID for a direct message from the bot.
		"user ID":            slackSpec(func(c *slack.Config) { c.Channel = "U024BE7LH" }),
		"Enterprise user ID": slackSpec(func(c *slack.Config) { c.Channel = "W012A3CDE" }),
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
		spec actions.Spec
		want []string // "path@offset: message"
	}{
		{"no webhook_url", actions.Spec{Type: slack.Name, Config: slack.Config{}}, []string{"webhook_url@-1: is required"}},
		{"channel name", slackSpec(func(c *slack.Config) { c.Channel = "ops" }), []string{
			`channel@-1: "ops": use #channel, @user, a channel ID such as C0123ABCD or a user ID such as U024BE7LH`}},
		{"channel in capitals", slackSpec(func(c *slack.Config) { c.Channel = "GENERAL" }), []string{
			`channel@-1: "GENERAL": use #channel, @user, a channel ID such as C0123ABCD or a user ID such as U024BE7LH`}},
		{"text", slackSpec(func(c *slack.Config) { c.Text = "{{ .Rule | frobnicate }}" }), []string{
			`text@0: template: function "frobnicate" not defined`}},
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

func TestSecrets(t *testing.T) {
	c := slack.Config{WebhookURL: "https://hooks.slack.com/services/T0/B0/xyz"}
	if got := c.Secrets(); !slices.Equal(got, []string{c.WebhookURL}) {
		t.Errorf("got %q", got)
	}
}

func TestDefaults(t *testing.T) {
	got := actions.Spec{Config: slack.Config{}}.Defaults(slack.Kind.Delivery)
	if got.Timeout != 10*time.Second || got.Retry != (actions.Retry{MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: time.Minute}) {
		t.Errorf("got %+v", got)
	}
}
