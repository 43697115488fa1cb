package tests

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/internal/testpki"
)

// startEtcdClientCertAuth starts three etcd members whose client URLs are
// HTTPS and require a client certificate signed by the CA.
func startEtcdClientCertAuth(t *testing.T, pki *testpki.CA) *etcdCluster {
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatal("etcd is not installed: `make test` installs Debian's etcd-server (apt-get install etcd-server)")
	}
	// Client use too: a member's gateway calls its own gRPC server with
	// the member's certificate.
	certFile, keyFile := pki.Issue("member", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	c := &etcdCluster{t: t, dir: t.TempDir(), procs: map[string]*exec.Cmd{}}
	var initial []string
	ports := freePorts(t, 6)
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("etcd%d", i)
		c.names = append(c.names, name)
		c.client = append(c.client, "https://"+ports[2*i-2])
		c.peer = append(c.peer, "http://"+ports[2*i-1])
		initial = append(initial, name+"="+c.peer[i-1])
	}
	c.initial = strings.Join(initial, ",")
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.Process.Kill()
			p.Wait()
		}
	})
	for i, name := range c.names {
		cmd := exec.Command("etcd", "--name", name, "--data-dir", filepath.Join(c.dir, name),
			"--listen-client-urls", c.client[i], "--advertise-client-urls", c.client[i],
			"--listen-peer-urls", c.peer[i], "--initial-advertise-peer-urls", c.peer[i],
			"--initial-cluster", c.initial, "--initial-cluster-state", "new", "--initial-cluster-token", "leaderhook-tls-test",
			"--client-cert-auth", "--trusted-ca-file", pki.File, "--cert-file", certFile, "--key-file", keyFile,
			"--log-level", "error")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c.procs[name] = cmd
	}
	return c
}

// etcdState is a cluster's part of GET /v1/state.
type etcdState struct {
	HasLeader        bool   `json:"has_leader"`
	LeaderID         string `json:"leader_id"`
	PreviousLeaderID string `json:"previous_leader_id"`
	Members          []struct {
		ID      string `json:"id"`
		Follows string `json:"follows"`
	} `json:"members"`
}

// etcdStateOf reads the cluster's state; none while the daemon starts.
func etcdStateOf(t *testing.T, base string) etcdState {
	t.Helper()
	_, body := get(t, base+"/v1/state")
	var s struct {
		Clusters []etcdState `json:"clusters"`
	}
	if json.Unmarshal([]byte(body), &s) != nil || len(s.Clusters) != 1 {
		return etcdState{}
	}
	return s.Clusters[0]
}

// changeReceiver records the leader changes a rule sends it.
type changeReceiver struct {
	mu      sync.Mutex
	changes []string // "previous -> leader"
}

func (r *changeReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var n struct {
		Status string `json:"status"`
		State  struct {
			LeaderID         string `json:"leader_id"`
			PreviousLeaderID string `json:"previous_leader_id"`
		} `json:"state"`
	}
	body, _ := io.ReadAll(req.Body)
	json.Unmarshal(body, &n)
	if n.Status == "firing" {
		r.mu.Lock()
		r.changes = append(r.changes, n.State.PreviousLeaderID+" -> "+n.State.LeaderID)
		r.mu.Unlock()
	}
}

func (r *changeReceiver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.changes...)
}

// etcdConfig is a daemon config polling members with the source keys
// given, and a rule that sends each leader change to hook.
func etcdConfig(t *testing.T, members []string, sourceKeys, hook string) string {
	dir := t.TempDir()
	config := filepath.Join(dir, "rules.yaml")
	text := fmt.Sprintf(`server: {listen: "127.0.0.1:0"}
state_dir: %s/state
clusters:
  - name: etcd
    stabilize: 1s
    source:
      type: poll
      preset: etcd
      members: [%s]
      interval: 200ms
%s
actions:
  hook: {type: webhook, url: "%s/hook"}
rules:
  - name: leader-changed
    when: type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id
    actions: [hook]
`, dir, strings.Join(members, ", "), sourceKeys, hook)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return config
}

