package detector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// etcdWithAuth is an etcd member with auth on, as etcd 3.5 and later
// behave: every request needs a token, which the member forgets when told
// to (as a restart forgets simple tokens).
type etcdWithAuth struct {
	t              *testing.T
	mu             sync.Mutex
	tokens         map[string]bool
	logins         int
	authOff        bool   // answer as etcd with auth not enabled
	rejectedAnswer string // the file a rejected token gets
	seenTokens     []string
}

func (e *etcdWithAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	token := r.Header.Get("Authorization")
	e.seenTokens = append(e.seenTokens, token)
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/v3/auth/authenticate" {
		e.authenticate(w, body)
		return
	}
	switch {
	case e.authOff:
	case token == "":
		w.WriteHeader(http.StatusBadRequest)
		w.Write(presetFile(e.t, "etcd-error-user-empty.json"))
		return
	case !e.tokens[token]:
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(presetFile(e.t, e.rejectedAnswer))
		return
	}
	file := map[string]string{"/v3/maintenance/status": "etcd-status.json", "/v3/cluster/member/list": "etcd-member-list.json"}[r.URL.Path]
	w.Write(presetFile(e.t, file))
}

func (e *etcdWithAuth) authenticate(w http.ResponseWriter, body []byte) {
	var creds struct{ Name, Password string }
	json.Unmarshal(body, &creds)
	switch {
	case e.authOff:
		w.WriteHeader(http.StatusPreconditionFailed)
		w.Write(presetFile(e.t, "etcd-error-auth-not-enabled.json"))
	case creds.Name != "leaderhook" || creds.Password != "s3cret-pw":
		w.WriteHeader(http.StatusBadRequest)
		w.Write(presetFile(e.t, "etcd-error-auth-failed.json"))
	default:
		e.logins++
		token := fmt.Sprintf("tOkEn%d.%d", e.logins, 10+e.logins)
		e.tokens[token] = true
		fmt.Fprintf(w, `{"header":{"cluster_id":"17495100640981928781","member_id":"7616583982444832909","revision":"1","raft_term":"2"},"token":%q}`, token)
	}
}

func (e *etcdWithAuth) forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens = map[string]bool{}
}

func (e *etcdWithAuth) counts() (logins int, tokens []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.logins, append([]string(nil), e.seenTokens...)
}

// etcd's auth: log in once, send the token as Authorization, log in again
// when a member rejects it (in either gateway's error shape), and poll
// without a token while etcd's auth is off.
func TestEtcdLogin(t *testing.T) {
	for _, rejected := range []string{"etcd-error-invalid-token.json", "etcd-error-invalid-token-grpc-gateway-v2.json"} {
		member := &etcdWithAuth{t: t, tokens: map[string]bool{}, rejectedAnswer: rejected}
		url := serve(t, member.ServeHTTP)
		e := &Etcd{Username: "leaderhook", Password: "s3cret-pw"}
		poll := func() {
			t.Helper()
			r, err := e.Poll(context.Background(), http.DefaultClient, url)
			if err != nil || r != (Report{Self: "e1", Leader: "e2", Term: 2}) {
				t.Fatalf("%s: %+v %v", rejected, r, err)
			}
		}
		poll()
		poll()
		if logins, tokens := member.counts(); logins != 1 || strings.Join(tokens, " ") != " tOkEn1.11 tOkEn1.11 tOkEn1.11" {
			t.Errorf("%s: %d logins, tokens sent %q; want one login, then its token on every request", rejected, logins, tokens)
		}
		member.forget()
		poll()
		if logins, _ := member.counts(); logins != 2 {
			t.Errorf("%s: %d logins after the member forgot the token, want 2", rejected, logins)
		}
	}
}

func TestEtcdLoginWithAuthOff(t *testing.T) {
	member := &etcdWithAuth{t: t, tokens: map[string]bool{}, authOff: true}
	url := serve(t, member.ServeHTTP)
	e := &Etcd{Username: "leaderhook", Password: "s3cret-pw"}
	for range 2 {
		if r, err := e.Poll(context.Background(), http.DefaultClient, url); err != nil || r.Leader != "e2" {
			t.Fatalf("%+v %v", r, err)
		}
	}
	// A login, the status, the member list; then the status alone.
	if _, tokens := member.counts(); len(tokens) != 4 || strings.Join(tokens, "") != "" {
		t.Errorf("tokens sent %q, want none in four requests", tokens)
	}
}

func TestEtcdWrongPassword(t *testing.T) {
	member := &etcdWithAuth{t: t, tokens: map[string]bool{}}
	url := serve(t, member.ServeHTTP)
	e := &Etcd{Username: "leaderhook", Password: "wrong-password"}
	_, err := e.Poll(context.Background(), http.DefaultClient, url)
	if err == nil || !strings.Contains(err.Error(), "etcd login: HTTP 400") || !strings.Contains(err.Error(), "invalid user ID or password") {
		t.Errorf("error %v, want the failed login", err)
	}
}

