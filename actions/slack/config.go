package slack

import (
	"regexp"
	"strings"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of Slack actions.
const Name = "slack"

// Kind describes Slack actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: actions.HTTPDelivery,
	New: func(name string, spec actions.Spec, opts actions.Options) (actions.Action, error) {
		return New(name, spec, opts.Client)
	},
	Docs: map[string]string{
		"webhook_url": "the incoming-webhook URL (a secret).",
		"channel":     "`#channel`, `@user` or a channel ID.",
		"username":    "sender name.",
		"icon_emoji":  "sender icon, e.g. `:rotating_light:`.",
		"text":        "message text template. What it inserts is escaped (`&`, `<`, `>` as entities, control characters as `\\n`, `\\x1b`...); its own text is kept, links and mentions included. Default: a one-line summary.",
	},
}

// Config is the settings of a Slack action.
type Config struct {
	WebhookURL string `koanf:"webhook_url" json:"webhook_url,omitempty"`
	Channel    string `koanf:"channel" json:"channel,omitempty"`
	Username   string `koanf:"username" json:"username,omitempty"`
	IconEmoji  string `koanf:"icon_emoji" json:"icon_emoji,omitempty"`
	Text       string `koanf:"text" json:"text,omitempty"`
}

// Validate checks the settings without ever printing the webhook URL.
func (c Config) Validate() field.List {
	var errs field.List
	actions.CheckURL(&errs, "webhook_url", c.WebhookURL)
	if ch := c.Channel; ch != "" && !strings.HasPrefix(ch, "#") && !strings.HasPrefix(ch, "@") && !isSlackID(ch) {
		errs.Add("channel", "%q: use #channel, @user or a channel ID such as C0123ABCD", ch)
	}
	if c.Text != "" {
		actions.CheckTemplate(&errs, "text", c.Text)
	}
	return errs
}

var slackID = regexp.MustCompile(`^[CDG][A-Z0-9]{4,}$`)

// isSlackID recognises conversation IDs (C0123ABCD, G…, D…). Requiring a
// digit keeps a channel name typed in capitals without its '#' (GENERAL)
// from passing as an ID.
func isSlackID(s string) bool {
	return slackID.MatchString(s) && strings.ContainsAny(s, "0123456789")
}

// Defaults has nothing to fill in: Slack's defaults apply.
func (c Config) Defaults() actions.Config { return c }

// Secrets returns the webhook URL, whose path is the credential, and the
// password and query values it may carry.
func (c Config) Secrets() []string {
	if c.WebhookURL == "" {
		return nil
	}
	return append([]string{c.WebhookURL}, actions.URLSecrets(c.WebhookURL)...)
}
