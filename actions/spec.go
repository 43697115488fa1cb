// Package actions holds what leaderhook does when a rule fires. Each kind
// of action (webhook, shell, slack...) is a package under actions/, listed
// in actions/kinds; this package holds what they share: the keys every
// action takes, the Kind and Config contracts, delivery outcomes,
// templates and redaction. docs/configuration.md lists the keys.
package actions

import (
	"fmt"
	"time"
)

// Spec is one entry of the config's `actions:` map: the keys every kind of
// action takes, and in Config those of its own kind.
type Spec struct {
	Type      string        `koanf:"type" json:"type"`
	Timeout   time.Duration `koanf:"timeout" json:"timeout,omitempty"`
	Retry     Retry         `koanf:"retry" json:"retry,omitempty"`
	OnFailure []string      `koanf:"on_failure" json:"on_failure,omitempty"`

	// Config holds the keys of Type's kind: the config loader decodes the
	// entry's other keys into the kind's Config type.
	Config Config `koanf:"-" json:"-"`

	// FromEnv holds the values that ${VAR}s put into the settings (the
	// config loader fills it): they are redacted like secrets.
	FromEnv []string `koanf:"-" json:"-"`
}

// Retry bounds the attempts of one delivery.
type Retry struct {
	MaxAttempts    int           `koanf:"max_attempts" json:"max_attempts,omitempty"`
	InitialBackoff time.Duration `koanf:"initial_backoff" json:"initial_backoff,omitempty"`
	MaxBackoff     time.Duration `koanf:"max_backoff" json:"max_backoff,omitempty"`
}

// Defaults of the retry keys, the same for every kind.
const (
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
)

// Defaults returns a copy of s with what it leaves out filled in: the
// delivery keys from d, the kind's keys by its Config. It takes a value so
// that it works on map entries and literals.
func (s Spec) Defaults(d Delivery) Spec {
	if s.Config != nil {
		s.Config = s.Config.Defaults()
	}
	if s.Timeout == 0 {
		s.Timeout = d.Timeout
	}
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = d.Attempts
	}
	if s.Retry.InitialBackoff == 0 {
		s.Retry.InitialBackoff = DefaultInitialBackoff
	}
	if s.Retry.MaxBackoff == 0 {
		// An initial backoff above the default maximum raises the maximum
		// rather than being cut down by it.
		s.Retry.MaxBackoff = max(DefaultMaxBackoff, s.Retry.InitialBackoff)
	}
	return s
}

// ConfigOf returns s with defaults applied (see Defaults) and its Config
// as the kind's type C, the zero C when s has none: what a kind's
// constructor starts from.
func ConfigOf[C Config](s Spec, d Delivery) (Spec, C, error) {
	var c C
	if s.Config == nil {
		s.Config = c
	}
	if _, ok := s.Config.(C); !ok {
		return s, c, fmt.Errorf("the settings of a %T, not of a %T", s.Config, c)
	}
	s = s.Defaults(d)
	return s, s.Config.(C), nil
}
