package detector

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Report is what one member says when polled.
type Report struct {
	Self   string // the member's name (its URL when the API does not say)
	Leader string // the leader it follows, "" for none
}

// Preset knows how to ask one kind of cluster member for its leader.
type Preset interface {
	Poll(ctx context.Context, c *http.Client, member string) (Report, error)
}

// NewPreset returns the preset for a source config.
func NewPreset(src Source) (Preset, error) {
	switch src.Preset {
	case "etcd":
		return &Etcd{}, nil
	case "rqlite":
		return Rqlite{}, nil
	case "consul", "nomad":
		return StatusLeader{}, nil
	case "vault":
		return Vault{}, nil
	case "openziti":
		return &OpenZiti{Username: src.Username, Password: src.Password}, nil
	case "generic":
		return NewGeneric(src.Method, src.Path, src.Body, src.Leader)
	}
	return nil, fmt.Errorf("unknown preset %q", src.Preset)
}

// pollTransport is shared by poll sources: it keeps connections to each
// member open between polls (Go's default keeps only two per host, so a
// daemon polling many clusters behind one address would reconnect on
// almost every poll).
var pollTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4096
	t.MaxIdleConnsPerHost = 256
	return t
}()

// NewClient returns an HTTP client trusting the CA file, if one is given.
func NewClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{Transport: pollTransport}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", caFile)
	}
	t := pollTransport.Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t}, nil
}

func fetch(ctx context.Context, c *http.Client, method, u string, body []byte, header http.Header, into any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.Header, &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(data))}
	}
	if into != nil {
		if err := json.Unmarshal(data, into); err != nil {
			return resp.Header, fmt.Errorf("%s: not the JSON expected: %w", u, err)
		}
	}
	return resp.Header, nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	if len(e.Body) > 200 {
		e.Body = e.Body[:200] + "…"
	}
	return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body)
}

func join(base, path string) string { return strings.TrimRight(base, "/") + path }

// Etcd asks etcd's v3 gateway: POST /v3/maintenance/status. A missing
// "leader" means no leader (the answer is still HTTP 200). Member IDs are
// uint64 decimal strings, mapped to names with /v3/cluster/member/list.
type Etcd struct {
	mu    sync.Mutex
	names map[uint64]string
}

func (e *Etcd) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var st struct {
		Header struct {
			MemberID json.Number `json:"member_id"`
		} `json:"header"`
		Leader json.Number `json:"leader"`
		Errors []string    `json:"errors"`
	}
	if _, err := fetch(ctx, c, http.MethodPost, join(member, "/v3/maintenance/status"), []byte("{}"), nil, &st); err != nil {
		return Report{}, err
	}
	self, err := e.name(ctx, c, member, st.Header.MemberID)
	if err != nil {
		return Report{}, err
	}
	if st.Leader == "" || st.Leader == "0" {
		return Report{Self: self}, nil
	}
	leader, err := e.name(ctx, c, member, st.Leader)
	if err != nil {
		return Report{}, err
	}
	return Report{Self: self, Leader: leader}, nil
}

func (e *Etcd) name(ctx context.Context, c *http.Client, member string, id json.Number) (string, error) {
	n, err := strconv.ParseUint(string(id), 10, 64)
	if err != nil {
		return "", fmt.Errorf("etcd member id %q: %w", id, err)
	}
	e.mu.Lock()
	name, ok := e.names[n]
	e.mu.Unlock()
	if ok {
		return name, nil
	}
	var list struct {
		Members []struct {
			ID   json.Number `json:"ID"`
			Name string      `json:"name"`
		} `json:"members"`
	}
	if _, err := fetch(ctx, c, http.MethodPost, join(member, "/v3/cluster/member/list"), []byte("{}"), nil, &list); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.names == nil {
		e.names = map[uint64]string{}
	}
	for _, m := range list.Members {
		if id, err := strconv.ParseUint(string(m.ID), 10, 64); err == nil && m.Name != "" {
			e.names[id] = m.Name
		}
	}
	if name, ok := e.names[n]; ok {
		return name, nil
	}
	return string(id), nil
}

// Rqlite reads GET /status: .store.leader.node_id ("" when none).
type Rqlite struct{}

func (Rqlite) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var st struct {
		Store struct {
			NodeID string `json:"node_id"`
			Leader struct {
				NodeID string `json:"node_id"`
			} `json:"leader"`
		} `json:"store"`
	}
	if _, err := fetch(ctx, c, http.MethodGet, join(member, "/status"), nil, nil, &st); err != nil {
		return Report{}, err
	}
	return Report{Self: st.Store.NodeID, Leader: st.Store.Leader.NodeID}, nil
}

