package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSpreadOf(t *testing.T) {
	cases := []struct {
		xs   []float64
		want spread
	}{
		{nil, spread{}},
		{[]float64{2}, spread{2, 2, 2}},
		{[]float64{3, 1, 2}, spread{1, 2, 3}},
		{[]float64{4, 1, 3, 2}, spread{1, 2.5, 4}},
	}
	for _, c := range cases {
		if got := spreadOf(c.xs); got != c.want {
			t.Errorf("spreadOf(%v) = %+v, want %+v", c.xs, got, c.want)
		}
	}
	xs := []float64{3, 1, 2}
	spreadOf(xs)
	if xs[0] != 3 {
		t.Error("spreadOf sorted its argument")
	}
}

func TestFailoverDelayLeavesOutTheRulesWait(t *testing.T) {
	if got := (round{Due: 0.98, Page: 2.5}).failoverDelay(); got < 1.519 || got > 1.521 {
		t.Errorf("due after the kill: %v, want 1.52", got)
	}
	// Due before the kill: the whole wait is the failover's.
	if got := (round{Due: -0.2, Page: 1.5}).failoverDelay(); got != 1.5 {
		t.Errorf("due before the kill: %v, want 1.5", got)
	}
}

func sampleReport(pages ...float64) report {
	rep := report{Machine: "2 cores, a CPU", When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: "1m30s",
		Raft: raftTimers{Version: "v1.7.2", ElectionTimeout: 1, HeartbeatTimeout: 1}, RuleDelay: 1, Load: "5s", Senders: 8,
		Ingest: []ingestRow{{Via: viaAlone, Sequential: 6000, Concurrent: 25000},
			{Via: viaLeader, Sequential: 500, Concurrent: 1000}, {Via: viaFollower, Sequential: 250, Concurrent: 600, Refused: 3}}}
	for _, p := range pages {
		rep.Rounds = append(rep.Rounds, round{Killed: "lh1", NewLeader: "lh2", Due: 1, NoLeader: p - 1.1, Page: p})
	}
	return rep
}

func TestSectionRendersTheRun(t *testing.T) {
	text := sampleReport(2.2, 2.6, 3.4).section()
	for _, want := range []string{
		"Measured on 2026-01-02; 2 cores, a CPU. Raft v1.7.2 defaults: election timeout 1 s, heartbeat 1 s.",
		"| 3 leader kills; s after the kill | min / median / max |",
		"| a survivor leads | 1.10 / 1.50 / 2.30 |",
		"(due 1 s after the loss, ≈1.00 s after the kill) | 2.20 / 2.60 / 3.40 |",
		"| **failover delay**: page − due | **1.20 / 1.60 / 2.40** |",
		"max 2.40 s, **missed**.",
		"| alone, no `ha:` | 6000 | 25000 |",
		"| group, to a follower (it forwards) | 250 | 600 (3 refused) |",
		"1 event each, 5s | events/s, 1 sender | 8 senders |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the section lacks %q:\n%s", want, text)
		}
	}
	if text := sampleReport(2.2, 2.9).section(); !strings.Contains(text, "(2.00 s) at every kill: max 1.90 s, met.") {
		t.Errorf("a run within the target:\n%s", text)
	}
	if text := sampleReport().section(); !strings.Contains(text, "**missed**") {
		t.Errorf("a run without rounds met the target:\n%s", text)
	}
}

// TestResultsRoundTrip: -from renders the same section as the run that
// wrote the results file.
func TestResultsRoundTrip(t *testing.T) {
	rep := sampleReport(2.2, 2.6, 3.4)
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.section() != rep.section() {
		t.Errorf("from the results file:\n%s\nfrom the run:\n%s", back.section(), rep.section())
	}
}