// The ACL token goes in the header each product reads.
func TestACLTokenHeaders(t *testing.T) {
	cases := []struct {
		preset      string
		header      string
		answers     map[string]answer
		wantQueries int
	}{
		{"consul", "X-Consul-Token", map[string]answer{"GET /v1/agent/self": {file: "consul-agent-self.json"}, "GET /v1/status/leader": {file: "consul-status-leader.json"}}, 2},
		{"nomad", "X-Nomad-Token", map[string]answer{"GET /v1/agent/self": {file: "nomad-agent-self.json"}, "GET /v1/status/leader": {file: "nomad-status-leader.json"}}, 2},
		{"vault", "X-Vault-Token", map[string]answer{"GET /v1/sys/leader": {file: "vault-leader.json"}}, 1},
	}
	for _, tc := range cases {
		p, err := NewPreset(Source{Type: SourcePoll, Preset: tc.preset, Token: "acl-token-1234"})
		if err != nil {
			t.Fatal(err)
		}
		f, url := newFakeMember(t, tc.answers)
		if _, err := p.Poll(context.Background(), http.DefaultClient, url); err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		got := f.requests()
		for _, r := range got {
			if r.header.Get(tc.header) != "acl-token-1234" {
				t.Errorf("%s: %s %s without %s: %v", tc.preset, r.method, r.path, tc.header, r.header)
			}
		}
		if len(got) != tc.wantQueries {
			t.Errorf("%s: %d requests, want %d", tc.preset, len(got), tc.wantQueries)
		}
	}
}

// echoMember fails every request with the request's headers and body in
// its answer, as a careless proxy might: the preset's errors must not
// carry the secrets on.
func echoMember(t *testing.T, login string) string {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if login != "" && strings.Contains(r.URL.Path, "authenticate") {
			w.Header().Set("zt-session", login)
			fmt.Fprintf(w, `{"token":%q,"data":{"token":%q}}`, login, login)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "bad request: %s %v %s", r.URL, r.Header, body)
	})
}

func TestSecretsNeverInErrors(t *testing.T) {
	const password, token, session = "s3cret-pw", "acl-token-1234", "session-token-5678"
	cases := []struct {
		src   Source
		login string // a token the login hands out
	}{
		{Source{Preset: "etcd", Username: "leaderhook", Password: password}, ""},
		{Source{Preset: "etcd", Username: "leaderhook", Password: password}, session},
		{Source{Preset: "openziti", Username: "leaderhook", Password: password}, ""},
		{Source{Preset: "openziti", Username: "leaderhook", Password: password}, session},
		{Source{Preset: "consul", Token: token}, ""},
		{Source{Preset: "nomad", Token: token}, ""},
		{Source{Preset: "vault", Token: token}, ""},
	}
	for _, tc := range cases {
		p, err := NewPreset(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Poll(context.Background(), http.DefaultClient, echoMember(t, tc.login))
		if err == nil {
			t.Fatalf("%s: no error", tc.src.Preset)
		}
		msg := err.Error()
		for _, secret := range []string{password, token, session} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: the error shows a secret: %s", tc.src.Preset, msg)
			}
		}
		if !strings.Contains(msg, "REDACTED") {
			t.Errorf("%s: %s: the echo of a secret is not marked", tc.src.Preset, msg)
		}
	}
}

// A redacted timeout is still a timeout: the poll loop names the limit.
func TestRedactedErrorKeepsItsCause(t *testing.T) {
	err := redact(fmt.Errorf("login with s3cret-pw: %w", context.DeadlineExceeded), "s3cret-pw")
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "login with REDACTED: context deadline exceeded" {
		t.Errorf("%v", err)
	}
	var se *StatusError
	if errors.As(redact(&StatusError{Code: 500, Body: "s3cret-pw"}, "s3cret-pw"), &se) {
		t.Error("errors.As reaches the text with the secret")
	}
}

// A controller that hangs while logging in holds up only its own poll.
func TestOpenZitiLoginHoldsUpOnlyItsMember(t *testing.T) {
	hung := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server sees the client go
		<-r.Context().Done()
	})
	_, ok := newFakeMember(t, map[string]answer{
		"POST /edge/management/v1/authenticate": {file: "openziti-authenticate.json"},
		"GET /fabric/v1/cluster/list-members":   {file: "openziti-list-members.json"},
	})
	z := &OpenZiti{Username: "leaderhook", Password: "pw"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go z.Poll(ctx, http.DefaultClient, hung)
	time.Sleep(50 * time.Millisecond) // the hung login has begun
	start := time.Now()
	r, err := z.Poll(ctx, http.DefaultClient, ok)
	if err != nil || r.Leader != "ctrl2" || time.Since(start) > time.Second {
		t.Errorf("%+v %v after %s, want ctrl2 at once", r, err, time.Since(start))
	}
}

// A member that redirects elsewhere (a hostile or misconfigured one, a
// proxy) must not carry the source's credentials to another host: the ACL
// token header and a login's body would otherwise follow the redirect.
func TestCredentialsNotCarriedByRedirectToAnotherHost(t *testing.T) {
	const password, token = "s3cret-pw", "acl-token-1234"
	var mu sync.Mutex
	var leaked []string
	elsewhere := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		leaked = append(leaked, fmt.Sprintf("%s %s %v %s", r.Method, r.URL.Path, r.Header, body))
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	})
	redirecting := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere+r.URL.Path, http.StatusTemporaryRedirect)
	})
	for _, src := range []Source{
		{Type: SourcePoll, Preset: "consul", Token: token},
		{Type: SourcePoll, Preset: "vault", Token: token},
		{Type: SourcePoll, Preset: "etcd", Username: "leaderhook", Password: password},
		{Type: SourcePoll, Preset: "openziti", Username: "leaderhook", Password: password},
	} {
		p, err := NewPreset(src)
		if err != nil {
			t.Fatal(err)
		}
		client, err := NewClient(src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Poll(context.Background(), client, redirecting)
		if err == nil || !strings.Contains(err.Error(), "redirected to another host") {
			t.Errorf("%s: a poll answered by a redirect elsewhere: %v, want it not followed", src.Preset, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range leaked {
		if strings.Contains(l, password) || strings.Contains(l, token) {
			t.Errorf("the other host got a credential: %s", l)
		}
	}
}
