package config

import (
	"crypto/tls"

	"github.com/leaderhook/leaderhook/field"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

// ServerTLS makes the HTTP API serve HTTPS (`server.tls`).
type ServerTLS struct {
	CertFile string `koanf:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `koanf:"key_file" json:"key_file,omitempty"`
	// ClientCAFile, when set, makes the API require client certificates
	// that CA signed.
	ClientCAFile string `koanf:"client_ca_file" json:"client_ca_file,omitempty"`
	// CAFile is the CA leaderhook's own calls to an API trust (its
	// commands, a group's forwarding); empty: the system's.
	CAFile string `koanf:"ca_file" json:"ca_file,omitempty"`
}

// Enabled reports whether the API serves HTTPS.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" }

// Scheme is the API's URL scheme.
func (t ServerTLS) Scheme() string {
	if t.Enabled() {
		return "https"
	}
	return "http"
}

// Server is the listener's TLS config; nil when the API is plain HTTP.
func (t ServerTLS) Server() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	return tlsfiles.Server(t.CertFile, t.KeyFile, t.ClientCAFile)
}

// Client is the TLS config of leaderhook's own calls to an API with these
// settings: it trusts ca_file (or the system's CAs) and, when the API
// requires client certificates, presents cert_file. Nil when the API is
// plain HTTP.
func (t ServerTLS) Client() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	certFile, keyFile := "", ""
	if t.ClientCAFile != "" {
		certFile, keyFile = t.CertFile, t.KeyFile
	}
	return tlsfiles.Client(t.CAFile, certFile, keyFile)
}

// validate checks the block and loads its files as run will, so that a
// missing or broken file fails check at its key; the keys are relative to
// `server.tls`.
func (t ServerTLS) validate() field.List {
	var errs field.List
	if t.CertFile == "" && t.KeyFile == "" {
		for _, k := range []struct{ key, value string }{{"client_ca_file", t.ClientCAFile}, {"ca_file", t.CAFile}} {
			if k.value != "" {
				errs.Add(k.key, "applies to an HTTPS API: set cert_file and key_file too")
			}
		}
		return errs
	}
	cas := []tlsfiles.CAFile{{Key: "client_ca_file", Path: t.ClientCAFile}, {Key: "ca_file", Path: t.CAFile}}
	for _, fe := range tlsfiles.Check(t.CertFile, t.KeyFile, cas...) {
		errs.Add(fe.Key, "%v", fe.Err)
	}
	return errs
}
