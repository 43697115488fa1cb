package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHistoryQuery(t *testing.T) {
	var got HistoryQuery
	s := &Server{History: func(_ context.Context, q HistoryQuery) (any, error) { got = q; return map[string]int{"ok": 1}, nil },
		Page: http.NotFoundHandler()}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for query, code := range map[string]int{"": 200, "?after=12": 200, "?from=2026-11-24T13:00:00Z&to=2026-11-24T14:00:00Z": 200,
		"?cluster=a&step=8m": 200, "?step=x": 400, "?step=0s": 400, "?step=-1m": 400,
		"?after=x": 400, "?after=12&cluster=a": 400, "?after=12&step=8m": 400, "?from=2026-11-24T13:00:00Z&after=3": 400, "?from=yesterday": 400, "?from=2026-11-24T14:00:00Z&to=2026-11-24T13:00:00Z": 400, "?from=2026-01-01T00:00:00Z&to=2026-11-24T13:00:00Z": 400} {
		resp, err := http.Get(srv.URL + "/v1/history" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("%s: %d %s, want %d", query, resp.StatusCode, body, code)
		}
		if query == "" && got.To.Sub(got.From) != DefaultHistorySpan {
			t.Errorf("the default window is %s", got.To.Sub(got.From))
		}
		if query == "?after=12" && (!got.HasAfter || got.After != 12) {
			t.Errorf("after: %+v", got)
		}
		if query == "?cluster=a&step=8m" && (got.Cluster != "a" || got.Step != 8*time.Minute) {
			t.Errorf("cluster and step: %+v", got)
		}
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the page has no restrictive policy: %q", csp)
	}
}
