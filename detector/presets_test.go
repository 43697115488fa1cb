package detector

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The files of testdata/presets are answers shaped as each server sends
// them. Where each shape comes from:
//
//   - etcd-*.json: answers of etcd 3.4.23 (Debian's etcd-server) through
//     its v3 gateway, with auth on and off, and with two members of three
//     killed (no leader); the messages are etcd's api/v3rpc/rpctypes/error.go
//     (github.com/etcd-io/etcd). etcd-error-invalid-token-grpc-gateway-v2.json
//     is the error shape of etcd 3.6's gateway (grpc-gateway v2, protojson
//     without unpopulated fields: server/embed/serve.go).
//   - rqlite-status*.json: GET /status as rqlite's store/store.go
//     (Store.Stats) and http/service.go (handleStatus) build it
//     (github.com/rqlite/rqlite); -v5 as v5.9.0 built it, raft stats still
//     strings (numbers since v5.10.0).
//   - consul-*: GET /v1/agent/self as Consul 1.9 answers it (the keys of
//     hashicorp/nomad's client/fingerprint/test_fixtures/consul/agent_self_ce.json,
//     a recorded answer); GET /v1/status/leader is a JSON string; the 403
//     text is hashicorp/consul's acl/errors.go (PermissionDeniedError).
//   - nomad-*: GET /v1/agent/self as hashicorp/nomad's
//     command/agent/agent_endpoint.go (agentSelf, Member) and nomad/server.go
//     (setupSerf's tags, Stats) build it; "No cluster leader" is
//     nomad/structs/errors.go, written as text with HTTP 500 by
//     command/agent/http.go. -rpc-advertised-apart is the leader's with
//     advertise { rpc = "10.1.0.1", serf = "10.0.0.1" }: command/agent/
//     agent.go (convertServerConfig) makes the servers' RPC address, the
//     raft layer's (nomad/server.go, setupRPC), the serf advertise IP with
//     the RPC advertise port; the RPC advertise IP is the clients' only.
//   - vault-*.json: GET /v1/sys/leader per
//     https://developer.hashicorp.com/vault/api-docs/system/leader and
//     hashicorp/vault's api/sys_leader.go (LeaderResponse); the active
//     node's answer has is_self true; a node without HA storage answers
//     ha_enabled false, is_self false and no leader address
//     (http/sys_leader.go, Core.GetLeaderStatus); a sealed node answers 503
//     {"errors":["Vault is sealed"]} (vault/ha.go's Leader returns
//     consts.ErrSealed, which sdk/logical's AdjustErrorStatusCode makes a
//     503). vault-proxy-no-upstream.txt is Envoy's 503 of a proxy in front
//     with no node behind it.
//   - openziti-*.json: openziti/ziti's controller/specs/swagger.yml
//     (clusterMemberListResponse), controller/internal/routes/cluster_router.go
//     and authenticate_router.go (CurrentAPISessionDetailEnvelope); the
//     error envelopes are openziti/foundation's errorz/helpers.go and
//     controller/apierror/messages.go. No field says which member answers:
//     cluster_router.go leaves out controller/raft/member.go's IsSelf.

// answer is one canned reply of a fake member: a status (200 when 0) and
// a file of testdata/presets ("" for no body).
type answer struct {
	code int
	file string
}

// request is what a fake member was sent.
type request struct {
	method, path, query, body string
	header                    http.Header
}

// fakeMember answers "METHOD /path" with files and records the requests.
type fakeMember struct {
	t       *testing.T
	mu      sync.Mutex
	answers map[string]answer
	got     []request
}

func newFakeMember(t *testing.T, answers map[string]answer) (*fakeMember, string) {
	f := &fakeMember{t: t, answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeMember) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, request{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
	a, ok := f.answers[r.Method+" "+r.URL.Path]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "no such route", http.StatusNotFound)
		return
	}
	data := presetFile(f.t, a.file)
	if strings.HasSuffix(a.file, ".json") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if a.code != 0 {
		w.WriteHeader(a.code)
	}
	w.Write(data)
}

func (f *fakeMember) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.got...)
}

