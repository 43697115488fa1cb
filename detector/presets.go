package detector

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/leaderhook/leaderhook/internal/tlsfiles"
)

// Report is what one member says when polled.
type Report struct {
	Self   string // the member's name (its URL when the API does not say)
	Leader string // the leader it follows, "" for none
	Term   uint64 // the member's raft term, 0 when the API does not say
}

// Preset knows how to ask one kind of cluster member for its leader.
type Preset interface {
	Poll(ctx context.Context, c *http.Client, member string) (Report, error)
}

// NewPreset returns the preset for a source config.
func NewPreset(src Source) (Preset, error) {
	switch src.Preset {
	case "etcd":
		return &Etcd{Username: src.Username, Password: src.Password}, nil
	case "rqlite":
		return Rqlite{}, nil
	case "consul":
		return StatusLeader{TokenHeader: "X-Consul-Token", Token: src.Token}, nil
	case "nomad":
		return StatusLeader{TokenHeader: "X-Nomad-Token", Token: src.Token, Stale: true}, nil
	case "vault":
		return Vault{Token: src.Token}, nil
	case "openziti":
		return &OpenZiti{Username: src.Username, Password: src.Password}, nil
	case "generic":
		return NewGeneric(src)
	}
	return nil, fmt.Errorf("unknown preset %q", src.Preset)
}

// pollTransport is shared by poll sources: it keeps connections to each
// member open between polls (Go's default keeps only two per host, so a
// daemon polling many clusters behind one address would reconnect on
// almost every poll). It goes to the members directly, whatever
// HTTP(S)_PROXY says (those are for the actions' way out): a proxy that
// fails must not be taken for members that do.
var pollTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConns = 4096
	t.MaxIdleConnsPerHost = 256
	return t
}()

// NewClient returns the HTTP client of a poll source: the shared transport,
// or, with TLS settings, a copy of it that keeps its connection limits.
func NewClient(src Source) (*http.Client, error) {
	cfg, err := clientTLS(src)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return &http.Client{Transport: pollTransport, CheckRedirect: sameHostOnly}, nil
	}
	t := pollTransport.Clone()
	t.TLSClientConfig = cfg
	return &http.Client{Transport: t, CheckRedirect: sameHostOnly}, nil
}

// sameHostOnly follows a member's redirects only to the same host and
// port, and not from https to http: net/http would carry the ACL token
// headers and a login's body (a 307's) to wherever a member points.
func sameHostOnly(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 10:
		return errors.New("stopped after 10 redirects")
	case req.URL.Host != first.Host:
		return errors.New("redirected to another host: not followed, since the source's credentials would go with it; list each member's own URL")
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return errors.New("redirected from https to http: not followed")
	}
	return nil
}

// clientTLS returns a source's TLS settings, nil when it has none. An
// error is a *tlsfiles.FileError, at the source key at fault.
func clientTLS(src Source) (*tls.Config, error) {
	if src.CAFile == "" && src.CertFile == "" && src.KeyFile == "" && src.ServerName == "" {
		return nil, nil
	}
	cfg, err := tlsfiles.Client(src.CAFile, src.CertFile, src.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg.ServerName = src.ServerName
	return cfg, nil
}

// fetch sends one request and decodes a 2xx answer's JSON into into; any
// other answer is a *StatusError.
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

// tokenHeader is the header that carries an ACL token, nil without one.
func tokenHeader(name, token string) http.Header {
	if token == "" {
		return nil
	}
	h := http.Header{}
	h.Set(name, token)
	return h
}

// redact hides secrets in err's text. errors.Is still sees the cause (a
// timeout stays one); errors.As does not, since the cause's text is the
// secret's way out.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	// The longest first, so that a secret inside another is not left in part.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	msg := err.Error()
	hidden := msg
	for _, s := range secrets {
		if s != "" {
			hidden = strings.ReplaceAll(hidden, s, "REDACTED")
		}
	}
	if hidden == msg {
		return err
	}
	return &redactedError{msg: hidden, cause: err}
}

type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string        { return e.msg }
func (e *redactedError) Is(target error) bool { return errors.Is(e.cause, target) }

