package pagerduty_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/pagerduty"
	"github.com/leaderhook/leaderhook/internal/fakes"
)

const key = "R0UTINGKEY0123456789abcdef012345" // 32 characters

func newAction(t *testing.T, cfg pagerduty.Config) *pagerduty.Action {
	t.Helper()
	if cfg.RoutingKey == "" {
		cfg.RoutingKey = key
	}
	a, err := pagerduty.New("page", actions.Spec{Type: pagerduty.Name, Config: cfg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func notification(status string) *actions.Notification {
	episode := time.Date(2026, 3, 1, 19, 3, 43, 0, time.UTC)
	n := &actions.Notification{DeliveryID: "msg_1", Rule: "leaderless-60s", Status: status, Cluster: "ziti-prod",
		Labels: map[string]string{"env": "prod"}, Episode: episode, FiredAt: episode.Add(time.Minute),
		PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: time.Minute}
	if status == actions.StatusResolved {
		n.FiredAt, n.LeaderID, n.Leaderless, n.LeaderlessFor = episode.Add(2*time.Minute), "ctrl2", false, 0
		n.LastOutage, n.Lasted = 2*time.Minute, time.Minute
	}
	return n
}

// A firing triggers an alert that its resolve resolves, by the same
// dedup_key; a verify_failed triggers an alert of its own (merged into the
// open one, it would page nobody), which the resolve resolves too. The
// trigger has what PagerDuty requires and the context.
func TestTriggerThenResolve(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	a := newAction(t, pagerduty.Config{URL: pd.URL + "/v2/enqueue", Severity: `{{ if .Leaderless }}critical{{ else }}info{{ end }}`})
	for _, status := range []string{actions.StatusFiring, actions.StatusVerifyFailed, actions.StatusResolved} {
		if out, err := a.Run(context.Background(), notification(status)); err != nil || out.HTTPStatus != 202 {
			t.Fatalf("%s: %+v %v (refused: %v)", status, out, err, pd.Refused())
		}
	}
	got := pd.Accepted()
	var sent []string
	for _, ev := range got {
		sent = append(sent, ev.EventAction+" "+strings.TrimPrefix(ev.DedupKey, "leaderhook/ziti-prod/leaderless-60s/2026-03-01T19:03:43Z"))
	}
	if want := []string{"trigger ", "trigger /verify_failed", "resolve ", "resolve /verify_failed"}; !slices.Equal(sent, want) {
		t.Fatalf("sent %q, want %q", sent, want)
	}
	if pd.Open(got[0].DedupKey) || pd.Open(got[1].DedupKey) {
		t.Errorf("still open after the resolve: %v %v", pd.Open(got[0].DedupKey), pd.Open(got[1].DedupKey))
	}
	trigger := got[0]
	state, _ := trigger.Details["state"].(map[string]any)
	labels, _ := trigger.Details["labels"].(map[string]any)
	if trigger.Severity != "critical" || trigger.Source != "ziti-prod" || state["previous_leader_id"] != "ctrl1" || labels["env"] != "prod" {
		t.Errorf("trigger %+v", trigger)
	}
	if want := "ziti-prod: leaderless-60s firing: no leader for 1m (was ctrl1)"; trigger.Summary != want {
		t.Errorf("summary %q, want %q", trigger.Summary, want)
	}
}

// The dedup_key is made of the cluster, the rule and the episode: the same
// for the firing and its resolve whatever else differs, another for
// another episode, never over 255 characters.
func TestDedupKey(t *testing.T) {
	f, r := notification(actions.StatusFiring), notification(actions.StatusResolved)
	if pagerduty.DedupKey(f) != pagerduty.DedupKey(r) {
		t.Error("firing and resolve differ")
	}
	next := notification(actions.StatusFiring)
	next.Episode = next.Episode.Add(time.Hour)
	if pagerduty.DedupKey(next) == pagerduty.DedupKey(f) {
		t.Error("two episodes share a key")
	}
	long := notification(actions.StatusFiring)
	long.Rule = strings.Repeat("r", 300)
	if k := pagerduty.DedupKey(long); utf8.RuneCountInString(k) > pagerduty.MaxDedupKey || k == pagerduty.DedupKey(f) {
		t.Errorf("long key %q", k)
	}
}

// A summary over 1024 characters is cut cleanly, and accepted.
func TestLongSummaryIsCut(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	a := newAction(t, pagerduty.Config{URL: pd.URL + "/v2/enqueue", Summary: `{{ .Cluster }} ` + strings.Repeat("é", 2000)})
	if _, err := a.Run(context.Background(), notification(actions.StatusFiring)); err != nil {
		t.Fatalf("%v (refused: %v)", err, pd.Refused())
	}
	s := pd.Accepted()[0].Summary
	if utf8.RuneCountInString(s) != pagerduty.MaxSummary || !strings.HasSuffix(s, "é…") || !utf8.ValidString(s) {
		t.Errorf("summary of %d characters ends %q", utf8.RuneCountInString(s), s[len(s)-8:])
	}
}

// 400 is permanent, with PagerDuty's reasons in the audit detail; 429
// waits as asked, or 30 seconds; 5xx is retried.
func TestErrors(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	a := newAction(t, pagerduty.Config{URL: pd.URL + "/v2/enqueue"})
	pd.Keys("another-key-0123456789abcdef0123")
	out, err := a.Run(context.Background(), notification(actions.StatusFiring))
	if !actions.IsPermanent(err) || out.HTTPStatus != 400 || !strings.Contains(out.Detail, "Invalid routing key") {
		t.Errorf("unknown key: %+v %v", out, err)
	}
	pd.Keys(key)
	pd.RateLimit(2, "")
	_, err = a.Run(context.Background(), notification(actions.StatusFiring))
	if after, ok := actions.RetryAfter(err); !ok || after != pagerduty.RateLimitWait || actions.IsPermanent(err) {
		t.Errorf("429: wait %s %v: %v", after, ok, err)
	}
	pd.RateLimit(1, "7")
	_, err = a.Run(context.Background(), notification(actions.StatusFiring))
	if after, ok := actions.RetryAfter(err); !ok || after != 7*time.Second {
		t.Errorf("429 with Retry-After: wait %s %v: %v", after, ok, err)
	}
	broken := newAction(t, pagerduty.Config{URL: pd.URL + "/broken/v2/enqueue"})
	out, err = broken.Run(context.Background(), notification(actions.StatusFiring))
	if err == nil || !actions.IsPermanent(err) || strings.Contains(err.Error()+out.Detail, key) {
		t.Errorf("a wrong path: %+v %v", out, err)
	}
}

// 5xx and no answer are retried.
func TestUnavailableIsRetried(t *testing.T) {
	pd := fakes.NewPagerDuty()
	url := pd.URL
	pd.Close()
	a := newAction(t, pagerduty.Config{URL: url + "/v2/enqueue"})
	_, err := a.Run(context.Background(), notification(actions.StatusFiring))
	if err == nil || actions.IsPermanent(err) {
		t.Errorf("no answer: %v", err)
	}
}

// change: true records a Change Event beside the alert endpoint.
func TestChangeEvent(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	a := newAction(t, pagerduty.Config{URL: pd.URL + "/v2/enqueue", Change: true})
	if _, err := a.Run(context.Background(), notification(actions.StatusFiring)); err != nil {
		t.Fatalf("%v (refused: %v)", err, pd.Refused())
	}
	if got := pd.Accepted(); len(got) != 1 || !got[0].Change || got[0].Summary == "" {
		t.Errorf("accepted %+v", got)
	}
}

// The routing key never shows: not in a dry run, not in an error.
func TestRoutingKeyIsSecret(t *testing.T) {
	a := newAction(t, pagerduty.Config{URL: "https://user:proxy-password@proxy.example/v2/enqueue"})
	r, err := a.Render(notification(actions.StatusFiring))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{r.Body, r.URL, a.Where()} {
		if strings.Contains(s, key) || strings.Contains(s, "proxy-password") {
			t.Errorf("a secret in %s", s)
		}
	}
	if !strings.Contains(r.Body, `"routing_key":"REDACTED"`) {
		t.Errorf("rendering %s", r.Body)
	}
	_, err = pagerduty.New("page", actions.Spec{Type: pagerduty.Name, Config: pagerduty.Config{RoutingKey: "short-secret-key"}}, nil)
	if err == nil || strings.Contains(err.Error(), "short-secret-key") {
		t.Errorf("a short key: %v", err)
	}
}

// A severity or summary that renders wrong only on real data still pages:
// as critical, with the default summary, the audit detail saying why. A
// page at the wrong severity beats one never sent.
func TestBadRenderingStillPages(t *testing.T) {
	tests := []struct {
		name              string
		cfg               pagerduty.Config
		event             map[string]any
		severity, summary string
		detail            string
	}{
		{"severity not one", pagerduty.Config{Severity: `{{ .Event.change_kind }}`}, map[string]any{"change_kind": "high"},
			"critical", "ziti-prod: leaderless-60s firing: no leader for 1m (was ctrl1)", `action page: template severity rendered "high", not critical, error, warning or info: sent as critical`},
		{"severity fails", pagerduty.Config{Severity: `{{ index .Unreachable 3 }}`}, map[string]any{},
			"critical", "ziti-prod: leaderless-60s firing: no leader for 1m (was ctrl1)", "action page: template severity failed: severity:1:3: at <index .Unreachable 3>: error calling index: index out of range: 3: sent as critical"},
		{"summary empty", pagerduty.Config{Summary: `{{ .Event.leaderId }}`}, map[string]any{"leaderId": " "},
			"critical", "ziti-prod: leaderless-60s firing: no leader for 1m (was ctrl1)", "action page: template summary rendered nothing: the default summary sent"},
		{"summary fails", pagerduty.Config{Summary: `{{ .Event.leaderId }}`}, map[string]any{},
			"critical", "ziti-prod: leaderless-60s firing: no leader for 1m (was ctrl1)", `action page: template summary failed: summary:1:9: at <.Event.leaderId>: map has no entry for key "leaderId": the default summary sent`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pd := fakes.NewPagerDuty()
			defer pd.Close()
			tt.cfg.URL = pd.URL + "/v2/enqueue"
			a := newAction(t, tt.cfg)
			n := notification(actions.StatusFiring)
			n.Event = tt.event
			out, err := a.Run(context.Background(), n)
			if err != nil {
				t.Fatalf("%v (refused: %v)", err, pd.Refused())
			}
			got := pd.Accepted()
			if len(got) != 1 || got[0].Severity != tt.severity || got[0].Summary != tt.summary {
				t.Fatalf("accepted %+v", got)
			}
			if !strings.Contains(out.Detail, tt.detail) || strings.Contains(out.Detail, key) {
				t.Errorf("detail %q, want it to say %q", out.Detail, tt.detail)
			}
		})
	}
}
