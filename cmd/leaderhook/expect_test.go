package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A --format other than text or json is refused before the daemon is
// asked: a typo must not open a window of expected changes.
func TestFormatIsCheckedBeforeAsking(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		w.Write([]byte(`{"cluster": "z", "expected": null}`))
	}))
	defer srv.Close()
	for _, args := range [][]string{
		{"expect", "z", "--for", "30m", "--format", "yaml", "--url", srv.URL},
		{"ha", "status", "--format", "jsn", "--url", srv.URL},
	} {
		_, stderr, code := leaderhook(t, args...)
		if code != 1 || !strings.Contains(stderr, "want text or json") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the formats", strings.Join(args, " "), code, stderr)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the daemon was asked %d times", n)
	}
}
