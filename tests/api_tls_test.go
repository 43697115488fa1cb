package tests

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// apiTLS is a CA, and a certificate it signed for 127.0.0.1 that serves
// the API and, for mutual TLS, identifies leaderhook's own calls.
type apiTLS struct {
	pki               *testpki.CA
	certFile, keyFile string
}

func newAPITLS(t *testing.T) *apiTLS {
	pki := testpki.New(t)
	certFile, keyFile := pki.Issue("api", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	return &apiTLS{pki: pki, certFile: certFile, keyFile: keyFile}
}

// block is the server.tls block of mutual TLS.
func (a *apiTLS) block() string {
	return fmt.Sprintf("{cert_file: %s, key_file: %s, client_ca_file: %s, ca_file: %s}", a.certFile, a.keyFile, a.pki.File, a.pki.File)
}

// client trusts the CA and presents the certificate.
func (a *apiTLS) client(t *testing.T) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(mustRead(t, a.pki.File)))
	pair, err := tls.LoadX509KeyPair(a.certFile, a.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}}}
}

// A daemon whose API serves HTTPS with mutual TLS takes events with the
// token over it and delivers what they fire; `leaderhook health -c` and
// `leaderhook expect -c` reach it through the config's server.tls.
func TestAPIOverMutualTLS(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	a := newAPITLS(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	listen := freePorts(t, 1)[0]
	os.WriteFile(config, []byte(fmt.Sprintf(`server:
  listen: %q
  ingest_token: t0k3n
  tls: %s
state_dir: %s/state
clusters:
  - {name: ziti, stabilize: 0s, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`, listen, a.block(), dir, hook.URL)), 0o644)
	d := startDaemon(t, config)
	base := d.baseURL(t)
	if base != "https://"+listen {
		t.Fatalf("API at %s, want https://%s", base, listen)
	}
	for _, e := range []string{ev("c1", "state.has_leader", "c1"), ev("c1", "state.is_leaderless", "")} {
		code, body, _ := postWith(t, a.client(t), base+"/v1/events?cluster=ziti", "t0k3n", e)
		if code != http.StatusAccepted {
			t.Fatalf("POST /v1/events over https: %d %s", code, body)
		}
	}
	waitFor(t, "the webhook", func() bool { return len(rcv.seen()) > 0 }, d)
	if resp, err := http.Get("http://" + listen + "/v1/state"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the API answered plain HTTP")
		}
	}
	if out, stderr, code := run(t, nil, "health", "-c", config); code != 0 || out != "ok\n" {
		t.Errorf("health -c: exit %d, %q %q", code, out, stderr)
	}
	if out, stderr, code := run(t, nil, "expect", "ziti", "--end", "-c", config); code != 0 || !strings.Contains(out, "ziti:") {
		t.Errorf("expect -c: exit %d, %q %q", code, out, stderr)
	}
	// Without its client certificate, --url with --ca-file is refused.
	if _, stderr, code := run(t, nil, "health", "--url", base+"/healthz", "--ca-file", a.pki.File); code != 1 {
		t.Errorf("health without a client certificate: exit %d, %q", code, stderr)
	}
}

// In a group whose APIs serve HTTPS with mutual TLS, a node hands the
// events it takes to the leader over it, and the leader delivers.
func TestHAForwardsOverMutualTLS(t *testing.T) {
	a := newAPITLS(t)
	server := fmt.Sprintf(`{listen: "127.0.0.1:0", ingest_token: t0k3n, tls: %s}`, a.block())
	g := startGroupServing(t, server, a.client(t), "1m", haRules, "{type: events, http: true}", "")
	leader := g.leader()
	if s, _ := g.status(leader); !strings.HasPrefix(s.LeaderAPI, "https://") {
		t.Fatalf("the leader's API is %q, want https", s.LeaderAPI)
	}
	other := (leader + 1) % haNodes
	start := time.Now()
	g.post(other, eventAt("c1", "state.has_leader", "c1", start))
	g.post(other, eventAt("c1", "state.is_leaderless", "", start.Add(10*time.Millisecond)))
	g.waitDelivered(0, "lost", "firing", "")
	flags := []string{"--url", g.nodes[other].baseURL(t), "--ca-file", a.pki.File, "--cert-file", a.certFile, "--key-file", a.keyFile}
	if out, stderr, code := run(t, nil, append([]string{"ha", "status"}, flags...)...); code != 0 || !strings.Contains(out, "leader: lh") {
		t.Errorf("ha status over https: exit %d, %q %q", code, out, stderr)
	}
}
