package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// server.tls is checked at load, files included, and each error names the
// file, line and key at fault.
func TestServerTLS(t *testing.T) {
	ca := testpki.New(t)
	cert, key := ca.Issue("api")
	_, otherKey := ca.Issue("other")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	for _, c := range []struct {
		name, tls, err string
	}{
		{name: "https", tls: "{cert_file: " + cert + ", key_file: " + key + "}"},
		{name: "mutual", tls: "{cert_file: " + cert + ", key_file: " + key + ", client_ca_file: " + ca.File + ", ca_file: " + ca.File + "}"},
		{name: "cert without key", tls: "{cert_file: " + cert + "}", err: "t.yaml:2:8: server.tls.key_file: is required with cert_file"},
		{name: "key without cert", tls: "{key_file: " + key + "}", err: "t.yaml:2:8: server.tls.cert_file: is required with key_file"},
		{name: "client CA without https", tls: "{client_ca_file: " + cert + "}", err: "t.yaml:2:25: server.tls.client_ca_file: applies to an HTTPS API"},
		{name: "CA without https", tls: "{ca_file: " + cert + "}", err: "t.yaml:2:18: server.tls.ca_file: applies to an HTTPS API"},
		{name: "missing cert", tls: "{cert_file: " + missing + ", key_file: " + key + "}", err: "t.yaml:2:20: server.tls.cert_file: open " + missing},
		{name: "not a cert", tls: "{cert_file: " + junk + ", key_file: " + key + "}", err: "server.tls.cert_file: " + junk + " holds no PEM certificate"},
		{name: "key of another cert", tls: "{cert_file: " + cert + ", key_file: " + otherKey + "}", err: "server.tls.key_file: " + otherKey + " (for cert_file " + cert + "): tls: private key does not match public key"},
		{name: "client CA not a cert", tls: "{cert_file: " + cert + ", key_file: " + key + ", client_ca_file: " + junk + "}", err: "server.tls.client_ca_file: " + junk + " holds no PEM certificate"},
		{name: "missing CA", tls: "{cert_file: " + cert + ", key_file: " + key + ", ca_file: " + missing + "}", err: "server.tls.ca_file: open " + missing},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := "server:\n  tls: " + c.tls + "\nclusters:\n  - name: z\n    source: {type: events, http: true}\n"
			cfg, _, err := Parse("t.yaml", []byte(data), envOf(nil))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.err == "" && !cfg.Server.TLS.Enabled():
				t.Fatal("server.tls not in force")
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("error %v, want it to say %s", err, c.err)
			}
		})
	}
}
