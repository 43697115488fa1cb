package actions

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 3, 1, h, m, s, 0, time.UTC) }
	cases := []struct {
		name string
		n    Notification
		want string
	}{
		{"loss", Notification{Status: StatusFiring, Leaderless: true, LeaderlessFor: 30 * time.Second, PreviousLeaderID: "e1"},
			"no leader for 30s (was e1)"},
		{"new leader", Notification{Status: StatusFiring, LeaderID: "e2", PreviousLeaderID: "e1"}, "leader e2 (was e1)"},
		{"new leader after a loss", Notification{Status: StatusFiring, LeaderID: "e2", PreviousLeaderID: "e1", LastOutage: 4 * time.Second},
			"leader e2 (was e1), after 4s without a leader"},
		{"the same leader back", Notification{Status: StatusFiring, LeaderID: "e1", PreviousLeaderID: "e1", LastOutage: 3 * time.Second},
			"e1 back after 3s"},
		{"held by a cooldown", Notification{Status: StatusFiring, LeaderID: "e1", PreviousLeaderID: "e1", HeldBy: "cooldown",
			StateSince: at(19, 3, 43), FiredAt: at(19, 9, 3)}, "leader e1 since 19:03:43 UTC, held by cooldown until 19:09:03 UTC"},
		{"held by a mute window for days", Notification{Status: StatusFiring, LeaderID: "e2", HeldBy: "muted",
			StateSince: at(23, 0, 0), FiredAt: at(23, 0, 0).Add(2 * time.Hour)},
			"leader e2 since 2026-03-01 23:00:00 UTC, held by a mute window until 2026-03-02 01:00:00 UTC"},
		{"resolve", Notification{Status: StatusResolved, LeaderID: "e2", PreviousLeaderID: "e1", LastOutage: 95 * time.Second, Lasted: time.Minute},
			"leader e2 (was e1), after 1m35s without a leader; the firing lasted 1m"},
		{"on_failure", Notification{Status: StatusFiring, Leaderless: true, LeaderlessFor: time.Minute,
			Failure: Failure{Action: "page", Error: "answered 400", Attempts: 1}},
			"page failed for good after 1 attempt (answered 400): no leader for 1m"},
		{"verify_failed", Notification{Status: StatusVerifyFailed, Leaderless: true, LeaderlessFor: 4*time.Minute + 10*time.Second, PreviousLeaderID: "e1"},
			"not verified after the actions succeeded: no leader for 4m10s (was e1)"},
	}
	for _, tc := range cases {
		if got := tc.n.Summary(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// A memory survives a restart in its file, is shared by the actions a
// reload builds, and stays bounded.
func TestMemory(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenMemory(dir, "chat")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := m.Put("a", map[string]string{"ts": "1.2"}, now); err != nil {
		t.Fatal(err)
	}
	if again, _ := OpenMemory(dir, "chat"); again != m {
		t.Error("a second action of the same name has a memory of its own")
	}
	// A restart reads the file afresh.
	memories.Lock()
	delete(memories.byPath, filepath.Join(dir, "actions", "chat.json"))
	memories.Unlock()
	restarted, err := OpenMemory(dir, "chat")
	var got map[string]string
	if err != nil || !restarted.Get("a", &got) || got["ts"] != "1.2" {
		t.Fatalf("after a restart: %v %v", got, err)
	}
	for i := range MaxMemoryEntries + 5 {
		restarted.Put(time.Duration(i).String(), i, now.Add(time.Duration(i)*time.Second))
	}
	n := 0
	restarted.Each(func(string, json.RawMessage) { n++ })
	if n != MaxMemoryEntries || restarted.Get("a", &got) {
		t.Errorf("%d entries after %d puts; the oldest kept: %v", n, MaxMemoryEntries+6, restarted.Get("a", &got))
	}
	if err := restarted.Delete("0s"); err != nil {
		t.Fatal(err)
	}
}
