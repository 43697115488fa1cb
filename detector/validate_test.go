package detector

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

func TestValidatePollCredentialsAndTLS(t *testing.T) {
	ca := testpki.New(t)
	certFile, keyFile := ca.Issue("leaderhook", x509.ExtKeyUsageClientAuth)
	otherCert, _ := ca.Issue("other", x509.ExtKeyUsageClientAuth)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	os.WriteFile(garbage, []byte("hello"), 0o600)
	https := []string{"https://10.0.0.1:2379"}
	cases := []struct {
		src  Source
		want string // "path: message", "" for none
	}{
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CAFile: ca.File, CertFile: certFile, KeyFile: keyFile,
			ServerName: "etcd.example", Username: "leaderhook", Password: "pw"}, ""},
		{Source{Type: SourcePoll, Preset: "consul", Members: https, Token: "t"}, ""},
		{Source{Type: SourceEvents, HTTP: true, CertFile: certFile}, "cert_file: does not apply to a events source"},
		{Source{Type: SourcePoll, Preset: "rqlite", Members: https, Username: "u"},
			"username: does not apply to the rqlite preset: only to etcd or openziti"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, Token: "t"}, "token: does not apply to the etcd preset: only to consul, nomad or vault"},
		{Source{Type: SourcePoll, Preset: "vault", Members: https, Path: "/x"}, "path: does not apply to the vault preset: only to generic"},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Path: "/status", Leader: `response.leader`}, ""},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Path: "/%zz", Leader: `response.leader`}, `path: "/%zz" is not a URL path`},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.leader`, Self: `response.id`}, ""},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.leader`, Self: `response.id +`}, "self: self expression: unexpected token"},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.leader +`}, "leader: leader expression: unexpected token"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, Self: `response.id`}, "self: does not apply to the etcd preset: only to generic"},
		// An id is a string or a whole number, read as its decimal text.
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `int(response.leader_id)`, Self: `int(response.id)`}, ""},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.leader == 0 ? nil : response.leader`}, ""},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.term * 1.0`}, ""},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.leader_id > 0`}, "leader: leader expression: it yields bool, not a string or number"},
		{Source{Type: SourcePoll, Preset: "generic", Members: https, Leader: `response.leader`, Self: `[response.id]`}, "self: self expression: it yields []interface {}, not a string or number"},
		{Source{Type: SourceEvents, HTTP: true, Self: `response.id`}, "self: does not apply to a events source"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, Username: "u"}, "username: needs a password too"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, Password: "p"}, "password: needs a username too"},
		{Source{Type: SourcePoll, Preset: "openziti", Members: https}, "username: the openziti preset logs in"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CertFile: certFile}, "key_file: is required with cert_file"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, KeyFile: keyFile}, "cert_file: is required with key_file"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: []string{"http://10.0.0.1:2379"}, CertFile: certFile}, "key_file: is required with cert_file"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CAFile: "/nonexistent/ca.pem"}, "ca_file: open /nonexistent/ca.pem: no such file or directory"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CAFile: garbage}, "ca_file: " + garbage + " holds no PEM certificate"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CertFile: garbage, KeyFile: keyFile}, "cert_file: " + garbage + " holds no PEM certificate"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CertFile: certFile, KeyFile: "/nonexistent/key.pem"}, "key_file: open /nonexistent/key.pem"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: https, CertFile: otherCert, KeyFile: keyFile}, "key_file: " + keyFile + " (for cert_file " + otherCert + "): tls: private key does not match public key"},
		{Source{Type: SourcePoll, Preset: "etcd", Members: []string{"http://10.0.0.1:2379"}, CAFile: ca.File}, "ca_file: applies to https members, and every member is http"},
	}
	for _, tc := range cases {
		errs := tc.src.Validate()
		var got []string
		for _, e := range errs {
			got = append(got, e.Path+": "+e.Msg)
		}
		switch {
		case tc.want == "" && len(got) > 0:
			t.Errorf("%+v: %q", tc.src, got)
		case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.want)):
			t.Errorf("%+v:\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

// A cluster's fixed members are its quorum: each is named, once. A poll
// source polls each member URL once.
func TestMembersNamedOnce(t *testing.T) {
	events := Source{Type: SourceEvents, HTTP: true}
	poll := func(members ...string) Source { return Source{Type: SourcePoll, Preset: "etcd", Members: members} }
	cases := []struct {
		name string
		c    Cluster
		want []string
	}{
		{"distinct", Cluster{Name: "a", Members: []string{"c1", "c2", "c3"}, Source: events}, nil},
		{"empty and repeated", Cluster{Name: "a", Members: []string{"c1", "c2", "c2", ""}, Source: events},
			[]string{`members[2]: duplicate member "c2" (also members[1])`, "members[3]: is required"}},
		{"repeated URL", Cluster{Name: "a", Source: poll("http://db1:2379", "http://db2:2379", "http://db1:2379/")},
			[]string{`source.members[2]: duplicate member "http://db1:2379/" (also members[0])`}},
		{"repeated URL with a password", Cluster{Name: "a", Source: poll("http://u:s3cret@db1:2379", "http://u:s3cret@db1:2379")},
			[]string{`source.members[1]: duplicate member "http://u:xxxxx@db1:2379" (also members[0])`}},
	}
	for _, tc := range cases {
		var got []string
		for _, e := range tc.c.Validate() {
			got = append(got, e.Path+": "+e.Msg)
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