func presetFile(t *testing.T, name string) []byte {
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join("testdata", "presets", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func must(g *Generic, err error) *Generic {
	if err != nil {
		panic(err)
	}
	return g
}

type presetCase struct {
	name    string
	preset  Preset
	answers map[string]answer
	want    Report
	wantErr string
}

func presetCases() []presetCase {
	etcdAnswers := func(status answer) map[string]answer {
		return map[string]answer{"POST /v3/maintenance/status": status, "POST /v3/cluster/member/list": {file: "etcd-member-list.json"}}
	}
	agent := func(self, leader answer) map[string]answer {
		return map[string]answer{"GET /v1/agent/self": self, "GET /v1/status/leader": leader}
	}
	zitiAnswers := func(list answer) map[string]answer {
		return map[string]answer{"POST /edge/management/v1/authenticate": {file: "openziti-authenticate.json"}, "GET /fabric/v1/cluster/list-members": list}
	}
	ziti := func() Preset { return &OpenZiti{Username: "leaderhook", Password: "pw"} }
	return []presetCase{
		{"etcd: a leader (ids above 2^53)", &Etcd{}, etcdAnswers(answer{file: "etcd-status.json"}), Report{Self: "e1", Leader: "e2", Term: 2}, ""},
		{"etcd: 200 without a leader", &Etcd{}, etcdAnswers(answer{file: "etcd-status-no-leader.json"}), Report{Self: "e1", Term: 2}, ""},
		{"etcd: an error", &Etcd{}, etcdAnswers(answer{503, "etcd-error-timeout.json"}), Report{}, "HTTP 503: " + `{"error":"etcdserver: request timed out"`},
		{"rqlite: a leader", Rqlite{}, map[string]answer{"GET /status": {file: "rqlite-status.json"}}, Report{Self: "2", Leader: "1", Term: 3}, ""},
		{"rqlite: no leader", Rqlite{}, map[string]answer{"GET /status": {file: "rqlite-status-no-leader.json"}}, Report{Self: "2", Term: 11}, ""},
		{"rqlite v5: stats as strings", Rqlite{}, map[string]answer{"GET /status": {file: "rqlite-status-v5.json"}}, Report{Self: "2", Leader: "1", Term: 4}, ""},
		{"rqlite: auth required", Rqlite{}, map[string]answer{"GET /status": {code: 401}}, Report{}, "HTTP 401"},
		{"consul: a leader", StatusLeader{}, agent(answer{file: "consul-agent-self.json"}, answer{file: "consul-status-leader.json"}), Report{Self: "10.0.0.2:8300", Leader: "10.0.0.1:8300", Term: 4}, ""},
		{"consul: no leader", StatusLeader{}, agent(answer{file: "consul-agent-self-no-leader.json"}, answer{file: "consul-status-leader-none.json"}), Report{Self: "10.0.0.2:8300", Term: 9}, ""},
		{"consul: ACLs, no token", StatusLeader{}, agent(answer{403, "consul-agent-self-denied.txt"}, answer{file: "consul-status-leader.json"}), Report{}, "HTTP 403: Permission denied: anonymous token lacks permission 'agent:read'"},
		{"nomad: a leader", StatusLeader{Stale: true}, agent(answer{file: "nomad-agent-self.json"}, answer{file: "nomad-status-leader.json"}), Report{Self: "10.0.0.2:4647", Leader: "10.0.0.1:4647", Term: 6}, ""},
		// advertise { rpc = "10.1.0.1", serf = "10.0.0.1" }: the raft
		// address is still the serf IP with the RPC port, which the leader
		// names itself by; the RPC IP (config.AdvertiseAddrs.RPC,
		// Tags["rpc_addr"]) is the one clients dial.
		{"nomad: the leader, RPC advertised apart from serf", StatusLeader{Stale: true}, agent(answer{file: "nomad-agent-self-rpc-advertised-apart.json"}, answer{file: "nomad-status-leader.json"}), Report{Self: "10.0.0.1:4647", Leader: "10.0.0.1:4647", Term: 6}, ""},
		{"nomad: 500 No cluster leader", StatusLeader{Stale: true}, agent(answer{file: "nomad-agent-self-no-leader.json"}, answer{500, "nomad-no-cluster-leader.txt"}), Report{Self: "10.0.0.2:4647", Term: 12}, ""},
		{"nomad: ACLs, no token", StatusLeader{Stale: true}, agent(answer{403, "nomad-permission-denied.txt"}, answer{file: "nomad-status-leader.json"}), Report{}, "HTTP 403: Permission denied"},
		{"vault: a leader", Vault{}, map[string]answer{"GET /v1/sys/leader": {file: "vault-leader.json"}}, Report{Leader: "https://10.0.0.1:8200"}, ""},
		{"vault: the active node names itself", Vault{}, map[string]answer{"GET /v1/sys/leader": {file: "vault-leader-self.json"}}, Report{Self: "https://10.0.0.1:8200", Leader: "https://10.0.0.1:8200"}, ""},
		{"vault: no leader", Vault{}, map[string]answer{"GET /v1/sys/leader": {file: "vault-leader-none.json"}}, Report{}, ""},
		// A sealed node is up and follows no leader: counted unreachable, a
		// cluster whose nodes are all sealed would look cut off from
		// leaderhook instead of leaderless.
		{"vault: sealed", Vault{}, map[string]answer{"GET /v1/sys/leader": {503, "vault-sealed.json"}}, Report{}, ""},
		{"vault: a proxy's 503", Vault{}, map[string]answer{"GET /v1/sys/leader": {503, "vault-proxy-no-upstream.txt"}}, Report{}, "HTTP 503: no healthy upstream"},
		{"openziti: a leader", ziti(), zitiAnswers(answer{file: "openziti-list-members.json"}), Report{Leader: "ctrl2"}, ""},
		{"openziti: no leader", ziti(), zitiAnswers(answer{file: "openziti-list-members-no-leader.json"}), Report{}, ""},
		{"openziti: not clustered", ziti(), zitiAnswers(answer{400, "openziti-not-ha.json"}), Report{}, "SERVER_NOT_RUNNING_IN_HA_MODE"},
	}
}

// Every preset asks what the server answers and reads it as the server
// writes it: a leader, no leader, an error.
func TestPresetsReadServerAnswers(t *testing.T) {
	c := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range presetCases() {
		_, url := newFakeMember(t, tc.answers)
		got, err := tc.preset.Poll(context.Background(), c, url)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		case got != tc.want:
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// The requests are those the servers' APIs take: etcd's gateway wants
// POST with a JSON body, OpenZiti's login a method and a JSON body.
func TestPresetsSendWhatServersTake(t *testing.T) {
	c := &http.Client{Timeout: 5 * time.Second}
	want := map[string][]string{
		"etcd: a leader (ids above 2^53)": {"POST /v3/maintenance/status {}", "POST /v3/cluster/member/list {}"},
		"rqlite: a leader":                {"GET /status "},
		"consul: a leader":                {"GET /v1/agent/self ", "GET /v1/status/leader "},
		"nomad: a leader":                 {"GET /v1/agent/self ", "GET /v1/status/leader?stale=true "},
		"vault: a leader":                 {"GET /v1/sys/leader "},
		"openziti: a leader": {`POST /edge/management/v1/authenticate?method=password {"password":"pw","username":"leaderhook"}`,
			"GET /fabric/v1/cluster/list-members "},
	}
	for _, tc := range presetCases() {
		if want[tc.name] == nil {
			continue
		}
		f, url := newFakeMember(t, tc.answers)
		if _, err := tc.preset.Poll(context.Background(), c, url); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, r := range f.requests() {
			line := r.method + " " + r.path
			if r.query != "" {
				line += "?" + r.query
			}
			got = append(got, line+" "+r.body)
			if r.body != "" && r.header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %s %s with Content-Type %q", tc.name, r.method, r.path, r.header.Get("Content-Type"))
			}
		}
		if strings.Join(got, "\n") != strings.Join(want[tc.name], "\n") {
			t.Errorf("%s: sent\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(want[tc.name], "\n"))
		}
	}
}

// The leader of the generic preset comes from an expression over the
// decoded answer.
func TestGenericPreset(t *testing.T) {
	g := must(NewGeneric(Source{Method: "POST", Path: "/raft/state", Body: `{}`, Leader: `response.raft.leader ?? ""`}))
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/raft/state" {
			http.Error(w, "wrong request", 400)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"raft": map[string]string{"leader": "n3"}})
	})
	got, err := g.Poll(context.Background(), http.DefaultClient, url)
	if err != nil || got != (Report{Leader: "n3"}) {
		t.Errorf("%+v %v", got, err)
	}
}

