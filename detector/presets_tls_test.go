package detector

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// testCA signs certificates for the TLS tests.
type testCA struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate, PEM
	n    int64
}

func newTestCA(t *testing.T) *testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{t: t, dir: t.TempDir(), cert: cert, key: key, n: 1}
	ca.file = ca.write("ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, kind string, der []byte) string {
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// issue writes a certificate and its key as name.pem and name-key.pem.
func (ca *testCA) issue(name string, usage x509.ExtKeyUsage, dns []string, ips []net.IP) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	ca.n++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(ca.n), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: dns, IPAddresses: ips}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return ca.write(name+".pem", "CERTIFICATE", der), ca.write(name+"-key.pem", "PRIVATE KEY", keyDER)
}

// mtlsMember serves HTTPS, asks for a client certificate signed by the CA
// and answers with the client certificate's name.
func mtlsMember(t *testing.T, ca *testCA, dns []string, ips []net.IP) string {
	certFile, keyFile := ca.issue("member", x509.ExtKeyUsageServerAuth, dns, ips)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func getName(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}

// A poll source presents its client certificate, verifies the member with
// its CA, and keeps the shared transport's connection limits.
func TestNewClientMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	url := mtlsMember(t, ca, nil, []net.IP{net.ParseIP("127.0.0.1")})
	certFile, keyFile := ca.issue("leaderhook", x509.ExtKeyUsageClientAuth, nil, nil)
	c, err := NewClient(Source{CAFile: ca.file, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if name, err := getName(c, url); err != nil || name != "leaderhook" {
		t.Fatalf("%q %v", name, err)
	}
	if tr := c.Transport.(*http.Transport); tr.MaxIdleConnsPerHost != pollTransport.MaxIdleConnsPerHost || tr == pollTransport {
		t.Errorf("the TLS transport is not a copy of the shared one: %d idle connections per host", tr.MaxIdleConnsPerHost)
	}
	noCert, _ := NewClient(Source{CAFile: ca.file})
	if _, err := getName(noCert, url); err == nil {
		t.Error("a member that requires a client certificate answered a client without one")
	}
	plain, _ := NewClient(Source{})
	if plain.Transport != pollTransport {
		t.Error("a source without TLS settings does not share the transport")
	}
}

// server_name verifies a member reached by an address its certificate
// does not name.
func TestNewClientServerName(t *testing.T) {
	ca := newTestCA(t)
	url := mtlsMember(t, ca, []string{"etcd1.example"}, nil)
	certFile, keyFile := ca.issue("leaderhook", x509.ExtKeyUsageClientAuth, nil, nil)
	src := Source{CAFile: ca.file, CertFile: certFile, KeyFile: keyFile}
	c, _ := NewClient(src)
	if _, err := getName(c, url); err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("a certificate for etcd1.example verified for %s: %v", url, err)
	}
	src.ServerName = "etcd1.example"
	c, _ = NewClient(src)
	if name, err := getName(c, url); err != nil || name != "leaderhook" {
		t.Errorf("%q %v", name, err)
	}
}

// A renewed client certificate is presented from the next connection on.
func TestClientCertificateRenewed(t *testing.T) {
	ca := newTestCA(t)
	url := mtlsMember(t, ca, nil, []net.IP{net.ParseIP("127.0.0.1")})
	certFile, keyFile := ca.issue("leaderhook", x509.ExtKeyUsageClientAuth, nil, nil)
	c, err := NewClient(Source{CAFile: ca.file, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if name, err := getName(c, url); err != nil || name != "leaderhook" {
		t.Fatalf("%q %v", name, err)
	}
	newCert, newKey := ca.issue("leaderhook-renewed", x509.ExtKeyUsageClientAuth, nil, nil)
	for _, f := range [][2]string{{newCert, certFile}, {newKey, keyFile}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	c.CloseIdleConnections()
	if name, err := getName(c, url); err != nil || name != "leaderhook-renewed" {
		t.Errorf("after the renewal: %q %v", name, err)
	}
	// Half written: the last good pair stays in use.
	os.WriteFile(keyFile, []byte("not yet"), 0o600)
	c.CloseIdleConnections()
	if name, err := getName(c, url); err != nil || name != "leaderhook-renewed" {
		t.Errorf("with a broken key file: %q %v", name, err)
	}
}

// Handshakes may run at once: the certificate's reload is safe for them.
func TestClientCertificateConcurrentHandshakes(t *testing.T) {
	ca := newTestCA(t)
	url := mtlsMember(t, ca, nil, []net.IP{net.ParseIP("127.0.0.1")})
	certFile, keyFile := ca.issue("leaderhook", x509.ExtKeyUsageClientAuth, nil, nil)
	c, err := NewClient(Source{CAFile: ca.file, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := getName(c, url); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// A watched https member is polled and watched at once with the same TLS
// settings; the transport writes to its own copy on its first request, so
// the watch must hold another (under -race, a shared one can be reported).
func TestPollSourceWatchesTLSMember(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := ca.issue("member", x509.ExtKeyUsageServerAuth, nil, []net.IP{net.ParseIP("127.0.0.1")})
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"store":{"node_id":"a","leader":{"node_id":"a"}}}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client, err := NewClient(Source{CAFile: ca.file})
	if err != nil {
		t.Fatal(err)
	}
	src := &PollSource{Cluster: "c", Members: []string{srv.URL}, Preset: Rqlite{}, Interval: 10 * time.Millisecond,
		Watch: true, Client: client}
	out := make(chan event.Event, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, out); close(done) }()
	defer func() { cancel(); <-done }()
	for {
		ev := next(t, out, "a's report")
		if ev.Type == event.MembersChanged {
			continue
		}
		if ev.Source != "a" || ev.LeaderID != "a" {
			t.Fatalf("first report %+v, want a following a", ev)
		}
		return
	}
}
