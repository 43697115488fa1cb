// Package actions holds what leaderhook does when a rule fires: webhook,
// shell and Slack actions, defined in the config file (SPEC §8).
package actions

import "time"

// Action kinds.
const (
	KindWebhook = "webhook"
	KindShell   = "shell"
	KindSlack   = "slack"
)

// Spec is one entry of the config's `actions:` map. Which keys apply depends
// on Type; Validate rejects keys of another kind.
type Spec struct {
	Type string `koanf:"type" json:"type"`

	// webhook
	URL     string            `koanf:"url" json:"url,omitempty"`
	Method  string            `koanf:"method" json:"method,omitempty"`
	Headers map[string]string `koanf:"headers" json:"headers,omitempty"`
	Body    string            `koanf:"body" json:"body,omitempty"`
	Secret  string            `koanf:"secret" json:"secret,omitempty"`
	Format  string            `koanf:"format" json:"format,omitempty"`

	// shell
	Command     []string          `koanf:"command" json:"command,omitempty"`
	Env         map[string]string `koanf:"env" json:"env,omitempty"`
	Dir         string            `koanf:"dir" json:"dir,omitempty"`
	Concurrency int               `koanf:"concurrency" json:"concurrency,omitempty"`
	KillGrace   time.Duration     `koanf:"kill_grace" json:"kill_grace,omitempty"`

	// slack
	WebhookURL string `koanf:"webhook_url" json:"webhook_url,omitempty"`
	Channel    string `koanf:"channel" json:"channel,omitempty"`
	Username   string `koanf:"username" json:"username,omitempty"`
	IconEmoji  string `koanf:"icon_emoji" json:"icon_emoji,omitempty"`
	Text       string `koanf:"text" json:"text,omitempty"`

	// every kind
	Timeout   time.Duration `koanf:"timeout" json:"timeout,omitempty"`
	Retry     Retry         `koanf:"retry" json:"retry,omitempty"`
	OnFailure []string      `koanf:"on_failure" json:"on_failure,omitempty"`

	// FromEnv holds the values that ${VAR}s put into the settings above
	// (the config loader fills it): they are redacted like Secret.
	FromEnv []string `koanf:"-" json:"-"`
}

// Retry bounds the attempts of one delivery.
type Retry struct {
	MaxAttempts    int           `koanf:"max_attempts" json:"max_attempts,omitempty"`
	InitialBackoff time.Duration `koanf:"initial_backoff" json:"initial_backoff,omitempty"`
	MaxBackoff     time.Duration `koanf:"max_backoff" json:"max_backoff,omitempty"`
}
