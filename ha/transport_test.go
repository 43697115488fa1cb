package ha

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A group over mutual TLS elects a leader and replicates; a client whose
// certificate another CA signed is refused.
func TestGroupOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	files := writePKI(t, dir, "ca")
	g := newGroupTLS(t, 3, files)
	l := g.leader()
	if err := g.nodes[l].Propose(Command{Kind: Events, Cluster: "a"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		g.waitApplied(i, []string{"a"})
	}

	rogue := writePKI(t, filepath.Join(dir, "rogue"), "rogue")
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

// writePKI writes a CA and one node certificate it signed (valid for
// 127.0.0.1) under dir.
func writePKI(t *testing.T, dir, name string) TLS {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	files := TLS{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "node.pem"), KeyFile: filepath.Join(dir, "node.key")}
	writePEM(t, files.CAFile, "CERTIFICATE", caDER)
	writePEM(t, files.CertFile, "CERTIFICATE", leafDER)
	writePEM(t, files.KeyFile, "EC PRIVATE KEY", keyDER)
	return files
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
