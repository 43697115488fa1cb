package teams

import (
	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of Microsoft Teams actions.
const Name = "teams"

// Kind describes Teams actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: actions.HTTPDelivery,
	New: func(name string, spec actions.Spec, opts actions.Options) (actions.Action, error) {
		return New(name, spec, opts)
	},
	Docs: map[string]string{
		"webhook_url": "the URL of a Teams Workflows webhook (\"When a Teams webhook request is received\", posting the card to a channel or chat); a secret: its `sig` is the credential. The retired Office 365 connector webhooks (MessageCard) are not supported.",
		"title":       "template of the card's title. Default: `[FIRING] rule on cluster` (or RESOLVED), also sent when the template fails or renders nothing on a real notification (the audit detail says why). Cut to 500 characters when the card would be over Teams' 28 KB message.",
		"text":        "template of the card's text, under the title. What it inserts is escaped (Markdown, control characters); its own text is kept. Default: what happened (`.Summary`), also sent when the template fails or renders nothing on a real notification (the audit detail says why). Cut, ending with …, to keep the card within Teams' 28 KB message (a Workflows webhook accepts a larger one, then fails to post it); the audit detail says so.",
	},
}

// Config is the settings of a Teams action.
type Config struct {
	WebhookURL string `koanf:"webhook_url" json:"webhook_url,omitempty"`
	Title      string `koanf:"title" json:"title,omitempty"`
	Text       string `koanf:"text" json:"text,omitempty"`
}

// Validate checks the settings without printing the webhook URL.
func (c Config) Validate() field.List {
	var errs field.List
	actions.CheckURL(&errs, "webhook_url", c.WebhookURL)
	if c.Title != "" {
		actions.CheckTemplate(&errs, "title", c.Title)
	}
	if c.Text != "" {
		actions.CheckTemplate(&errs, "text", c.Text)
	}
	return errs
}

// Defaults has nothing to fill in.
func (c Config) Defaults() actions.Config { return c }

// Secrets returns the webhook URL and its query values (the signature).
func (c Config) Secrets() []string {
	if c.WebhookURL == "" {
		return nil
	}
	return append([]string{c.WebhookURL}, actions.URLSecrets(c.WebhookURL)...)
}