// sessions keeps a login token per member. Its lock is never held during a
// request: a member that does not answer must not hold up the polls of
// the others.
type sessions struct {
	mu       sync.Mutex
	byMember map[string]string
}

func (s *sessions) get(member string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token, ok := s.byMember[member]
	return token, ok
}

func (s *sessions) set(member, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byMember == nil {
		s.byMember = map[string]string{}
	}
	s.byMember[member] = token
}

// tokens returns the tokens held, which are secrets.
func (s *sessions) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byMember))
	for _, t := range s.byMember {
		out = append(out, t)
	}
	return out
}

// with calls call with the member's token: it logs in first when there is
// none yet, and once more when the member rejects the token it has.
func (s *sessions) with(member string, login func() (string, error), rejected func(error) bool, call func(token string) error) error {
	if token, ok := s.get(member); ok {
		err := call(token)
		if err == nil || !rejected(err) {
			return err
		}
	}
	token, err := login()
	if err != nil {
		return err
	}
	s.set(member, token)
	return call(token)
}

// flexUint is a counter that an API sends as a JSON number or as a string
// of digits (hashicorp/raft's stats are strings). Anything else reads as
// 0, unknown: a term is not worth a failed poll.
type flexUint uint64

func (f *flexUint) UnmarshalJSON(data []byte) error {
	n, err := strconv.ParseUint(strings.Trim(string(data), `"`), 10, 64)
	if err != nil {
		n = 0
	}
	*f = flexUint(n)
	return nil
}

// Etcd asks etcd's v3 gateway: POST /v3/maintenance/status. A missing
// "leader" means no leader (the answer is still HTTP 200, with "errors":
// ["etcdserver: no leader"]). Member IDs are uint64 decimal strings, mapped
// to names with /v3/cluster/member/list. With a username it logs in (POST
// /v3/auth/authenticate) and sends the token as Authorization.
type Etcd struct {
	Username, Password string

	mu       sync.Mutex
	names    map[uint64]string
	sessions sessions
}

type etcdStatus struct {
	Header struct {
		MemberID json.Number `json:"member_id"`
		RaftTerm flexUint    `json:"raft_term"`
	} `json:"header"`
	Leader   json.Number `json:"leader"`
	RaftTerm flexUint    `json:"raftTerm"`
}

func (e *Etcd) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	r, err := e.poll(ctx, c, member)
	return r, redact(err, append(e.sessions.tokens(), e.Password)...)
}

func (e *Etcd) poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var st etcdStatus
	if err := e.post(ctx, c, member, "/v3/maintenance/status", &st); err != nil {
		return Report{}, err
	}
	self, err := e.name(ctx, c, member, st.Header.MemberID)
	if err != nil {
		return Report{}, err
	}
	r := Report{Self: self, Term: uint64(st.RaftTerm)}
	if r.Term == 0 {
		r.Term = uint64(st.Header.RaftTerm)
	}
	if st.Leader == "" || st.Leader == "0" {
		return r, nil
	}
	if r.Leader, err = e.name(ctx, c, member, st.Leader); err != nil {
		return Report{}, err
	}
	return r, nil
}

// post sends an empty request to one of the gateway's endpoints, with a
// token when a username is set.
func (e *Etcd) post(ctx context.Context, c *http.Client, member, path string, into any) error {
	call := func(token string) error {
		var h http.Header
		if token != "" {
			h = http.Header{"Authorization": {token}}
		}
		_, err := fetch(ctx, c, http.MethodPost, join(member, path), []byte("{}"), h, into)
		return err
	}
	if e.Username == "" {
		return call("")
	}
	login := func() (string, error) { return e.login(ctx, c, member) }
	return e.sessions.with(member, login, etcdRejected, call)
}

// etcdRejected reports whether etcd refused the token: 401 "etcdserver:
// invalid auth token" once a member forgot it (simple tokens do not
// survive a restart) or it expired, 400 "etcdserver: user name is empty"
// for none.
func etcdRejected(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized ||
		strings.Contains(se.Body, "invalid auth token") || strings.Contains(se.Body, "user name is empty"))
}

