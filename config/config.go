// Package config loads and validates leaderhook's YAML configuration file.
package config

import (
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/rules"
)

// Config is the whole configuration file (docs/configuration.md).
type Config struct {
	Server   Server  `koanf:"server" json:"server"`
	StateDir string  `koanf:"state_dir" json:"state_dir,omitempty"`
	AuditLog string  `koanf:"audit_log" json:"audit_log,omitempty"`
	History  History `koanf:"history" json:"history,omitzero"`
	Timezone string  `koanf:"timezone" json:"timezone,omitempty"`
	// MaxClockSkew bounds how far a live event's own timestamp may be
	// from the daemon's clock on arrival; nil: event.DefaultMaxSkew.
	MaxClockSkew *time.Duration          `koanf:"max_clock_skew" json:"max_clock_skew,omitempty"`
	Clusters     []detector.Cluster      `koanf:"clusters" json:"clusters"`
	Actions      map[string]actions.Spec `koanf:"actions" json:"actions,omitempty"`
	Windows      map[string]rules.Window `koanf:"windows" json:"windows,omitempty"`
	Rules        []rules.Rule            `koanf:"rules" json:"rules"`
}

// ClockSkew returns max_clock_skew or its default.
func (c *Config) ClockSkew() time.Duration {
	if c.MaxClockSkew == nil {
		return event.DefaultMaxSkew
	}
	return *c.MaxClockSkew
}

// Server is the HTTP API of `leaderhook run`.
type Server struct {
	Listen      string `koanf:"listen" json:"listen,omitempty"`
	IngestToken string `koanf:"ingest_token" json:"ingest_token,omitempty"`
	// MaxBodyBytes bounds one POST /v1/events body.
	MaxBodyBytes int `koanf:"max_body_bytes" json:"max_body_bytes,omitempty"`
}
