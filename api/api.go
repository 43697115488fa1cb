// Package api serves the daemon's HTTP API: Prometheus metrics, health and
// readiness, the state of every cluster, event ingest, and config reload.
package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leaderhook/leaderhook/event"
)

// DefaultMaxBody bounds one POST /v1/events body.
const DefaultMaxBody = 1 << 20

// ErrBusy is returned by Ingest when events cannot be taken now: the
// answer is 503 with Retry-After, and the sender keeps the events.
var ErrBusy = errors.New("leaderhook cannot take events now; retry shortly")

// Limits are the settings of the API that a reload may change.
type Limits struct {
	// Token, if set, is required as "Authorization: Bearer <token>" on
	// POST /v1/events, POST and DELETE /v1/expect, POST /-/reload and the
	// POST endpoints of /v1/ha.
	Token   string
	MaxBody int64 // bytes of one POST /v1/events body; 0: DefaultMaxBody
}

// Server is the HTTP API. Nil funcs disable their endpoints.
type Server struct {
	// Accepts reports whether a cluster takes events over HTTP.
	Accepts func(cluster string) bool
	// Ingest takes a batch of events for a cluster, all or nothing.
	Ingest func(ctx context.Context, cluster string, evs []event.Event) error
	// Rejected, if set, is told of each refused batch.
	Rejected func(cluster string)
	// Skipped, if set, is told of each event of a batch taken that was
	// skipped (event.ErrSkipped), its Name saying where it came from.
	Skipped func(cluster string, le *event.LineError)
	// State returns what GET /v1/state shows.
	State func(ctx context.Context) (any, error)
	// History returns what GET /v1/history shows (page.go).
	History func(ctx context.Context, q HistoryQuery) (any, error)
	// Page serves the web page at / and its files under /ui/.
	Page     http.Handler
	Reload   func() error
	Ready    func() error
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	// Group, set in a group of nodes (ha:), serves /v1/ha.
	Group *Group
	// Expect opens a window of expected changes of a cluster (POST
	// /v1/expect), Unexpect ends it (DELETE /v1/expect?cluster=NAME); each
	// returns what to answer.
	Expect   func(ctx context.Context, cluster string, d time.Duration, reason string) (any, error)
	Unexpect func(ctx context.Context, cluster string) (any, error)

	limits    atomic.Pointer[Limits]
	refusedMu sync.Mutex
	refusedAt map[string]time.Time // by cluster: when a refusal was last logged
}

// SetLimits sets the token and body limit, at start and on each reload.
func (s *Server) SetLimits(l Limits) {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	s.limits.Store(&l)
}

func (s *Server) currentLimits() Limits {
	if l := s.limits.Load(); l != nil {
		return *l
	}
	return Limits{MaxBody: DefaultMaxBody}
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /v1/state", s.state)
	mux.HandleFunc("GET /v1/history", s.history)
	if s.Page != nil {
		mux.HandleFunc("GET /{$}", s.page)
		mux.HandleFunc("GET /ui/", s.page)
	}
	mux.HandleFunc("POST /v1/events", s.authorized(s.events))
	mux.HandleFunc("POST /-/reload", s.authorized(s.reload))
	mux.HandleFunc("POST /v1/expect", s.authorized(s.expect))
	mux.HandleFunc("DELETE /v1/expect", s.authorized(s.unexpect))
	s.groupRoutes(mux)
	// Last: only what no other route takes comes here.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { unrouted(mux, w, r) })
	return mux
}

// unrouted answers a request no route takes in the API's JSON, as its
// other errors are, rather than in the mux's plain text: 405 naming the
// methods its path takes, or 404.
func unrouted(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		httpError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
}