// A leader id may come as a JSON number: it is read as its decimal text,
// not as no leader. A value that is no id is an error (the member is not
// heard, rather than leaderless), and so is a number JSON cannot hold
// exactly, which would name another member.
func TestGenericLeaderIDs(t *testing.T) {
	cases := []struct{ name, answer, want, wantErr string }{
		{"a string", `{"leader_id":"n3"}`, "n3", ""},
		{"a number", `{"leader_id":3}`, "3", ""},
		{"zero", `{"leader_id":0}`, "0", ""},
		{"2^53-1", `{"leader_id":9007199254740991}`, "9007199254740991", ""},
		{"negative", `{"leader_id":-1}`, "-1", ""},
		{"null", `{"leader_id":null}`, "", ""},
		{"absent", `{}`, "", ""},
		{"a fraction", `{"leader_id":2.5}`, "", "leader expression yields 2.5, not a whole number"},
		{"2^53", `{"leader_id":9007199254740992}`, "", "send it as a string"},
		{"above 2^53", `{"leader_id":9007199254740993}`, "", "send it as a string"},
		{"a bool", `{"leader_id":true}`, "", "leader expression yields bool, not a string or number"},
		{"an object", `{"leader_id":{"id":"n3"}}`, "", "leader expression yields map[string]interface {}, not a string or number"},
		{"a list", `{"leader_id":["n3"]}`, "", "leader expression yields []interface {}, not a string or number"},
	}
	g := must(NewGeneric(Source{Path: "/s", Leader: `response.leader_id ?? ""`}))
	for _, tc := range cases {
		got, err := pollAnswer(t, g, tc.answer)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %+v, error %v, want %q", tc.name, got, err, tc.wantErr)
		case got != (Report{Leader: tc.want}):
			t.Errorf("%s: %+v, want leader %q", tc.name, got, tc.want)
		}
	}
}