// login asks a member for a token. With etcd's auth off there is none to
// get, and requests go without one until a member asks for it.
func (e *Etcd) login(ctx context.Context, c *http.Client, member string) (string, error) {
	body, err := json.Marshal(map[string]string{"name": e.Username, "password": e.Password})
	if err != nil {
		return "", err
	}
	var auth struct {
		Token string `json:"token"`
	}
	_, err = fetch(ctx, c, http.MethodPost, join(member, "/v3/auth/authenticate"), body, nil, &auth)
	var se *StatusError
	if errors.As(err, &se) && strings.Contains(se.Body, "authentication is not enabled") {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("etcd login: %w", err)
	}
	return auth.Token, nil
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
	if err := e.post(ctx, c, member, "/v3/cluster/member/list", &list); err != nil {
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

// Rqlite reads GET /status: .store.leader.node_id ("" when none) and
// .store.raft.term (a number; a string before rqlite converted its raft
// stats to numbers).
type Rqlite struct{}

func (Rqlite) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var st struct {
		Store struct {
			NodeID string `json:"node_id"`
			Leader struct {
				NodeID string `json:"node_id"`
			} `json:"leader"`
			Raft struct {
				Term flexUint `json:"term"`
			} `json:"raft"`
		} `json:"store"`
	}
	if _, err := fetch(ctx, c, http.MethodGet, join(member, "/status"), nil, nil, &st); err != nil {
		return Report{}, err
	}
	return Report{Self: st.Store.NodeID, Leader: st.Store.Leader.NodeID, Term: uint64(st.Store.Raft.Term)}, nil
}

// StatusLeader polls a Consul or a Nomad server. GET /v1/status/leader
// answers the leader's raft address as a JSON string, "" when there is
// none (Nomad may answer 500 "No cluster leader" instead). GET
// /v1/agent/self names the member by its own raft address, so that names
// and leader ids match, and says its raft term; with ACLs on, it needs a
// token allowed agent:read.
type StatusLeader struct {
	TokenHeader, Token string // X-Consul-Token or X-Nomad-Token
	// Stale asks for the server's own view (?stale): without it a Nomad
	// server forwards the question to the leader, and with none holds it
	// for its RPC hold timeout, longer than a poll's, so that a leaderless
	// server would time out instead of answering no leader. Consul's
	// answer is always the server's own.
	Stale bool
}

func (s StatusLeader) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	r, err := s.poll(ctx, c, member)
	return r, redact(err, s.Token)
}

func (s StatusLeader) poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	header := tokenHeader(s.TokenHeader, s.Token)
	var self agentSelf
	if _, err := fetch(ctx, c, http.MethodGet, join(member, "/v1/agent/self"), nil, header, &self); err != nil {
		return Report{}, err
	}
	r := Report{Self: self.raftAddress(), Term: uint64(self.Stats.Raft.Term)}
	path := "/v1/status/leader"
	if s.Stale {
		path += "?stale=true"
	}
	_, err := fetch(ctx, c, http.MethodGet, join(member, path), nil, header, &r.Leader)
	var se *StatusError
	if errors.As(err, &se) && strings.Contains(strings.ToLower(se.Body), "no cluster leader") {
		return r, nil
	}
	if err != nil {
		return Report{}, err
	}
	return r, nil
}

// agentSelf is what GET /v1/agent/self says of a server. Consul's keys
// are capitalised (Member, Stats), Nomad's not (member, stats): JSON
// decoding matches either.
type agentSelf struct {
	DebugConfig struct {
		RPCAdvertiseAddr string // Consul: "tcp://10.0.0.1:8300"
	}
	Member struct {
		Addr string
		Tags map[string]string // "port": the server RPC port
	}
	Stats struct {
		Raft struct {
			Term flexUint `json:"term"`
		} `json:"raft"`
	}
}

// raftAddress is the member's address in raft, the form the leader's is
// given in: Consul's RPC advertise address; for Nomad, which builds its
// own the same way, the gossip address with the server RPC port. Not
// Nomad's RPC advertise address (config.AdvertiseAddrs.RPC, Tags
// "rpc_addr"): advertised apart from the gossip one, it is the clients'
// only, and servers, raft included, use the gossip IP (command/agent's
// convertServerConfig). "" when neither is there.
func (a *agentSelf) raftAddress() string {
	if addr, ok := strings.CutPrefix(a.DebugConfig.RPCAdvertiseAddr, "tcp://"); ok && addr != "" {
		return addr
	}
	port := a.Member.Tags["port"]
	if a.Member.Addr == "" || port == "" {
		return ""
	}
	return net.JoinHostPort(a.Member.Addr, port)
}