// authorized lets a request through with the bearer token; with no token
// configured, only from this host: an empty token must not open event
// injection and reloads to whoever reaches the port. A refused request is
// answered before its body is read.
func (s *Server) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := s.currentLimits().Token
		// A refused request's body is never read: closing the connection
		// after the answer keeps net/http from reading the body first.
		refuse := func(code int, msg string) {
			w.Header().Set("Connection", "close")
			httpError(w, code, msg)
		}
		if token == "" && !fromLoopback(r.RemoteAddr) {
			refuse(http.StatusForbidden, "server.ingest_token is not set, so only clients on the same host may use this endpoint; set the token and send it as Authorization: Bearer <token>")
			return
		}
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="leaderhook"`)
				refuse(http.StatusUnauthorized, "a valid bearer token is required (server.ingest_token)")
				return
			}
		}
		next(w, r)
	}
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if s.Ready != nil {
		if err := s.Ready(); err != nil {
			httpError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	io.WriteString(w, "ready\n")
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	if s.State == nil {
		httpError(w, http.StatusNotFound, "no state")
		return
	}
	v, err := s.State(r.Context())
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) reload(w http.ResponseWriter, _ *http.Request) {
	if s.Reload == nil {
		httpError(w, http.StatusNotFound, "reload is not available")
		return
	}
	if err := s.Reload(); err != nil {
		if errors.Is(err, ErrBusy) { // not the config's fault: try again
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		httpError(w, http.StatusBadRequest, "config refused, the old one keeps running:\n"+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}

// events accepts one JSON object, a JSON array of them, or JSON lines. A
// batch with one bad event is rejected whole, naming the line and reason:
// the sender can fix and resend it without duplicates.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	cluster := r.URL.Query().Get("cluster")
	if s.Ingest == nil || s.Accepts == nil || !s.Accepts(cluster) {
		msg := fmt.Sprintf("cluster %q does not take events over HTTP (source.http: true)", cluster)
		if cluster == "" {
			msg = "no cluster named: POST /v1/events?cluster=NAME, NAME a cluster with source.http: true"
		}
		s.logRefused(r, "", msg)
		w.Header().Set("Connection", "close") // answered without reading the body
		httpError(w, http.StatusNotFound, msg)
		return
	}
	limit := s.currentLimits().MaxBody
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes (server.max_body_bytes)", limit))
			return
		}
		httpError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	evs, skipped, err := decodeBatch(body)
	if err != nil {
		if s.Rejected != nil {
			s.Rejected(cluster)
		}
		s.logRefused(r, cluster, err.Error())
		httpError(w, http.StatusBadRequest, err.Error()+" (nothing was accepted)")
		return
	}
	for i := range evs {
		evs[i].Cluster = cluster
	}
	if len(evs) > 0 {
		if err := s.Ingest(r.Context(), cluster, evs); err != nil {
			if errors.Is(err, ErrBusy) {
				w.Header().Set("Retry-After", "1")
				httpError(w, http.StatusServiceUnavailable, err.Error())
				return
			}
			httpError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	for _, le := range skipped {
		if s.Skipped != nil {
			le.Name = "POST /v1/events from " + r.RemoteAddr
			s.Skipped(cluster, le)
		}
	}
	writeJSON(w, http.StatusAccepted, accepted{Accepted: len(evs), Ignored: len(skipped)})
}

// accepted is the answer to a batch taken.
type accepted struct {
	Accepted int `json:"accepted"`
	Ignored  int `json:"ignored"` // events leaderhook does not take (event.ErrSkipped)
}

// decodeBatch returns the events of a body, and those skipped, each with
// its line (or element) number.
func decodeBatch(body []byte) ([]event.Event, []*event.LineError, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil, errors.New("empty body")
	}
	var lines [][]byte
	switch {
	case body[0] == '{' && bytes.IndexByte(body, '\n') >= 0 && (json.Valid(body) || prettyStart(body)):
		if err := prettySyntaxError(body); err != nil {
			return nil, nil, err
		}
		lines = [][]byte{body} // one event, pretty-printed
	case body[0] == '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, nil, fmt.Errorf("not a JSON array of events: %v", err)
		}
		for _, r := range raw {
			lines = append(lines, r)
		}
	default:
		lines = bytes.Split(body, []byte("\n"))
	}
	var evs []event.Event
	var skipped []*event.LineError
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		ev, err := event.DecodeLive(line)
		if errors.Is(err, event.ErrSkipped) {
			skipped = append(skipped, &event.LineError{Line: i + 1, Err: err})
			continue
		}
		if err != nil {
			what := "line"
			if body[0] == '[' {
				what = "element"
			}
			return nil, nil, fmt.Errorf("%s %d: %v", what, i+1, err)
		}
		evs = append(evs, ev)
	}
	return evs, skipped, nil
}

// prettyStart reports whether a body opens as a pretty-printed object:
// "{" alone on its first line, which no JSON line is.
func prettyStart(body []byte) bool {
	first, _, _ := bytes.Cut(body, []byte("\n"))
	return string(bytes.TrimSpace(first)) == "{"
}

// prettySyntaxError names the line of a pretty-printed event where its JSON
// goes wrong: read as JSON lines, its "{" alone would be blamed instead.
func prettySyntaxError(body []byte) error {
	var v any
	var syntax *json.SyntaxError
	if !errors.As(json.Unmarshal(body, &v), &syntax) {
		return nil
	}
	line := 1 + bytes.Count(body[:syntax.Offset], []byte("\n"))
	return fmt.Errorf("line %d: invalid JSON: %v", line, syntax)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fromLoopback reports whether a request's remote address (ip:port) is on
// this host.
func fromLoopback(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// logRefused logs a refused batch, at most once a second per cluster (one
// key for unknown clusters, which come from the request): the sender gets
// the reason, but the operator should see that events are being lost at
// the sender's end too, without a flood of lines.
func (s *Server) logRefused(r *http.Request, cluster, reason string) {
	if s.Log == nil {
		return
	}
	now := time.Now()
	s.refusedMu.Lock()
	if s.refusedAt == nil {
		s.refusedAt = map[string]time.Time{}
	}
	if now.Sub(s.refusedAt[cluster]) < time.Second {
		s.refusedMu.Unlock()
		return
	}
	s.refusedAt[cluster] = now
	s.refusedMu.Unlock()
	s.Log.Warn("events refused", "cluster", cluster, "from", r.RemoteAddr, "reason", reason)
}
