package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/testpki"
	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

// daemonAnswers answers the health, expect and ha status commands as a
// daemon does.
func daemonAnswers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok\n"))
		case "/v1/expect":
			w.Write([]byte(`{"cluster": "z", "expected": null}`))
		default:
			w.Write([]byte(`{"node_id": "lh1", "role": "leader", "leader_id": "lh1"}`))
		}
	})
}

// mutualTLSAPI answers every request with a daemon's answers, over HTTPS
// requiring a client certificate ca signed.
func mutualTLSAPI(t *testing.T, ca *testpki.CA) (url string) {
	t.Helper()
	certFile, keyFile := ca.Issue("api", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	cfg, err := tlsfiles.Server(certFile, keyFile, ca.File)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(daemonAnswers())
	// Not StartTLS: it would serve its own certificate to clients that
	// send no server name, as they do to an IP address.
	srv.Listener = tls.NewListener(srv.Listener, cfg)
	srv.Start()
	t.Cleanup(srv.Close)
	return "https://" + srv.Listener.Addr().String()
}

// Each command that calls the API speaks HTTPS with mutual TLS: with -c,
// through the config's server.tls; with --url, through the flags.
func TestCommandsCallHTTPSAPI(t *testing.T) {
	ca := testpki.New(t)
	api := mutualTLSAPI(t, ca)
	certFile, keyFile := ca.Issue("client", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	config := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(config, []byte(`server:
  listen: "`+strings.TrimPrefix(api, "https://")+`"
  tls: {cert_file: `+certFile+`, key_file: `+keyFile+`, client_ca_file: `+ca.File+`, ca_file: `+ca.File+`}
clusters:
  - {name: z, source: {type: events, http: true}}
actions:
  hook: {type: webhook, url: "http://127.0.0.1:1/hook"}
rules:
  - {name: lost, when: leaderless, actions: [hook]}
`), 0o600)
	flags := []string{"--ca-file", ca.File, "--cert-file", certFile, "--key-file", keyFile}
	for _, args := range [][]string{
		{"health", "-c", config},
		{"expect", "z", "--end", "-c", config},
		{"ha", "status", "-c", config},
		append([]string{"health", "--url", api + "/healthz"}, flags...),
		append([]string{"expect", "z", "--end", "--url", api}, flags...),
		append([]string{"ha", "status", "--url", api}, flags...),
	} {
		if _, stderr, code := leaderhook(t, args...); code != 0 {
			t.Errorf("%s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
	// Without the client certificate, the handshake is refused.
	for _, args := range [][]string{
		{"health", "--url", api + "/healthz", "--ca-file", ca.File},
		{"ha", "status", "--url", api, "--ca-file", ca.File},
	} {
		if _, _, code := leaderhook(t, args...); code == 0 {
			t.Errorf("%s: exit 0 without a client certificate", strings.Join(args, " "))
		}
	}
}

// A file of the flags that does not load is named by its flag.
func TestAPIClientFlagErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, c := range []struct {
		flags apiTLS
		want  string
	}{
		{apiTLS{caFile: missing}, "--ca-file: open " + missing},
		{apiTLS{certFile: missing}, "--cert-file and --key-file go together"},
		{apiTLS{certFile: missing, keyFile: missing}, "--cert-file: open " + missing},
	} {
		if _, err := apiClient(nil, c.flags, 0); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %s", c.flags, err, c.want)
		}
	}
	if c, err := apiClient(nil, apiTLS{}, 0); err != nil || c.Transport != nil {
		t.Errorf("no TLS: %v %v", c, err)
	}
}

// The commands that call a running daemon read only the config's server
// block: a bad rule the daemon refused to reload must not fail the Docker
// HEALTHCHECK (health -c) of a daemon that runs fine, nor expect or ha.
// A problem in the server block itself is still reported at its key.
func TestAPICommandsReadOnlyTheServerBlock(t *testing.T) {
	srv := httptest.NewServer(daemonAnswers())
	defer srv.Close()
	dir := t.TempDir()
	elsewhere := filepath.Join(dir, "elsewhere.yaml")
	os.WriteFile(elsewhere, []byte("server: {listen: "+strings.TrimPrefix(srv.URL, "http://")+"}\n"+
		"clusters:\n  - {name: z, source: {type: events, stdin: true}}\n"+
		"actions:\n  hook: {type: webhook, url: \"${UNSET_HOOK_URL}\"}\n"+
		"rules:\n  - {name: lost, when: 'leaderless_for >= duration(\"20x\")', actions: [hook]}\n"+
		"windws: {}\n"), 0o644)
	inServer := filepath.Join(dir, "server.yaml")
	os.WriteFile(inServer, []byte("server: {listen: nowhere}\nclusters: []\n"), 0o644)
	for _, args := range [][]string{{"health"}, {"expect", "z", "--end"}, {"ha", "status"}} {
		cmd := strings.Join(args, " ")
		if _, stderr, code := leaderhook(t, append(args, "-c", elsewhere)...); code != 0 {
			t.Errorf("%s -c: exit %d for a daemon that answers at server.listen: %s", cmd, code, stderr)
		}
		_, stderr, code := leaderhook(t, append(args, "-c", inServer)...)
		if want := inServer + ":1:18: server.listen: \"nowhere\" is not host:port"; code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%s -c with a bad server.listen: exit %d, stderr %q; want 1 and %q", cmd, code, stderr, want)
		}
	}
}
