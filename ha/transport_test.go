package ha

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// A group over mutual TLS elects a leader and replicates; a peer whose
// certificate another CA signed is refused, dialing in or dialed.
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
	conf.dial.VerifyConnection = nil
	conn, err := tls.Dial("tcp", g.cfgs[l].Bind, conf.dial)
	if err == nil {
		// TLS 1.3: the server's refusal of the client's certificate
		// arrives with the first read.
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil {
		t.Error("a node took a connection whose certificate another CA signed")
	}

	// The rogue asks for no certificate: only the dialing node's check is tested.
	conf.listen.ClientAuth = tls.NoClientCert
	rl, err := tls.Listen("tcp", "127.0.0.1:0", conf.listen)
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	go func() {
		if c, err := rl.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	nodeTLS, err := mutualTLS(files)
	if err != nil {
		t.Fatal(err)
	}
	stream := &tlsStream{Listener: rl, config: nodeTLS.dial}
	if conn, err := stream.Dial(raft.ServerAddress(rl.Addr().String()), 10*time.Second); err == nil {
		conn.Close()
		t.Error("a node dialed a peer whose certificate another CA signed")
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

// A node's certificate need only be signed by the CA: one that names the
// node's host name, not the address its peers dial, is taken all the same,
// as the docs promise.
func TestGroupOverMutualTLSCertificateNamingAnotherHost(t *testing.T) {
	ca := testpki.New(t)
	cert, key := ca.IssueFor("node", []string{"lh1.example.internal"}, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	g := newGroupTLS(t, 3, TLS{CAFile: ca.File, CertFile: cert, KeyFile: key})
	l := g.leader()
	if err := g.nodes[l].Propose(Command{Kind: Events, Cluster: "a"}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		g.waitApplied(i, []string{"a"})
	}
}

// A certificate renewed on disk is presented from the next handshake on,
// both when a node accepts a peer and when it dials one, without a restart.
func TestMutualTLSCertificateRenewed(t *testing.T) {
	ca := testpki.New(t)
	certFile, keyFile := ca.Issue("node", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	conf, err := mutualTLS(TLS{CAFile: ca.File, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", conf.listen)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stream := &tlsStream{Listener: l, config: conf.dial}
	if accepted, dialed := handshakeNames(t, stream); accepted != "node" || dialed != "node" {
		t.Fatalf("before the renewal: the listener saw %q, the dialer %q", accepted, dialed)
	}
	newCert, newKey := ca.Issue("node-renewed", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	for _, f := range [][2]string{{newCert, certFile}, {newKey, keyFile}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if accepted, dialed := handshakeNames(t, stream); accepted != "node-renewed" || dialed != "node-renewed" {
		t.Errorf("after the renewal: the listener saw %q, the dialer %q", accepted, dialed)
	}
}

// handshakeNames dials the stream's listener through the stream and says
// whose certificate each side was shown.
func handshakeNames(t *testing.T, s *tlsStream) (accepted, dialed string) {
	t.Helper()
	names := make(chan string, 1)
	go func() {
		conn, err := s.Accept()
		if err != nil {
			names <- "accept: " + err.Error()
			return
		}
		defer conn.Close()
		tc := conn.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			names <- "handshake: " + err.Error()
			return
		}
		names <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	}()
	conn, err := s.Dial(raft.ServerAddress(s.Listener.Addr().String()), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dialed = conn.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
	return <-names, dialed
}