// Vault reads GET /v1/sys/leader: leader_address ("" when none). The
// active node names itself (is_self) by that address, which may not be the
// URL it is polled at: without that name the leader would match no member.
// The answer has no raft term: Term stays 0. A sealed node answers 503
// {"errors":["Vault is sealed"]}: it is up and follows no leader, so that a
// cluster whose nodes are all sealed is leaderless, not unreachable. Any
// other 503 (a proxy in front with no node behind it) stays an error. A
// node without HA storage (ha_enabled false) names no leader while it
// serves: unsealed, it is the cluster's one active node, its own leader,
// named by its URL.
type Vault struct {
	Token string // X-Vault-Token
}

func (v Vault) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var st struct {
		HAEnabled     *bool  `json:"ha_enabled"`
		IsSelf        bool   `json:"is_self"`
		LeaderAddress string `json:"leader_address"`
	}
	_, err := fetch(ctx, c, http.MethodGet, join(member, "/v1/sys/leader"), nil, tokenHeader("X-Vault-Token", v.Token), &st)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusServiceUnavailable && strings.Contains(se.Body, "Vault is sealed") {
		return Report{}, nil
	}
	if err != nil {
		return Report{}, redact(err, v.Token)
	}
	if st.HAEnabled != nil && !*st.HAEnabled {
		self := MemberName(member)
		return Report{Self: self, Leader: self}, nil
	}
	r := Report{Leader: st.LeaderAddress}
	if st.IsSelf {
		r.Self = st.LeaderAddress
	}
	return r, nil
}

// OpenZiti logs in (POST /edge/management/v1/authenticate?method=password)
// and reads GET /fabric/v1/cluster/list-members: the member marked leader,
// by its id. The answer does not say which member answers: the polled
// controller names itself by the id of the member whose raft address is
// the host and port it is polled at (OpenZiti's HA setup serves the
// control channel and the APIs on one port), so that the leader matches a
// member; with none, it stays known by its URL. A login succeeds on a
// leaderless controller too: it proves nothing.
type OpenZiti struct {
	Username, Password string

	sessions sessions
}

func (z *OpenZiti) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	r, err := z.poll(ctx, c, member)
	return r, redact(err, append(z.sessions.tokens(), z.Password)...)
}

func (z *OpenZiti) poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			Address string `json:"address"` // "tls:host:port"
			Leader  bool   `json:"leader"`
		} `json:"data"`
	}
	call := func(token string) error {
		_, err := fetch(ctx, c, http.MethodGet, join(member, "/fabric/v1/cluster/list-members"), nil, http.Header{"Zt-Session": {token}}, &list)
		return err
	}
	login := func() (string, error) { return z.login(ctx, c, member) }
	if err := z.sessions.with(member, login, unauthorized, call); err != nil {
		return Report{}, err
	}
	var r Report
	for _, m := range list.Data {
		if m.Leader {
			r.Leader = m.ID
		}
		if polledAt(member, strings.TrimPrefix(m.Address, "tls:")) {
			r.Self = m.ID
		}
	}
	return r, nil
}

