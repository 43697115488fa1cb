package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/slack"
)

// leaderhookBodies renders a notification as both cookbook actions send
// it: the pager's webhook payload and the Slack message.
func leaderhookBodies(t *testing.T, n actions.Notification) (page, chat []byte) {
	t.Helper()
	page, err := n.Payload()
	if err != nil {
		t.Fatal(err)
	}
	a, err := slack.New("chat", actions.Spec{Type: slack.Name, Config: slack.Config{WebhookURL: "https://hooks.example/T1/B1/x"}}, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msg, note := a.Build(&n)
	if note != "" {
		t.Fatal(note)
	}
	chat, err = json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return page, chat
}

func TestLeaderhookFiringIsOneNoteWhicheverActionBringsIt(t *testing.T) {
	firedAt := time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	cases := []struct {
		name string
		n    actions.Notification
		want string
	}{
		{"loss", actions.Notification{Rule: "etcd-leaderless", Status: actions.StatusFiring, Cluster: "etcd-main",
			FiredAt: firedAt, PreviousLeaderID: "etcd1", Leaderless: true, LeaderlessFor: 2 * time.Second}, claimLoss},
		{"change", actions.Notification{Rule: "etcd-leader-changed", Status: actions.StatusFiring, Cluster: "etcd-main",
			FiredAt: firedAt, LeaderID: "etcd2", PreviousLeaderID: "etcd1"}, claimChange},
		{"resolve", actions.Notification{Rule: "etcd-leaderless", Status: actions.StatusResolved, Cluster: "etcd-main",
			FiredAt: firedAt, LeaderID: "etcd2", PreviousLeaderID: "etcd1"}, claimResolved},
	}
	for _, c := range cases {
		page, chat := leaderhookBodies(t, c.n)
		fromPage, err := leaderhookPage(page)
		if err != nil {
			t.Fatal(err)
		}
		fromChat, err := leaderhookChat(chat)
		if err != nil {
			t.Fatal(err)
		}
		if fromPage.claim != c.want || fromChat.claim != c.want {
			t.Errorf("%s: the page says %q, the chat %q; want %q", c.name, fromPage.claim, fromChat.claim, c.want)
		}
		if fromPage.key() != fromChat.key() {
			t.Errorf("%s: one firing, two keys: %s and %s", c.name, fromPage.key(), fromChat.key())
		}
	}
}

func TestReceiverNotesEachFiringOnce(t *testing.T) {
	r := &receiver{seen: map[string]bool{}, leaderhookCluster: "main", countingRules: map[string]bool{"etcd-flapping": true}}
	post := func(handler http.HandlerFunc, body []byte) {
		rec := httptest.NewRecorder()
		handler(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body))))
		if rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
	}
	n := actions.Notification{Rule: "etcd-leader-changed", Status: actions.StatusFiring, Cluster: "etcd-main",
		FiredAt: time.Now(), LeaderID: "etcd2", PreviousLeaderID: "etcd1"}
	page, chat := leaderhookBodies(t, n)
	post(r.take(leaderhookPage), page)
	post(r.take(leaderhookChat), chat)
	n.Rule = "etcd-flapping"
	page, _ = leaderhookBodies(t, n)
	post(r.take(leaderhookPage), page)

	first := `{"alerts":[
	  {"status":"firing","labels":{"alertname":"EtcdLeaderChanged","pipeline":"tuned","cluster":"main","instance":"a"},"startsAt":"2026-01-02T03:04:05Z","fingerprint":"f1"},
	  {"status":"firing","labels":{"alertname":"EtcdLeaderChanged","pipeline":"tuned","cluster":"main","instance":"b"},"startsAt":"2026-01-02T03:04:05Z","fingerprint":"f2"}]}`
	second := `{"alerts":[
	  {"status":"firing","labels":{"alertname":"EtcdLeaderChanged","pipeline":"tuned","cluster":"main","instance":"a"},"startsAt":"2026-01-02T03:04:05Z","fingerprint":"f1"},
	  {"status":"firing","labels":{"alertname":"EtcdLeaderChanged","pipeline":"tuned","cluster":"main","instance":"c"},"startsAt":"2026-01-02T03:04:06Z","fingerprint":"f3"},
	  {"status":"resolved","labels":{"alertname":"EtcdNoLeader","pipeline":"tuned","cluster":"main","instance":"a"},"startsAt":"2026-01-02T03:04:01Z","fingerprint":"f4"}]}`
	post(r.alertmanager, []byte(first))
	post(r.alertmanager, []byte(first)) // a repeat brings nothing new
	post(r.alertmanager, []byte(second))

	var got []string
	for _, n := range r.notesOf() {
		got = append(got, n.Pipeline+" "+n.Cluster+" "+n.Claim+" "+n.What)
	}
	want := []string{
		"leaderhook main new leader etcd-leader-changed",
		"leaderhook main other etcd-flapping",
		"tuned main new leader EtcdLeaderChanged", // two alerts, one message
		"tuned main new leader EtcdLeaderChanged", // one more alert: a second page
		"tuned main resolved EtcdNoLeader",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestScoreJudgesEachRound(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	rounds := []round{
		{Cluster: "main", Kind: kindLeader, Kill: at(10), Known: at(11), Restored: at(16)},
		{Cluster: "main", Kind: kindQuorum, Kill: at(30), Known: at(31.5), Restored: at(38)},
		{Cluster: "main", Kind: kindLeader, Kill: at(50), Known: at(51), Restored: at(56), End: at(60)},
	}
	n := func(s float64, claim string) note {
		return note{At: at(s), Pipeline: "p", Cluster: "main", Claim: claim}
	}
	notes := []note{
		n(5, claimChange),    // before any round: false
		n(11.3, claimChange), // the change, 1.3 s after the kill
		n(12, claimChange),   // duplicate
		n(14, claimLoss),     // a false loss in a leader kill
		n(17, claimLoss),     // still that round (the restart): false
		n(32.5, claimLoss),   // the loss, 2.5 s after the kill
		n(33, claimChange),   // a new leader without quorum: false
		n(39, claimChange),   // after the restore: not judged
		n(40, claimResolved), // resolves are not judged
		n(52, claimOther),    // nor is "other"
		{At: at(51), Pipeline: "q", Cluster: "main", Claim: claimChange}, // another pipeline
		{At: at(51), Pipeline: "p", Cluster: "other", Claim: claimLoss},  // another cluster: false
	}
	s := scoreOf("p", rounds, notes)
	if len(s.Change.Latencies) != 1 || s.Change.Latencies[0] != 1.3 || s.Change.Missed != 1 || s.Change.Rounds != 2 {
		t.Errorf("leader kills: %+v", s.Change)
	}
	if len(s.Change.Lags) != 1 || s.Change.Lags[0] < 0.29 || s.Change.Lags[0] > 0.31 {
		t.Errorf("lags after etcd's survivors: %v", s.Change.Lags)
	}
	if len(s.Loss.Latencies) != 1 || s.Loss.Latencies[0] != 2.5 || s.Loss.Missed != 0 {
		t.Errorf("quorum losses: %+v", s.Loss)
	}
	if s.Duplicates != 1 || s.False != 5 || s.FalseLoss != 2 {
		t.Errorf("duplicates %d, false %d (of which no leader in leader kills %d); want 1, 5, 2", s.Duplicates, s.False, s.FalseLoss)
	}
	ref := referenceScore(rounds)
	if median(ref.Change.Latencies) != 1 || median(ref.Loss.Latencies) != 1.5 {
		t.Errorf("reference: %+v", ref)
	}
}

func TestSectionShowsMissesAndVerdicts(t *testing.T) {
	rep := report{Machine: "2 cores", When: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Duration: "4m0s", N: 5,
		Versions: map[string]string{"etcd": "etcd Version: 3.4.23", "prometheus": "prometheus, version 2.42.0+ds (branch: x)"},
		Scores: []score{
			{Pipeline: "etcd", Change: kindScore{Latencies: []float64{1, 1.2, 1.4}}, Loss: kindScore{Latencies: []float64{1.5}}},
			{Pipeline: pipeLeaderhook, Change: kindScore{Latencies: []float64{1.1, 1.3}, Lags: []float64{0.1, 0.1}, Missed: 1},
				Loss: kindScore{Latencies: []float64{0.2, 0.25, 0.3}}, FalseLoss: 1, False: 1},
			{Pipeline: pipeMixin, Change: kindScore{Missed: 5}, Loss: kindScore{Latencies: []float64{70.4, 89, 110}}},
		}}
	got := rep.section()
	for _, want := range []string{
		"etcd 3.4.23, Prometheus 2.42.0; 5 kills of each kind, in 4m0s.",
		"| leaderhook, cookbook `etcd.yaml` | 1.10 / 1.20 / 1.30, 1 missed | 0.20 / 0.25 / 0.30 | 0 | 1 |",
		"| Prometheus, etcd mixin, 30 s | never | 70 / 89 / 110 | 0 | 0 |",
		"after the survivors: +0.10 s, met",
		"after the kill: 0.25 s, met",
		`no false "no leader" in leader kills: 1, **missed**`,
		"no misses: 1, **missed**",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the section lacks %q:\n%s", want, got)
		}
	}
}
