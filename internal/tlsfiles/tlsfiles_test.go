package tlsfiles

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// Check reports each problem at the key to fix, relative to the block.
func TestCheck(t *testing.T) {
	ca := testpki.New(t)
	cert, key := ca.Issue("api")
	_, otherKey := ca.Issue("other")
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, c := range []struct {
		name, cert, key string
		cas             []CAFile
		want            []string // "key: start of message"
	}{
		{name: "none"},
		{name: "pair and CA", cert: cert, key: key, cas: []CAFile{{"ca_file", ca.File}}},
		{name: "CA alone", cas: []CAFile{{"ca_file", ca.File}, {"client_ca_file", ""}}},
		{name: "cert without key", cert: cert, cas: []CAFile{{"ca_file", missing}},
			want: []string{"key_file: is required with cert_file"}},
		{name: "key without cert", key: key, want: []string{"cert_file: is required with key_file"}},
		{name: "missing cert", cert: missing, key: key, want: []string{"cert_file: open " + missing}},
		{name: "a key for a cert", cert: key, key: key, want: []string{"cert_file: " + key + " holds no PEM certificate"}},
		{name: "key of another cert", cert: cert, key: otherKey, want: []string{"key_file: " + otherKey + " (for cert_file " + cert + ")"}},
		{name: "every bad file", cert: cert, key: missing, cas: []CAFile{{"client_ca_file", key}, {"ca_file", missing}},
			want: []string{"key_file: open " + missing, "client_ca_file: " + key + " holds no PEM", "ca_file: open " + missing}},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := Check(c.cert, c.key, c.cas...)
			if len(errs) != len(c.want) {
				t.Fatalf("errors %v, want %q", errs, c.want)
			}
			for i, fe := range errs {
				if !strings.HasPrefix(fe.Error(), c.want[i]) {
					t.Errorf("error %d is %q, want it to start %q", i, fe, c.want[i])
				}
			}
		})
	}
}
