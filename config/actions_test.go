package config

import (
	"testing"
	"time"
)

func TestActionWords(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{withArticle("shell"), "a shell"},
		{withArticle("email"), "an email"},
		{withArticle("alertmanager"), "an alertmanager"},
		{shortDuration(10 * time.Second), "10s"},
		{shortDuration(time.Minute), "1m"},
		{shortDuration(90 * time.Second), "1m30s"},
		{shortDuration(2 * time.Hour), "2h"},
		{shortDuration(time.Hour + time.Minute), "1h1m"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