// An API that says "no leader" with a 0 is read with the expression the
// reference gives for it, and one whose ids are whole numbers may convert
// them with int().
func TestGenericNumericLeaderExpressions(t *testing.T) {
	cases := []struct{ leader, answer, want string }{
		{`response.leader == 0 ? nil : response.leader`, `{"leader":0}`, ""},
		{`response.leader == 0 ? nil : response.leader`, `{"leader":3}`, "3"},
		{`response.leader == 0 ? nil : response.leader`, `{"leader":"n3"}`, "n3"},
		{`int(response.leader_id)`, `{"leader_id":3}`, "3"},
	}
	for _, tc := range cases {
		g, err := NewGeneric(Source{Path: "/s", Leader: tc.leader})
		if err != nil {
			t.Errorf("%s: %v", tc.leader, err)
			continue
		}
		got, err := pollAnswer(t, g, tc.answer)
		if err != nil || got != (Report{Leader: tc.want}) {
			t.Errorf("%s over %s: %+v %v, want leader %q", tc.leader, tc.answer, got, err, tc.want)
		}
	}
}

// The self expression names the polled member, in the same forms as the
// leader's; without it the member goes by its URL (Self "").
func TestGenericSelf(t *testing.T) {
	cases := []struct{ name, self, answer, want, wantErr string }{
		{"a string", "response.id", `{"id":"node2","leader_id":"node1"}`, "node2", ""},
		{"a number", "response.id", `{"id":2,"leader_id":"node1"}`, "2", ""},
		{"absent", "response.id", `{"leader_id":"node1"}`, "", ""},
		{"not set", "", `{"id":"node2","leader_id":"node1"}`, "", ""},
		{"a bool", "response.id", `{"id":true,"leader_id":"node1"}`, "", "self expression yields bool, not a string or number"},
		{"fails", "response.id.name", `{"id":"node2","leader_id":"node1"}`, "", "self expression: "},
	}
	for _, tc := range cases {
		g := must(NewGeneric(Source{Leader: "response.leader_id", Self: tc.self}))
		got, err := pollAnswer(t, g, tc.answer)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %+v, error %v, want %q", tc.name, got, err, tc.wantErr)
		case tc.wantErr == "" && got != (Report{Self: tc.want, Leader: "node1"}):
			t.Errorf("%s: %+v, want self %q", tc.name, got, tc.want)
		}
	}
}

