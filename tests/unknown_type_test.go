package tests

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// A batch mixing known events with a cluster event of an eventType
// leaderhook does not know (one a newer OpenZiti adds) is taken: the known
// events are decided, the unknown one is counted in "ignored", and a
// warning names each unknown type once, however often it comes.
func TestUnknownEventTypeOverHTTPIsSkippedAndToldOnce(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	d, _, _ := startAPIDaemon(t, hook.URL, `  - {name: lost, when: leaderless, actions: [hook]}`)
	base := d.baseURL(t)
	events := base + "/v1/events?cluster=ziti"

	for _, batch := range [][]string{
		{ev("c1", "state.has_leader", "c1"), ev("c1", "state.some_future_type", "")},
		// The repeated type comes before a new one: once the new one is
		// told, a second warning for the first would have been written.
		{ev("c1", "state.some_future_type", ""), ev("c1", "state.other_future_type", ""), ev("c1", "state.is_leaderless", "")},
	} {
		code, body := post(t, events, "t0k3n", strings.Join(batch, "\n"))
		if code != 202 || !strings.Contains(body, `"accepted": 1`) || !strings.Contains(body, fmt.Sprintf(`"ignored": %d`, len(batch)-1)) {
			t.Errorf("batch of %d: %d %s, want 202 with 1 accepted and the others ignored", len(batch), code, body)
		}
	}
	waitFor(t, "the loss's webhook", func() bool { return len(rcv.seen()) == 1 }, d)
	waitFor(t, "the warning for the second type", func() bool { return strings.Contains(d.logs(), `"event_type":"state.other_future_type"`) }, d)
	warnings := grepLines(d.logs(), "eventType leaderhook does not know")
	if n := strings.Count(warnings, `"event_type":"state.some_future_type"`); n != 1 || !strings.Contains(warnings, `"cluster":"ziti"`) {
		t.Errorf("%d warnings for state.some_future_type, want 1 naming the cluster:\n%s", n, warnings)
	}

	_, metrics := get(t, base+"/metrics")
	if !strings.Contains(metrics, `leaderhook_events_total{cluster="ziti",source="c1",type="state.is_leaderless"} 1`) ||
		!strings.Contains(metrics, `leaderhook_rule_outcomes_total{cluster="ziti",outcome="fired",reason="",rule="lost"} 1`) {
		t.Errorf("the known events are not counted:\n%s", grepLines(metrics, "ziti"))
	}
	if !strings.Contains(metrics, `leaderhook_events_skipped_total{cluster="ziti",input="http"} 3`) {
		t.Errorf("the skipped events are not counted:\n%s", grepLines(metrics, "skipped"))
	}
	if strings.Contains(metrics, "future_type") {
		t.Errorf("an unknown eventType has a series:\n%s", grepLines(metrics, "future_type"))
	}
}
