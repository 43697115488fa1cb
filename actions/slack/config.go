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
		return New(name, spec, opts)
	},
	PlainKeys: []string{"api_url"},
	Docs: map[string]string{
		"webhook_url": "the incoming-webhook URL (a secret). Give it, or `token`.",
		"token":       "a bot token (`xoxb-…`, a secret) with the chat:write scope: messages go through the Web API (chat.postMessage, chat.update), and a resolve edits its firing's message and replies in its thread, so that an incident is one message. The bot must be in the channel.",
		"api_url":     "with `token`: the Web API's base URL. Default `" + DefaultAPIURL + "` (a proxy or a test server may stand in).",
		"channel":     "`#channel`, `@user` or a channel ID; required with `token` (a channel ID, `#name`, or a user ID such as `U024BE7LH` for a direct message from the bot).",
		"username":    "sender name.",
		"icon_emoji":  "sender icon, e.g. `:rotating_light:`.",
		"text":        "message text template. What it inserts is escaped (`&`, `<`, `>` as entities, control characters as `\\n`, `\\x1b`...); its own text is kept, links and mentions included. Default: a one-line summary, also sent when the template fails or renders nothing on a real notification (the audit detail says why).",
	},
}

// Config is the settings of a Slack action.
type Config struct {
	WebhookURL string `koanf:"webhook_url" json:"webhook_url,omitempty"`
	Token      string `koanf:"token" json:"token,omitempty"`
	APIURL     string `koanf:"api_url" json:"api_url,omitempty"`
	Channel    string `koanf:"channel" json:"channel,omitempty"`
	Username   string `koanf:"username" json:"username,omitempty"`
	IconEmoji  string `koanf:"icon_emoji" json:"icon_emoji,omitempty"`
	Text       string `koanf:"text" json:"text,omitempty"`
}

// Validate checks the settings without ever printing the webhook URL.
func (c Config) Validate() field.List {
	var errs field.List
	switch {
	case c.Token != "" && c.WebhookURL != "":
		errs.Add("token", "give webhook_url (an incoming webhook) or token (a bot), not both")
	case c.Token != "":
		if c.Channel == "" {
			errs.Add("channel", "is required with token: a channel ID such as C0123ABCD, or #name")
		}
		if c.APIURL != "" {
			actions.CheckURL(&errs, "api_url", c.APIURL)
		}
	default:
		actions.CheckURL(&errs, "webhook_url", c.WebhookURL)
		if c.APIURL != "" {
			errs.Add("api_url", "applies to a bot (token) only")
		}
	}
	if ch := c.Channel; ch != "" && !strings.HasPrefix(ch, "#") && !strings.HasPrefix(ch, "@") && !isSlackID(ch) {
		errs.Add("channel", "%q: use #channel, @user, a channel ID such as C0123ABCD or a user ID such as U024BE7LH", ch)
	}
	if c.Text != "" {
		actions.CheckTemplate(&errs, "text", c.Text)
	}
	return errs
}

var slackID = regexp.MustCompile(`^[CDGUW][A-Z0-9]{4,}$`)

// isSlackID recognises conversation IDs (C0123ABCD, G…, D…) and user IDs
// (U…, W…), to which a bot posts a direct message. Requiring a
// digit keeps a channel name typed in capitals without its '#' (GENERAL)
// from passing as an ID.
func isSlackID(s string) bool {
	return slackID.MatchString(s) && strings.ContainsAny(s, "0123456789")
}

// DefaultAPIURL is the base URL of Slack's Web API.
const DefaultAPIURL = "https://slack.com/api"

// Defaults fills in the Web API's URL of a bot.
func (c Config) Defaults() actions.Config {
	if c.Token != "" && c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	return c
}

// Secrets returns the token, or the webhook URL, whose path is the
// credential, and the password and query values it may carry.
func (c Config) Secrets() []string {
	var out []string
	if c.Token != "" {
		out = append(out, c.Token)
	}
	if c.WebhookURL != "" {
		out = append(out, c.WebhookURL)
		out = append(out, actions.URLSecrets(c.WebhookURL)...)
	}
	return append(out, actions.URLSecrets(c.APIURL)...)
}
