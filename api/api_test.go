package api

import (
	"net/http/httptest"
	"testing"
)

// Without a token, the POST endpoints answer this host only; with one,
// anyone who sends it.
func TestAuthorized(t *testing.T) {
	for _, c := range []struct {
		token, remote, auth string
		want                int
	}{
		{"", "127.0.0.1:5000", "", 200},
		{"", "127.8.9.1:5000", "", 200},
		{"", "[::1]:5000", "", 200},
		{"", "[::ffff:127.0.0.1]:5000", "", 200},
		{"", "192.0.2.1:5000", "", 403},
		{"", "[2001:db8::1]:5000", "", 403},
		{"", "192.0.2.1:5000", "Bearer anything", 403},
		{"s3cret", "192.0.2.1:5000", "Bearer s3cret", 200},
		{"s3cret", "192.0.2.1:5000", "Bearer wrong", 401},
		{"s3cret", "127.0.0.1:5000", "", 401},
	} {
		reloads := 0
		s := &Server{Token: c.token, Reload: func() error { reloads++; return nil }}
		r := httptest.NewRequest("POST", "/-/reload", nil)
		r.RemoteAddr = c.remote
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != c.want || (reloads == 1) != (c.want == 200) {
			t.Errorf("token %q from %s with %q: %d (%d reloads), want %d: %s", c.token, c.remote, c.auth, w.Code, reloads, c.want, w.Body)
		}
	}
}

// The answer to an accepted batch is written by hand; it must stay what
// writeJSON writes, which senders may parse.
func TestWriteAcceptedMatchesWriteJSON(t *testing.T) {
	for _, c := range []struct{ accepted, ignored int }{{0, 0}, {1, 0}, {2, 3}, {1000000, 17}} {
		want := httptest.NewRecorder()
		writeJSON(want, 202, map[string]int{"accepted": c.accepted, "ignored": c.ignored})
		got := httptest.NewRecorder()
		writeAccepted(got, c.accepted, c.ignored)
		if got.Code != want.Code || got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("%+v: got %d %q %q, want %d %q %q", c, got.Code, got.Body, got.Header().Get("Content-Type"), want.Code, want.Body, want.Header().Get("Content-Type"))
		}
	}
}
