package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/testpki"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

const tlsConfig = `server:
  listen: "127.0.0.1:0"
  tls: {cert_file: {{.Cert}}, key_file: {{.Key}}{{if .ClientCA}}, client_ca_file: {{.ClientCA}}{{end}}}
state_dir: {{.Dir}}/state
clusters:
  - {name: ziti, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "{{.Hook}}/hook"}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`

// tlsClient trusts ca's certificates and, with certFile, presents it.
func tlsClient(t *testing.T, ca *testpki.CA, certFile, keyFile string) *http.Client {
	t.Helper()
	cfg, err := tlsfiles.Client(ca.File, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

// startTLS runs a daemon whose API serves HTTPS with a certificate ca
// signed, requiring client certificates when clientCA is set.
func startTLS(t *testing.T, ca *testpki.CA, clientCA string) *harness {
	t.Helper()
	cert, key := ca.Issue("api", x509.ExtKeyUsageServerAuth)
	h := newHarness(t, tlsConfig, map[string]any{"Cert": cert, "Key": key, "ClientCA": clientCA, "Hook": closedURL(t)})
	clientCert, clientKey := "", ""
	if clientCA != "" {
		clientCert, clientKey = ca.Issue("client", x509.ExtKeyUsageClientAuth)
	}
	h.client = tlsClient(t, ca, clientCert, clientKey)
	h.start(Options{})
	return h
}

// With server.tls, the API is HTTPS: a client trusting the CA reads it,
// one speaking plain HTTP does not.
func TestAPIServesHTTPS(t *testing.T) {
	h := startTLS(t, testpki.New(t), "")
	if h.base[:8] != "https://" {
		t.Fatalf("base %s", h.base)
	}
	if code, body := h.get("/v1/state"); code != http.StatusOK {
		t.Fatalf("GET /v1/state over https: %d %s", code, body)
	}
	// net/http tells a plain HTTP client that it speaks to HTTPS.
	resp, err := http.Get("http://" + h.d.Addr() + "/v1/state")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("GET /v1/state over plain http: %s, want 400", resp.Status)
		}
	}
	if resp, err := http.Get(h.base + "/v1/state"); err == nil {
		resp.Body.Close()
		t.Fatal("a client that does not trust the CA got an answer")
	}
}

// With client_ca_file, a client without a certificate the CA signed is
// refused at the handshake; one with it is answered.
func TestAPIMutualTLS(t *testing.T) {
	ca := testpki.New(t)
	h := startTLS(t, ca, ca.File)
	if code, body := h.get("/v1/state"); code != http.StatusOK {
		t.Fatalf("with a client certificate: %d %s", code, body)
	}
	resp, err := tlsClient(t, ca, "", "").Get(h.base + "/v1/state")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("without a client certificate: %s, want the handshake refused", resp.Status)
	}
	other := testpki.New(t)
	otherCert, otherKey := other.Issue("stranger", x509.ExtKeyUsageClientAuth)
	resp, err = tlsClient(t, ca, otherCert, otherKey).Get(h.base + "/v1/state")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("with a certificate another CA signed: %s, want the handshake refused", resp.Status)
	}
}

// A certificate renewed on disk is served from the next handshake on,
// without a restart or a reload.
func TestAPICertificateRenewed(t *testing.T) {
	ca := testpki.New(t)
	h := startTLS(t, ca, "")
	servedName := func() string {
		conn, err := tls.Dial("tcp", h.d.Addr(), h.client.Transport.(*http.Transport).TLSClientConfig)
		if err != nil {
			return "handshake failed: " + err.Error()
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if name := servedName(); name != "api" {
		t.Fatalf("served %q", name)
	}
	newCert, newKey := ca.Issue("api-renewed", x509.ExtKeyUsageServerAuth)
	for _, f := range [][2]string{{newCert, h.vars["Cert"].(string)}, {newKey, h.vars["Key"].(string)}} {
		if err := os.Rename(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the renewed certificate to be served", func() bool { return servedName() == "api-renewed" })
	if code, body := h.get("/v1/state"); code != http.StatusOK {
		t.Fatalf("after the renewal: %d %s", code, body)
	}
}

// A reload that changes server.tls is refused whole, naming it: the
// listener applies it only at a start.
func TestReloadRefusesServerTLSChange(t *testing.T) {
	ca := testpki.New(t)
	h := startTLS(t, ca, "")
	h.write(map[string]any{"ClientCA": ca.File})
	err := h.d.Reload()
	if err == nil || !strings.Contains(err.Error(), "server.tls changed: restart leaderhook to apply") {
		t.Fatalf("reload: %v, want it refused naming server.tls", err)
	}
	if code, body := h.get("/v1/state"); code != http.StatusOK {
		t.Fatalf("after the refused reload, without a client certificate: %d %s", code, body)
	}
}
