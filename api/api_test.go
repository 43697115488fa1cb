package api

import (
	"net/http/httptest"
	"testing"
)

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