// StatusLeader reads Consul's and Nomad's GET /v1/status/leader: the
// leader's address as a JSON string, "" when there is none (Nomad may
// answer an error instead).
type StatusLeader struct{}

func (StatusLeader) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var leader string
	_, err := fetch(ctx, c, http.MethodGet, join(member, "/v1/status/leader"), nil, nil, &leader)
	var se *StatusError
	if errors.As(err, &se) && strings.Contains(strings.ToLower(se.Body), "no cluster leader") {
		return Report{}, nil
	}
	if err != nil {
		return Report{}, err
	}
	return Report{Leader: leader}, nil
}

// Vault reads GET /v1/sys/leader: leader_address ("" when none).
type Vault struct{}

func (Vault) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var st struct {
		HAEnabled     bool   `json:"ha_enabled"`
		LeaderAddress string `json:"leader_address"`
	}
	if _, err := fetch(ctx, c, http.MethodGet, join(member, "/v1/sys/leader"), nil, nil, &st); err != nil {
		return Report{}, err
	}
	return Report{Leader: st.LeaderAddress}, nil
}

// OpenZiti logs in (POST /edge/management/v1/authenticate?method=password)
// and reads GET /fabric/v1/cluster/list-members: the member marked leader.
// A login succeeds on a leaderless controller too: it proves nothing.
type OpenZiti struct {
	Username, Password string
	mu                 sync.Mutex
	sessions           map[string]string
}

func (z *OpenZiti) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	token, err := z.session(ctx, c, member, false)
	if err != nil {
		return Report{}, err
	}
	var list struct {
		Data []struct {
			ID     string `json:"id"`
			Leader bool   `json:"leader"`
		} `json:"data"`
	}
	_, err = fetch(ctx, c, http.MethodGet, join(member, "/fabric/v1/cluster/list-members"), nil, http.Header{"Zt-Session": {token}}, &list)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusUnauthorized {
		if token, err = z.session(ctx, c, member, true); err == nil {
			_, err = fetch(ctx, c, http.MethodGet, join(member, "/fabric/v1/cluster/list-members"), nil, http.Header{"Zt-Session": {token}}, &list)
		}
	}
	if err != nil {
		return Report{}, err
	}
	for _, m := range list.Data {
		if m.Leader {
			return Report{Leader: m.ID}, nil
		}
	}
	return Report{}, nil
}

func (z *OpenZiti) session(ctx context.Context, c *http.Client, member string, renew bool) (string, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if t, ok := z.sessions[member]; ok && !renew {
		return t, nil
	}
	body, _ := json.Marshal(map[string]string{"username": z.Username, "password": z.Password})
	var auth struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	h, err := fetch(ctx, c, http.MethodPost, join(member, "/edge/management/v1/authenticate?method=password"), body, nil, &auth)
	if err != nil {
		return "", fmt.Errorf("openziti login: %w", err)
	}
	token := h.Get("zt-session")
	if token == "" {
		token = auth.Data.Token
	}
	if z.sessions == nil {
		z.sessions = map[string]string{}
	}
	z.sessions[member] = token
	return token, nil
}

// Generic polls any JSON status endpoint: method and path (relative to the
// member URL), an optional body, and an expr expression over the decoded
// response (`response`) that yields the leader id ("" for none).
type Generic struct {
	method, path string
	body         []byte
	leader       *vm.Program
}

// NewGeneric compiles the leader expression.
func NewGeneric(method, path, body, leader string) (*Generic, error) {
	if method == "" {
		method = http.MethodGet
	}
	prog, err := expr.Compile(leader, expr.Env(map[string]any{"response": map[string]any{}}), expr.AsKind(reflect.String))
	if err != nil {
		return nil, fmt.Errorf("leader expression: %w", err)
	}
	g := &Generic{method: strings.ToUpper(method), path: path, leader: prog}
	if body != "" {
		g.body = []byte(body)
	}
	return g, nil
}

func (g *Generic) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	u := member
	if g.path != "" {
		if _, err := url.Parse(g.path); err == nil {
			u = join(member, g.path)
		}
	}
	var response any
	if _, err := fetch(ctx, c, g.method, u, g.body, nil, &response); err != nil {
		return Report{}, err
	}
	v, err := expr.Run(g.leader, map[string]any{"response": response})
	if err != nil {
		return Report{}, fmt.Errorf("leader expression: %w", err)
	}
	s, _ := v.(string)
	return Report{Leader: s}, nil
}
