package tests

import (
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/internal/fakes"
)

// examples/rules.yaml pages through PagerDuty's Events API v2: `fire`
// triggers an incident that a fired resolve resolves, by one dedup_key,
// and a refused event fails with PagerDuty's reasons and no routing key.
func TestExamplePagesThroughPagerDuty(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	const key = "EXAMPLEKEY0123456789abcdef012345"
	pd.Keys(key)
	env := []string{"PAGERDUTY_URL=" + pd.URL + "/v2/enqueue", "PAGERDUTY_ROUTING_KEY=" + key}
	for _, status := range []string{"firing", "resolved"} {
		out, stderr, code := run(t, env, "fire", "-c", "../examples/rules.yaml", "page", "--status", status)
		if code != 0 || !strings.Contains(out, "delivered "+status+" to page") {
			t.Fatalf("fire %s: exit %d\n%s%s\nrefused: %v", status, code, out, stderr, pd.Refused())
		}
	}
	got := pd.Accepted()
	// The resolve also ends the episode's verify_failed alert, if any.
	if len(got) != 3 || got[0].EventAction != "trigger" || got[1].EventAction != "resolve" || got[0].DedupKey != got[1].DedupKey ||
		got[2].EventAction != "resolve" || got[2].DedupKey != got[0].DedupKey+"/verify_failed" {
		t.Fatalf("accepted %+v", got)
	}
	if pd.Open(got[0].DedupKey) {
		t.Error("the incident is still open after the resolve")
	}

	wrong := []string{"PAGERDUTY_URL=" + pd.URL + "/v2/enqueue", "PAGERDUTY_ROUTING_KEY=WRONGKEY0123456789abcdef01234567"}
	out, stderr, code := run(t, wrong, "fire", "-c", "../examples/rules.yaml", "page")
	if code != 1 || !strings.Contains(out, "400") || !strings.Contains(out, "Invalid routing key") || strings.Contains(out+stderr, "WRONGKEY") {
		t.Errorf("a wrong key: exit %d\n%s%s", code, out, stderr)
	}
}
