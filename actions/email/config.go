package email

import (
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/field"
)

// Name is the `type:` of email actions.
const Name = "email"

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded by STARTTLS, required
	TLSImplicit = "implicit" // TLS from the first byte (SMTPS)
	TLSNone     = "none"     // no encryption: a relay on the same host
)

// Default ports of the TLS modes.
var defaultPorts = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}

// Delivery: an SMTP exchange takes a few round trips, and a mail server
// that is down for a moment is tried again.
var Delivery = actions.Delivery{Timeout: 30 * time.Second, Attempts: 5}

// Kind describes email actions to the registry (actions/kinds).
var Kind = actions.Kind{
	Name:     Name,
	Config:   Config{},
	Delivery: Delivery,
	New: func(name string, spec actions.Spec, _ actions.Options) (actions.Action, error) {
		return New(name, spec)
	},
	Docs: map[string]string{
		"host":     "the SMTP server (submission) to send through: a host name or address; an IPv6 one may be written with or without brackets.",
		"port":     "its port. Default 587 with `tls: starttls`, 465 with `implicit`, 25 with `none`.",
		"tls":      "`starttls` (default: the connection must be upgraded with STARTTLS), `implicit` (TLS from the start, SMTPS) or `none` (no encryption, for a relay on the same host only).",
		"ca_file":  "PEM file of the CA that signed the server's certificate, for a private relay. Default: the system's CAs.",
		"username": "login name for SMTP authentication, by the strongest mechanism the server offers (SCRAM, CRAM-MD5, PLAIN, LOGIN…); with `tls: none`, PLAIN and LOGIN send the password in clear. Empty: no authentication.",
		"password": "password for SMTP authentication (a secret: use `${ENV}`).",
		"from":     "the sender address, e.g. `leaderhook <leaderhook@example.com>`.",
		"to":       "the recipients' addresses. One the server refuses does not keep the mail from the others: it goes to those the server takes, and the audit detail names who was refused (and why). Those refused for now (4xx: greylisting, a full mailbox) make the attempt fail, and the next attempt sends to them alone: give `retry` room enough for a greylisting server's delay. A delivery whose every recipient is refused for good (5xx) fails for good.",
		"subject":  "subject template. Default: `[FIRING] rule on cluster: what happened`, also sent when the template fails or renders nothing on a real notification (the audit detail says why).",
		"body":     "plain-text body template. Default: what happened, and the cluster's state as facts. Without `body`, an HTML part with the same facts goes along. A template that fails on a real notification sends the default and its HTML part (the audit detail says why).",
	},
	Enums:     map[string][]string{"tls": {TLSStartTLS, TLSImplicit, TLSNone}},
	PlainKeys: []string{"host", "port", "tls", "ca_file", "from", "to"},
}

// Config is the settings of an email action.
type Config struct {
	Host     string   `koanf:"host" json:"host,omitempty"`
	Port     int      `koanf:"port" json:"port,omitempty"`
	TLS      string   `koanf:"tls" json:"tls,omitempty"`
	CAFile   string   `koanf:"ca_file" json:"ca_file,omitempty"`
	Username string   `koanf:"username" json:"username,omitempty"`
	Password string   `koanf:"password" json:"password,omitempty"`
	From     string   `koanf:"from" json:"from,omitempty"`
	To       []string `koanf:"to" json:"to,omitempty"`
	Subject  string   `koanf:"subject" json:"subject,omitempty"`
	Body     string   `koanf:"body" json:"body,omitempty"`
}

// Validate checks the settings without printing the password.
func (c Config) Validate() field.List {
	var errs field.List
	if !validHost(c.Host) {
		errs.Add("host", "is required: a host name or address (an IPv6 one bracketed or not), without scheme or port")
	}
	if c.Port < 0 || c.Port > 65535 {
		errs.Add("port", "must be 1 to 65535")
	}
	if _, ok := defaultPorts[c.TLS]; c.TLS != "" && !ok {
		errs.Add("tls", "unknown mode %q: starttls, implicit or none", c.TLS)
	}
	if c.Password != "" && c.Username == "" {
		errs.Add("username", "is required with a password")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs.Add("from", "is not an email address: %v", err)
	}
	if len(c.To) == 0 {
		errs.Add("to", "is required: at least one recipient")
	}
	for i, to := range c.To {
		if _, err := mail.ParseAddress(to); err != nil {
			errs.Add("to["+strconv.Itoa(i)+"]", "is not an email address: %v", err)
		}
	}
	if c.Subject != "" {
		actions.CheckTemplate(&errs, "subject", c.Subject)
	}
	if c.Body != "" {
		actions.CheckTemplate(&errs, "body", c.Body)
	}
	return errs
}

// validHost tells a host name, an IPv4 address or an IPv6 one, with or
// without brackets, from what has a scheme, a port or a path.
func validHost(h string) bool {
	bare := bareHost(h)
	if bare != h || strings.Contains(h, ":") {
		ip := net.ParseIP(bare)
		return ip != nil && strings.Contains(bare, ":")
	}
	return h != "" && !strings.ContainsAny(h, "/[] ")
}

// bareHost strips an IPv6 address of its brackets.
func bareHost(h string) string {
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// Warnings: a password sent without TLS, and a CA file that cannot be
// read.
func (c Config) Warnings() field.List {
	var warns field.List
	if c.TLS == TLSNone && c.Username != "" {
		warns.Add("tls", "none: the password crosses the network in clear; use starttls or implicit")
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			warns.Add("ca_file", "cannot be read: %v", err)
		}
	}
	return warns
}

// Defaults fills in the TLS mode and its port.
func (c Config) Defaults() actions.Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		c.Port = defaultPorts[c.TLS]
	}
	return c
}

// Secrets returns the password.
func (c Config) Secrets() []string {
	if c.Password == "" {
		return nil
	}
	return []string{c.Password}
}
