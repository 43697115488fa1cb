// Package config loads and validates leaderhook's YAML configuration file.
package config

import (
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/ha"
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
	// HA, when set, makes this daemon one node of a group (docs/ha.md).
	HA *ha.Config `koanf:"ha" json:"ha,omitempty"`

	// FlightRecorderBytes bounds the inputs `leaderhook run` keeps for
	// replay; 0 turns the recorder off, nil: DefaultFlightRecorderBytes.
	FlightRecorderBytes *int `koanf:"flight_recorder_bytes" json:"flight_recorder_bytes,omitempty"`
}

// ClockSkew returns max_clock_skew or its default.
func (c *Config) ClockSkew() time.Duration {
	if c.MaxClockSkew == nil {
		return event.DefaultMaxSkew
	}
	return *c.MaxClockSkew
}

// DefaultFlightRecorderBytes bounds the flight recorder unless configured.
const DefaultFlightRecorderBytes = 50 << 20

// FlightRecorder returns flight_recorder_bytes or its default; 0: off.
func (c *Config) FlightRecorder() int {
	if c.FlightRecorderBytes == nil {
		return DefaultFlightRecorderBytes
	}
	return *c.FlightRecorderBytes
}

// Server is the HTTP API of `leaderhook run`.
type Server struct {
	Listen      string `koanf:"listen" json:"listen,omitempty"`
	IngestToken string `koanf:"ingest_token" json:"ingest_token,omitempty"`
	// MaxBodyBytes bounds one POST /v1/events body.
	MaxBodyBytes int `koanf:"max_body_bytes" json:"max_body_bytes,omitempty"`
	// ExternalURL is where people reach leaderhook, for links in messages.
	ExternalURL string `koanf:"external_url" json:"external_url,omitempty"`
	// TLS, when set, makes the API serve HTTPS.
	TLS ServerTLS `koanf:"tls" json:"tls,omitzero"`
}
