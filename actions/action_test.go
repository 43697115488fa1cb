package actions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A receiver's Retry-After wins over max_backoff, but only up to
// MaxRetryAfter: a delivery must not wait hours in its queue.
func TestRetryAfterIsCapped(t *testing.T) {
	base := errors.New("POST example: answered 429 Too Many Requests")
	for _, tc := range []struct {
		after, want time.Duration
		msg         string
	}{
		{4 * time.Second, 4 * time.Second, "(retry after 4s)"},
		{MaxRetryAfter, MaxRetryAfter, "(retry after 5m0s)"},
		{24 * time.Hour, MaxRetryAfter, "(retry after 24h0m0s, capped at 5m0s)"},
	} {
		err := error(&RetryAfterError{Err: base, After: tc.after})
		got, ok := RetryAfter(err)
		if !ok || got != tc.want {
			t.Errorf("RetryAfter(%s) = %s, %v; want %s", tc.after, got, ok, tc.want)
		}
		if !strings.HasSuffix(err.Error(), tc.msg) {
			t.Errorf("%s: message %q, want it to end in %q", tc.after, err, tc.msg)
		}
	}
	if _, ok := RetryAfter(base); ok {
		t.Error("a plain error asks for a wait")
	}
}
