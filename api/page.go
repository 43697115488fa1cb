package api

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultHistorySpan is the window GET /v1/history answers without from.
const DefaultHistorySpan = 6 * time.Hour

// maxHistorySpan bounds one window: the page zooms out to a week.
const maxHistorySpan = 31 * 24 * time.Hour

// HistoryQuery is what GET /v1/history asks for: the window [From, To],
// or, with After set, what came after that sequence number. A window may
// be of one cluster, and an overview at a step (history/overview.go).
type HistoryQuery struct {
	From, To time.Time
	After    int64
	HasAfter bool
	Cluster  string
	Step     time.Duration
}

// historyQuery reads ?from=&to= (RFC 3339) with ?cluster= and ?step=, or
// ?after=N.
func historyQuery(r *http.Request, now time.Time) (HistoryQuery, error) {
	q := HistoryQuery{To: now}
	v := r.URL.Query()
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("after=%q: want a sequence number (last_seq of an earlier answer)", a)
		}
		for _, other := range []string{"from", "to", "cluster", "step"} {
			if v.Has(other) {
				// after= is not narrowed by the others: refused, not ignored.
				return q, fmt.Errorf("after= answers everything since; it takes no %s=", other)
			}
		}
		q.After, q.HasAfter = n, true
		return q, nil
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"to", &q.To}, {"from", &q.From}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, fmt.Errorf("%s=%q: want an RFC 3339 time such as 2026-11-24T13:56:36Z", p.name, s)
			}
			*p.to = t
		}
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-DefaultHistorySpan)
	}
	if !q.From.Before(q.To) || q.To.Sub(q.From) > maxHistorySpan {
		return q, fmt.Errorf("from must be before to, at most %s before it", maxHistorySpan)
	}
	q.Cluster = v.Get("cluster")
	if s := v.Get("step"); s != "" {
		step, err := time.ParseDuration(s)
		if err != nil || step < time.Millisecond {
			return q, fmt.Errorf("step=%q: want a duration of at least 1ms, such as 10m", s)
		}
		q.Step = step
	}
	return q, nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	if s.History == nil {
		httpError(w, http.StatusNotFound, "no history")
		return
	}
	q, err := historyQuery(r, time.Now())
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := s.History(r.Context(), q)
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeCompressed(w, r, v)
}

// writeCompressed writes v as compact JSON, gzipped for a client that
// takes it: a week of history is large.
func writeCompressed(w http.ResponseWriter, r *http.Request, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		encode(w, v)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
	encode(gz, v)
	gz.Close()
}

// streamer is a value that writes its JSON itself, a piece at a time.
type streamer interface{ WriteJSON(io.Writer) error }

func encode(w io.Writer, v any) {
	if s, ok := v.(streamer); ok {
		s.WriteJSON(w)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// page serves the web page: its own files only, and a policy that lets
// it load nothing from elsewhere and run no inline script.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.Page.ServeHTTP(w, r)
}