// Expressions that compute on the answer's numbers keep working: numbers
// are decoded as float64, which expr compares with its own.
func TestGenericExpressionsComputeOnNumbers(t *testing.T) {
	g := must(NewGeneric(Source{Path: "/s", Leader: `response.term > 1 && response.votes + 1 >= 3 ? response.leader_id : ""`}))
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"term":2,"votes":2,"leader_id":7}`))
	})
	got, err := g.Poll(context.Background(), http.DefaultClient, url)
	if err != nil || got != (Report{Leader: "7"}) {
		t.Errorf("%+v %v, want leader 7", got, err)
	}
}

// A Vault without HA storage (a single node on file storage) answers
// ha_enabled false and no leader address while it is unsealed and
// serving: it is its own leader, named by the URL it is polled at.
func TestVaultStandaloneLeadsItself(t *testing.T) {
	_, url := newFakeMember(t, map[string]answer{"GET /v1/sys/leader": {file: "vault-leader-not-ha.json"}})
	got, err := Vault{}.Poll(context.Background(), &http.Client{Timeout: 5 * time.Second}, url)
	if want := (Report{Self: url, Leader: url}); err != nil || got != want {
		t.Errorf("%+v %v, want %+v", got, err, want)
	}
}

// An OpenZiti controller's answer does not say which member it is: the
// polled one is the member whose raft address is the host and port it is
// polled at (OpenZiti's HA setup serves the control channel and the APIs
// on one port). The fake member answers whatever host the URL names.
func TestOpenZitiNamesThePolledController(t *testing.T) {
	_, fake := newFakeMember(t, map[string]answer{
		"POST /edge/management/v1/authenticate": {file: "openziti-authenticate.json"},
		"GET /fabric/v1/cluster/list-members":   {file: "openziti-list-members.json"}, // tls:ctrlN.example:1280, ctrl2 leads
	})
	dialer := &net.Dialer{}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, strings.TrimPrefix(fake, "http://"))
		},
	}}
	cases := []struct{ url, self string }{
		{"http://ctrl2.example:1280", "ctrl2"},
		{"http://ctrl1.example:1280/", "ctrl1"},
		{"http://CTRL3.Example:1280", "ctrl3"},
		{"http://ctrl1.example:8441", ""}, // the APIs on another port than the control channel
		{"http://ctrl1.example", ""},      // port 80
		{"http://10.0.0.1:1280", ""},
	}
	for _, tc := range cases {
		z := &OpenZiti{Username: "leaderhook", Password: "pw"}
		got, err := z.Poll(context.Background(), c, tc.url)
		if want := (Report{Self: tc.self, Leader: "ctrl2"}); err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", tc.url, got, err, want)
		}
	}
}

// A Nomad server forwards GET /v1/status/leader to the leader unless the
// request allows a stale read, and with no leader it holds the request for
// its RPC hold timeout (5 s by default) before it answers 500 "No cluster
// leader" (hashicorp/nomad's nomad/rpc.go, forward). The fake does the
// same: without ?stale it answers nothing until the poll gives up; with it,
// its own view, "" for no leader.
func TestNomadAsksEachServerItsOwnView(t *testing.T) {
	held := make(chan struct{})
	t.Cleanup(func() { close(held) })
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/agent/self":
			w.Write(presetFile(t, "nomad-agent-self-no-leader.json"))
		case r.URL.Path == "/v1/status/leader" && r.URL.Query().Has("stale"):
			w.Write(presetFile(t, "nomad-status-leader-none.json"))
		case r.URL.Path == "/v1/status/leader":
			select { // held for the hold timeout, longer than a poll's timeout
			case <-r.Context().Done():
			case <-held:
			}
		default:
			http.NotFound(w, r)
		}
	})
	p, err := NewPreset(Source{Preset: "nomad"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := p.Poll(ctx, &http.Client{}, url)
	if want := (Report{Self: "10.0.0.2:4647", Term: 12}); err != nil || got != want {
		t.Errorf("%+v %v, want %+v: a leaderless server's poll must answer no leader, not time out", got, err, want)
	}
}

// pollAnswer polls p at a server that answers answer.
func pollAnswer(t *testing.T, p Preset, answer string) (Report, error) {
	url := serve(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(answer)) })
	return p.Poll(context.Background(), http.DefaultClient, url)
}
