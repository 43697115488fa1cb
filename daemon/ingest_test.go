package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// What goes wrong outside an ingest request is logged, not kept: a daemon
// whose sources are all polled would otherwise hold every error for good.
func TestDecisionsKeepOnlyWhatARequestCaused(t *testing.T) {
	c := &decisions{log: slog.New(slog.DiscardHandler), notJournaled: func() {}}
	c.failed(errors.New("from a polled source"))
	if c.err != nil {
		t.Fatalf("kept %v outside a request", c.err)
	}
	c.collect()
	c.failed(errors.New("from this request"))
	if err := c.take(); err == nil || err.Error() != "from this request" {
		t.Errorf("the request's answer carries %v, want only its own error", err)
	}
	c.failed(errors.New("after it"))
	if c.err != nil {
		t.Errorf("kept %v after the request", c.err)
	}
}

// evAt is a member's report stamped at.
func evAt(member, typ, leader string, at time.Time) string {
	extra := ""
	if leader != "" {
		extra = fmt.Sprintf(`,"leaderId":%q`, leader)
	}
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`,
		member, at.UTC().Format(time.RFC3339Nano), typ, extra)
}

// A sender whose answer was lost (a timeout, a 503 after the events were
// decided) sends the same batch again: its events are the ones already
// taken, and deciding them again would page a second time for one loss.
func TestResentBatchIsNotDecidedAgain(t *testing.T) {
	h := newHarness(t, ingestConfig, map[string]any{"Hook": closedURL(t)})
	h.start(Options{})
	events := "/v1/events?cluster=ziti"
	now := time.Now()
	if code, body := h.post(events, "t0k3n", evAt("c1", "state.has_leader", "c1", now)); code != 202 {
		t.Fatalf("baseline: %d %s", code, body)
	}
	// A loss and its end in one batch, as a forwarder sends them.
	batch := evAt("c1", "state.is_leaderless", "", now.Add(time.Millisecond)) + "\n" +
		evAt("c1", "state.has_leader", "c2", now.Add(2*time.Millisecond)) + "\n"
	if code, body := h.post(events, "t0k3n", batch); code != 202 {
		t.Fatalf("batch: %d %s", code, body)
	}
	first := h.cluster("ziti").Rules[0].LastFired
	if first.IsZero() {
		t.Fatal("the loss did not fire")
	}
	if code, body := h.post(events, "t0k3n", batch); code != 202 {
		t.Fatalf("the batch sent again: %d %s", code, body)
	}
	if again := h.cluster("ziti").Rules[0].LastFired; !again.Equal(first) {
		t.Errorf("the batch sent again fired the rule again at %s (first at %s)", again, first)
	}
	// A new loss, reported later, still fires.
	if code, body := h.post(events, "t0k3n", evAt("c1", "state.is_leaderless", "", time.Now())); code != 202 {
		t.Fatalf("a new loss: %d %s", code, body)
	}
	if c := h.cluster("ziti"); !c.Rules[0].Firing || !c.Rules[0].LastFired.After(first) {
		t.Errorf("a new loss after the resent batch: %+v", c.Rules[0])
	}
}

// The answer to a batch can be lost to the daemon's own end (a kill -9
// right after deciding, a restart): its sender sends the batch again to the
// restarted daemon, which knows the batch's events from its flight
// recording and does not decide them twice.
func TestResentBatchIsNotDecidedAgainAfterARestart(t *testing.T) {
	now := time.Now()
	before, after := resendAcrossARestart(t, evAt("c1", "state.has_leader", "c1", now)+"\n"+
		evAt("c1", "state.is_leaderless", "", now.Add(time.Millisecond))+"\n"+
		evAt("c1", "state.has_leader", "c2", now.Add(2*time.Millisecond))+"\n")
	first := before.Rules[0].LastFired
	if first.IsZero() {
		t.Fatal("the loss did not fire")
	}
	if again := after.Rules[0].LastFired; !again.Equal(first) {
		t.Errorf("the batch sent again after the restart fired the rule again at %s (first at %s)", again, first)
	}
}

// An event dated on arrival (its timestamp too far off) is recorded with
// its own timestamp beside: the batch sent again after a restart is known
// whole, not in part, which would take the stale report again, dated now,
// and put the cluster in a state its member no longer reports.
func TestResentBatchWithAnEventDatedOnArrivalAfterARestart(t *testing.T) {
	now := time.Now()
	before, after := resendAcrossARestart(t, evAt("c1", "state.has_leader", "c1", now.Add(-time.Minute))+"\n"+ // dated on arrival
		evAt("c1", "state.is_leaderless", "", now.Add(500*time.Millisecond))+"\n")
	if after.HasLeader || !after.Rules[0].LastFired.Equal(before.Rules[0].LastFired) {
		t.Errorf("the batch sent again after the restart was decided again: has leader %t (%s), fired %s (first %s)",
			after.HasLeader, after.LeaderID, after.Rules[0].LastFired, before.Rules[0].LastFired)
	}
}

// resendAcrossARestart posts batch to a daemon on ingestConfig, restarts
// it, posts batch again, and returns the cluster as it was before the
// restart and as it is after the batch sent again.
func resendAcrossARestart(t *testing.T, batch string) (before, after clusterView) {
	t.Helper()
	h := newHarness(t, ingestConfig, map[string]any{"Hook": closedURL(t)})
	h.start(Options{})
	const events = "/v1/events?cluster=ziti"
	if code, body := h.post(events, "t0k3n", batch); code != 202 {
		t.Fatalf("batch: %d %s", code, body)
	}
	before = h.cluster("ziti")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	if code, body := h.post(events, "t0k3n", batch); code != 202 {
		t.Fatalf("the batch sent again after the restart: %d %s", code, body)
	}
	return before, h.cluster("ziti")
}

// An event posted with event_src_id "leaderhook" is one of leaderhook's own
// state events, which only replay takes, from a recording: a sender's is
// skipped and answered ignored, counted and told of once, and no rule
// fires on it. Taken, it would be announced as the cluster's state while
// no member has reported (known false), after every restart.
func TestIngestSkipsLeaderhooksOwnStateEvents(t *testing.T) {
	h := newHarness(t, ingestConfig, map[string]any{"Hook": closedURL(t)})
	log := &bufferLog{}
	h.start(Options{Log: log.logger()})
	now := time.Now().UTC()
	own := func(typ string, at time.Time) string {
		return fmt.Sprintf(`{"namespace":"cluster","event_src_id":"leaderhook","timestamp":%q,"eventType":%q,"cluster":"ziti","leaderId":"c1"}`,
			at.Format(time.RFC3339Nano), typ)
	}
	for i, body := range []string{own(event.HasLeader, now), own(event.Leaderless, now.Add(time.Millisecond))} {
		code, answer := h.post("/v1/events?cluster=ziti", "t0k3n", body)
		if code != 202 || !strings.Contains(answer, `"accepted": 0`) || !strings.Contains(answer, `"ignored": 1`) {
			t.Fatalf("event %d: %d %s, want 202 {accepted: 0, ignored: 1}", i, code, answer)
		}
	}
	c := h.cluster("ziti")
	fired := slices.ContainsFunc(c.Rules, func(r ruleView) bool { return r.Firing || !r.LastFired.IsZero() })
	if c.Known || fired {
		t.Errorf("after a sender's own-state events: known %v, rules %+v; want nothing known, nothing fired", c.Known, c.Rules)
	}
	if _, metrics := h.get("/metrics"); !strings.Contains(metrics, `leaderhook_events_skipped_total{cluster="ziti",input="http"} 2`) {
		t.Errorf("skipped events not counted:\n%s", metrics)
	}
	if n := strings.Count(log.String(), `marks leaderhook's own state events`); n != 1 {
		t.Errorf("told of %d times, want once:\n%s", n, log.String())
	}
}

// Ready means events are taken: between the sources' start and the
// pipeline's, an event posted would be answered 503, so /readyz must not
// say ready yet.
func TestNotReadyUntilThePipelineTakesEvents(t *testing.T) {
	h := newHarness(t, ingestConfig, map[string]any{"Hook": closedURL(t)})
	d := h.build(Options{})
	ctx, stop := context.WithCancel(t.Context())
	defer func() {
		// As Run ends: the sources stop, and are waited for before the
		// harness cleans up what they use.
		stop()
		d.sources.wait()
	}()
	d.mu.Lock()
	d.running, d.sources.ctx = ctx, ctx // as Run sets them before it starts the sources
	d.mu.Unlock()
	if err := d.startSources(); err != nil {
		t.Fatal(err)
	}
	if err := d.ingest(t.Context(), "ziti", nil); err == nil {
		t.Fatal("the pipeline took events before it ran; the test no longer sets up the gap")
	}
	if err := d.ready(); err == nil {
		t.Error("ready while the pipeline does not take events yet")
	}
}