// killLeaderIsAnnounced waits for the leader, kills it with SIGKILL and
// waits for the change to another leader to be announced.
func killLeaderIsAnnounced(t *testing.T, c *etcdCluster, d *daemon, rcv *changeReceiver) (killed, next string) {
	t.Helper()
	base := d.baseURL(t)
	var st etcdState
	waitFor(t, "a leader in /v1/state", func() bool { st = etcdStateOf(t, base); return st.HasLeader }, d)
	if !strings.HasPrefix(st.LeaderID, "etcd") {
		t.Fatalf("leader %q, want a member's name", st.LeaderID)
	}
	killed = st.LeaderID
	c.kill(killed)
	waitFor(t, "another leader in /v1/state", func() bool {
		st = etcdStateOf(t, base)
		return st.HasLeader && st.LeaderID != killed
	}, d)
	if st.PreviousLeaderID != killed {
		t.Errorf("new leader %s announced after %q, want after %s", st.LeaderID, st.PreviousLeaderID, killed)
	}
	want := killed + " -> " + st.LeaderID
	waitFor(t, "the leader change at the hook", func() bool { return strings.Join(rcv.seen(), ",") == want }, d)
	return killed, st.LeaderID
}

// TestEtcdClientCertAuth: etcd requires client certificates; leaderhook
// presents one, knows the leader, and announces the change when the
// leader is killed.
func TestEtcdClientCertAuth(t *testing.T) {
	pki := testpki.New(t)
	c := startEtcdClientCertAuth(t, pki)
	certFile, keyFile := pki.Issue("leaderhook", x509.ExtKeyUsageClientAuth)
	rcv := &changeReceiver{}
	hook := httptestServer(t, rcv)
	keys := fmt.Sprintf("      ca_file: %s\n      cert_file: %s\n      key_file: %s", pki.File, certFile, keyFile)
	d := startDaemon(t, etcdConfig(t, c.client, keys, hook))
	killLeaderIsAnnounced(t, c, d, rcv)

	// Without the certificate, etcd refuses the polls: no leader is known.
	rcv2 := &changeReceiver{}
	plain := startDaemon(t, etcdConfig(t, c.client, "      ca_file: "+pki.File, httptestServer(t, rcv2)))
	waitFor(t, "the refused handshake in the log", func() bool { return strings.Contains(plain.logs(), "certificate") }, plain)
	if st := etcdStateOf(t, plain.baseURL(t)); st.HasLeader {
		t.Errorf("a leader known without a client certificate: %+v", st)
	}
}

// etcdEnableAuth creates etcd's root user and turns auth on, through the
// gateway as `etcdctl user add root`, `user grant-role root root` and
// `auth enable` do.
func etcdEnableAuth(t *testing.T, member, password string) {
	for _, step := range []struct{ path, body string }{
		{"/v3/auth/user/add", fmt.Sprintf(`{"name":"root","password":%q}`, password)},
		{"/v3/auth/user/grant", `{"user":"root","role":"root"}`},
		{"/v3/auth/enable", `{}`},
	} {
		var resp *http.Response
		var err error
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, err = http.Post(member+step.path, "application/json", strings.NewReader(step.body))
			if err == nil && resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
				break
			}
			if err == nil {
				resp.Body.Close()
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", step.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", step.path, resp.StatusCode, body)
		}
	}
}

// TestEtcdPasswordAuth: with etcd's auth on, leaderhook logs in with the
// password from the environment, knows the leader and announces its
// change; a wrong password is logged as a failed login, never printed.
func TestEtcdPasswordAuth(t *testing.T) {
	const password = "etcd-root-Pa55word"
	c := startEtcd(t)
	etcdEnableAuth(t, c.client[0], password)
	t.Setenv("LH_TEST_ETCD_PASSWORD", password)
	rcv := &changeReceiver{}
	keys := "      username: root\n      password: ${LH_TEST_ETCD_PASSWORD}"
	d := startDaemon(t, etcdConfig(t, c.client, keys, httptestServer(t, rcv)))
	killLeaderIsAnnounced(t, c, d, rcv)

	t.Setenv("LH_TEST_ETCD_PASSWORD", "wrong-"+password)
	wrong := startDaemon(t, etcdConfig(t, c.client, keys, httptestServer(t, &changeReceiver{})))
	waitFor(t, "the failed login in the log", func() bool { return strings.Contains(wrong.logs(), "etcd login: HTTP 400") }, wrong)
	for _, dd := range []*daemon{d, wrong} {
		if strings.Contains(dd.logs(), password) {
			t.Errorf("the password is in the log:\n%s", dd.logs())
		}
	}
}
