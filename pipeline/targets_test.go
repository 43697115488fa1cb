package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/actions/slack"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/config"
)

// Each action is built by its kind, with the kind's defaults, its workers
// and its secrets.
func TestTargets(t *testing.T) {
	cfg := &config.Config{Actions: map[string]actions.Spec{
		"hook": {Type: webhook.Name, Config: webhook.Config{URL: "https://h.example/x", Secret: "whsec_c2VjcmV0"}},
		"run":  {Type: shell.Name, Config: shell.Config{Command: []string{"/bin/true"}, Concurrency: 3}},
		"one":  {Type: shell.Name, Config: shell.Config{Command: []string{"/bin/true"}, CancelOnChange: true}},
		"chat": {Type: slack.Name, Config: slack.Config{WebhookURL: "https://hooks.slack.example/services/T/B/X"}, Timeout: time.Second},
	}}
	targets, err := Targets(cfg, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		workers  int
		timeout  time.Duration
		attempts int
		secret   string // one of the secrets, or ""
		fenced   bool
	}{
		{"hook", 1, 10 * time.Second, 5, "whsec_c2VjcmV0", false},
		{"run", 3, time.Minute, 1, "", false},
		{"one", 1, time.Minute, 1, "", true},
		{"chat", 1, time.Second, 5, "https://hooks.slack.example/services/T/B/X", false},
	} {
		tg := targets[tc.name]
		switch {
		case tg.Action == nil:
			t.Errorf("%s: not built", tc.name)
		case tg.Workers != tc.workers || tg.Spec.Timeout != tc.timeout || tg.Spec.Retry.MaxAttempts != tc.attempts:
			t.Errorf("%s: workers %d, timeout %s, attempts %d", tc.name, tg.Workers, tg.Spec.Timeout, tg.Spec.Retry.MaxAttempts)
		case tc.secret != "" && !slices.Contains(tg.Secrets, tc.secret):
			t.Errorf("%s: secrets %q lack %q", tc.name, tg.Secrets, tc.secret)
		case tg.CancelOnChange != tc.fenced:
			t.Errorf("%s: cancel_on_change %t", tc.name, tg.CancelOnChange)
		}
	}
}

func TestTargetsRejectsAnUnknownKind(t *testing.T) {
	cfg := &config.Config{Actions: map[string]actions.Spec{"mail": {Type: "sms"}}}
	if _, err := Targets(cfg, "", nil, nil); err == nil || !strings.Contains(err.Error(), `action mail: unknown type "sms"`) {
		t.Errorf("got %v", err)
	}
}
