package ha

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// ha.tls takes all three files or none, and each file is loaded at check,
// as the transport will load it, so that a missing or broken one fails
// check at its key instead of run.
func TestValidateTLS(t *testing.T) {
	ca := testpki.New(t)
	cert, key := ca.Issue("node", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	_, otherKey := ca.Issue("other")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, c := range []struct {
		name string
		tls  TLS
		want string // "path: message", "" for none
	}{
		{name: "none", tls: TLS{}},
		{name: "all three", tls: TLS{CertFile: cert, KeyFile: key, CAFile: ca.File}},
		{name: "pair without CA", tls: TLS{CertFile: cert, KeyFile: key}, want: "tls: set cert_file, key_file and ca_file together (mutual TLS), or none"},
		{name: "cert alone", tls: TLS{CertFile: cert}, want: "tls: set cert_file, key_file and ca_file together (mutual TLS), or none"},
		{name: "CA alone", tls: TLS{CAFile: ca.File}, want: "tls: set cert_file, key_file and ca_file together (mutual TLS), or none"},
		{name: "missing cert", tls: TLS{CertFile: missing, KeyFile: key, CAFile: ca.File}, want: "tls.cert_file: open " + missing},
		{name: "not a cert", tls: TLS{CertFile: junk, KeyFile: key, CAFile: ca.File}, want: "tls.cert_file: " + junk + " holds no PEM certificate"},
		{name: "key of another cert", tls: TLS{CertFile: cert, KeyFile: otherKey, CAFile: ca.File}, want: "tls.key_file: " + otherKey + " (for cert_file " + cert + "): tls: private key does not match public key"},
		{name: "CA not a cert", tls: TLS{CertFile: cert, KeyFile: key, CAFile: junk}, want: "tls.ca_file: " + junk + " holds no PEM certificate"},
		{name: "missing CA", tls: TLS{CertFile: cert, KeyFile: key, CAFile: missing}, want: "tls.ca_file: open " + missing},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{NodeID: "n1", Bind: "127.0.0.1:7401", DataDir: dir, Peers: []Peer{{ID: "n1", Address: "127.0.0.1:7401"}}, TLS: c.tls}
			var got []string
			for _, e := range cfg.Validate() {
				got = append(got, e.Error())
			}
			switch {
			case c.want == "" && len(got) > 0:
				t.Errorf("errors %q, want none", got)
			case c.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], c.want)):
				t.Errorf("errors %q, want one starting %q", got, c.want)
			}
		})
	}
}
