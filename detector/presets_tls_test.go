package detector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/testpki"
)

// mtlsMember serves HTTPS, asks for a client certificate signed by the CA
// and answers with the client certificate's name.
func mtlsMember(t *testing.T, ca *testpki.CA, hosts []string) string {
	certFile, keyFile := ca.IssueFor("member", hosts, x509.ExtKeyUsageServerAuth)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
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
	ca := testpki.New(t)
	url := mtlsMember(t, ca, []string{"127.0.0.1"})
	certFile, keyFile := ca.Issue("leaderhook", x509.ExtKeyUsageClientAuth)
	c, err := NewClient(Source{CAFile: ca.File, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if name, err := getName(c, url); err != nil || name != "leaderhook" {
		t.Fatalf("%q %v", name, err)
	}
	if tr := c.Transport.(*http.Transport); tr.MaxIdleConnsPerHost != pollTransport.MaxIdleConnsPerHost || tr == pollTransport {
		t.Errorf("the TLS transport is not a copy of the shared one: %d idle connections per host", tr.MaxIdleConnsPerHost)
	}
	noCert, _ := NewClient(Source{CAFile: ca.File})
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
	ca := testpki.New(t)
	url := mtlsMember(t, ca, []string{"etcd1.example"})
	certFile, keyFile := ca.Issue("leaderhook", x509.ExtKeyUsageClientAuth)
	src := Source{CAFile: ca.File, CertFile: certFile, KeyFile: keyFile}
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
	ca := testpki.New(t)
	url := mtlsMember(t, ca, []string{"127.0.0.1"})
	certFile, keyFile := ca.Issue("leaderhook", x509.ExtKeyUsageClientAuth)
	c, err := NewClient(Source{CAFile: ca.File, CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if name, err := getName(c, url); err != nil || name != "leaderhook" {
		t.Fatalf("%q %v", name, err)
	}
	newCert, newKey := ca.Issue("leaderhook-renewed", x509.ExtKeyUsageClientAuth)
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
	ca := testpki.New(t)
	url := mtlsMember(t, ca, []string{"127.0.0.1"})
	certFile, keyFile := ca.Issue("leaderhook", x509.ExtKeyUsageClientAuth)
	c, err := NewClient(Source{CAFile: ca.File, CertFile: certFile, KeyFile: keyFile})
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
	ca := testpki.New(t)
	certFile, keyFile := ca.IssueFor("member", []string{"127.0.0.1"}, x509.ExtKeyUsageServerAuth)
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
	client, err := NewClient(Source{CAFile: ca.File})
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

// Members are polled directly: HTTP_PROXY and HTTPS_PROXY, there for the
// actions' way out, do not apply, so that a proxy that fails is never
// taken for members that do (as Prometheus scrapes by default).
func TestPollsGoStraightToTheMembers(t *testing.T) {
	ca := testpki.New(t)
	for _, src := range []Source{{}, {CAFile: ca.File}} {
		c, err := NewClient(src)
		if err != nil {
			t.Fatal(err)
		}
		if tr := c.Transport.(*http.Transport); tr.Proxy != nil {
			t.Errorf("CA file %q: the poll client goes through the environment's proxy", src.CAFile)
		}
	}
}
