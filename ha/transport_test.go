package ha

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// A group over mutual TLS elects a leader and replicates; a client whose
// certificate another CA signed is refused.
func TestGroupOverMutualTLS(t *testing.T) {
	files := nodePKI(t)
	g := newGroupTLS(t, 3, files)
	l := g.leader()
	if err := g.nodes[l].Propose(Command{Kind: Events, Cluster: "a"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		g.waitApplied(i, []string{"a"})
	}

	rogue := nodePKI(t)
	conf, err := mutualTLS(rogue)
	if err != nil {
		t.Fatal(err)
	}
	// The rogue trusts the node: only the node's check is tested.
	conf.InsecureSkipVerify = true
	conn, err := tls.Dial("tcp", g.cfgs[l].Bind, conf)
	if err == nil {
		// TLS 1.3: the server's refusal of the client's certificate
		// arrives with the first read.
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Error("a node took a connection whose certificate another CA signed")
	}
}

// nodePKI is a new CA and one node certificate it signed (valid for
// 127.0.0.1), to serve and to call the group with.
func nodePKI(t *testing.T) TLS {
	t.Helper()
	ca := testpki.New(t)
	cert, key := ca.Issue("node", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	return TLS{CAFile: ca.File, CertFile: cert, KeyFile: key}
}
