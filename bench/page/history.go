package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/history"
	"github.com/leaderhook/leaderhook/rules"
)

// writeHistory writes days of history for n clusters ending at end, as
// the daemon would have: each cluster loses its leader a few times a day
// for a few seconds; the loss fires a rule whose webhook answers at the
// second attempt, and the recovery resolves it. It returns the entries
// written.
func writeHistory(dir string, clusters []string, days int, end time.Time) (int, error) {
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	var entries []history.Entry
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range clusters {
		entries = append(entries, history.StateOf(event.Event{Time: start, Cluster: c, Type: event.HasLeader, LeaderID: c + "-1", Since: start, Baseline: true}))
		for at := start.Add(jitter(rng, 6*time.Hour)); at.Before(end.Add(-time.Hour)); at = at.Add(jitter(rng, 6*time.Hour)) {
			entries = append(entries, incident(c, at, rng)...)
		}
	}
	slices.SortStableFunc(entries, func(a, b history.Entry) int { return a.Time().Compare(b.Time()) })
	clock := start
	st, err := history.Open(history.Options{Dir: dir, MaxAge: time.Duration(days) * 24 * time.Hour, MaxBytes: 50 << 20,
		Now: func() time.Time { return clock }})
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		clock = e.Time()
		st.AddWait(e)
	}
	return len(entries), st.Close()
}

// jitter is about d: between half and one and a half of it.
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return d/2 + time.Duration(rng.Int64N(int64(d)))
}

// incident is one loss of a cluster's leader and its recovery, with the
// rule's outcomes and their deliveries.
func incident(cluster string, at time.Time, rng *rand.Rand) []history.Entry {
	announced, back := at.Add(2*time.Second), at.Add(time.Duration(3+rng.IntN(20))*time.Second)
	leader := fmt.Sprintf("%s-%d", cluster, 1+rng.IntN(3))
	loss := event.Event{Time: announced, Cluster: cluster, Type: event.Leaderless, Since: at}
	elected := event.Event{Time: back, Cluster: cluster, Type: event.HasLeader, LeaderID: leader, Since: back}
	fired := rules.Outcome{Time: announced, Episode: announced, Cluster: cluster, Rule: "leader-lost", Kind: rules.Fired, Actions: []string{"pager"}, Trigger: "event", Leaderless: true, LeaderlessFor: 2 * time.Second, State: loss}
	resolved := fired
	resolved.Time, resolved.Kind, resolved.State, resolved.LeaderID = back, rules.Resolved, elected, leader
	out := []history.Entry{history.StateOf(loss), history.OutcomeOf(fired)}
	out = append(out, delivery(history.OutcomeOf(fired).Outcome, announced)...)
	out = append(out, history.StateOf(elected), history.OutcomeOf(resolved))
	return append(out, delivery(history.OutcomeOf(resolved).Outcome, back)...)
}

// delivery is a delivery that fails once and then succeeds.
func delivery(o *history.Outcome, at time.Time) []history.Entry {
	status := "firing"
	if o.Outcome == rules.Resolved {
		status = "resolved"
	}
	r := dispatch.Record{Cluster: o.Cluster, Rule: o.Rule, Status: status, Action: "pager", DeliveryID: o.DeliveryIDs[0]}
	queued, failed, ok := r, r, r
	queued.Time, queued.Kind = at, "queued"
	failed.Time, failed.Kind, failed.Attempt, failed.Outcome, failed.HTTPStatus, failed.Error = at.Add(50*time.Millisecond), "attempt", 1, "retry", 503, "POST https://pager.example/hook: answered 503 Service Unavailable"
	ok.Time, ok.Kind, ok.Attempt, ok.Outcome = at.Add(time.Second), "delivered", 2, "ok"
	tr := history.NewTracker()
	tr.Apply(history.DeliveryOf(queued))
	tr.Apply(history.DeliveryOf(failed))
	return []history.Entry{{Delivery: tr.Apply(history.DeliveryOf(ok))}}
}