// polledAt reports whether the member URL names the host and port addr
// (host:port), the port defaulting to the scheme's.
func polledAt(member, addr string) bool {
	u, err := url.Parse(member)
	host, port, splitErr := net.SplitHostPort(addr)
	if err != nil || splitErr != nil || u.Hostname() == "" {
		return false
	}
	at := u.Port()
	if at == "" {
		at = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.EqualFold(u.Hostname(), host) && at == port
}

func unauthorized(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusUnauthorized
}

func (z *OpenZiti) login(ctx context.Context, c *http.Client, member string) (string, error) {
	body, err := json.Marshal(map[string]string{"username": z.Username, "password": z.Password})
	if err != nil {
		return "", err
	}
	var auth struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	h, err := fetch(ctx, c, http.MethodPost, join(member, "/edge/management/v1/authenticate?method=password"), body, nil, &auth)
	if err != nil {
		return "", fmt.Errorf("openziti login: %w", err)
	}
	if token := h.Get("zt-session"); token != "" {
		return token, nil
	}
	return auth.Data.Token, nil
}

// Generic polls any JSON status endpoint: method and path (relative to the
// member URL), an optional body, and an expr expression over the decoded
// response (`response`) that yields the leader id: a string, or a whole
// number below 2^53 (read as its decimal text); "" or nil for none. An
// optional second expression yields the polled member's own id, in the
// same form: without it, the member goes by its URL, and a leader named by
// the API's id matches no member.
type Generic struct {
	method, path string
	body         []byte
	leader, self *vm.Program // self nil when not set
}

// NewGeneric compiles the source's leader and self expressions.
func NewGeneric(src Source) (*Generic, error) {
	method := src.Method
	if method == "" {
		method = http.MethodGet
	}
	leader, err := compileID(src.Leader)
	if err != nil {
		return nil, fmt.Errorf("leader expression: %w", err)
	}
	g := &Generic{method: strings.ToUpper(method), path: src.Path, leader: leader}
	if src.Self != "" {
		if g.self, err = compileID(src.Self); err != nil {
			return nil, fmt.Errorf("self expression: %w", err)
		}
	}
	if src.Body != "" {
		g.body = []byte(src.Body)
	}
	return g, nil
}

// compileID compiles an expression of the generic preset that yields an
// id from `response`. An id is a string or a number (read as its decimal
// text by idText), and an expression over the decoded answer is mostly
// of a type known only when it runs: only a type that is no id is refused
// here.
func compileID(code string) (*vm.Program, error) {
	prog, err := expr.Compile(code, expr.Env(map[string]any{"response": map[string]any{}}))
	if err != nil {
		return nil, err
	}
	if t := prog.Node().Type(); t != nil && !idKinds[t.Kind()] {
		return nil, fmt.Errorf("it yields %v, not a string or number", t)
	}
	return prog, nil
}

// idKinds are the result kinds an id expression may have when compiled:
// those idText reads, and any (interface) for what only the answer tells.
var idKinds = map[reflect.Kind]bool{
	reflect.String: true, reflect.Interface: true, reflect.Float64: true, reflect.Int: true, reflect.Int64: true, reflect.Uint64: true,
}

func (g *Generic) Poll(ctx context.Context, c *http.Client, member string) (Report, error) {
	u := member
	if g.path != "" {
		u = join(member, g.path) // a path that is not one is refused at load
	}
	var response any
	if _, err := fetch(ctx, c, g.method, u, g.body, nil, &response); err != nil {
		return Report{}, err
	}
	var r Report
	var err error
	if r.Leader, err = runID(g.leader, "leader", response); err != nil {
		return Report{}, err
	}
	if g.self != nil {
		if r.Self, err = runID(g.self, "self", response); err != nil {
			return Report{}, err
		}
	}
	return r, nil
}

// runID runs an id expression (what names it in errors) over a response.
func runID(prog *vm.Program, what string, response any) (string, error) {
	v, err := expr.Run(prog, map[string]any{"response": response})
	if err != nil {
		return "", fmt.Errorf("%s expression: %w", what, err)
	}
	id, err := idText(v)
	if err != nil {
		return "", fmt.Errorf("%s expression yields %w", what, err)
	}
	return id, nil
}

// maxExactID is the first whole number a JSON number decoded as float64
// may not hold exactly: 2^53 may be 2^53+1 rounded.
const maxExactID = 1 << 53

// idText is the id an expression yields: a string as it is, a whole
// number as its decimal text, nil as none. Anything else is an error, so
// that the member is not heard rather than taken for leaderless. Numbers
// stay float64 (json.Number would break expressions that compute on
// them): an id from 2^53 up must come as a string.
func idText(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64:
		switch {
		case v != math.Trunc(v):
			return "", fmt.Errorf("%v, not a whole number", v)
		case math.Abs(v) >= maxExactID:
			return "", fmt.Errorf("%v, a number from 2^53 up that JSON does not hold exactly: send it as a string", v)
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int, int64, uint64:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("%T, not a string or number", v)
}
