package main

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

// report is one run: the raft timers in use, every round, every ingest
// run.
type report struct {
	Machine   string      `json:"machine"`
	When      time.Time   `json:"when"`
	Duration  string      `json:"duration"`
	Raft      raftTimers  `json:"raft"`
	RuleDelay float64     `json:"rule_delay_s"`
	Load      string      `json:"load"` // each ingest run
	Senders   int         `json:"senders"`
	Rounds    []round     `json:"rounds"`
	Ingest    []ingestRow `json:"ingest"`
}

// raftTimers are hashicorp/raft's defaults, which leaderhook's group runs
// with (ha/node.go).
type raftTimers struct {
	Version          string  `json:"version"`
	ElectionTimeout  float64 `json:"election_timeout_s"`
	HeartbeatTimeout float64 `json:"heartbeat_timeout_s"`
}

func defaultRaftTimers() raftTimers {
	c := raft.DefaultConfig()
	t := raftTimers{Version: "unknown", ElectionTimeout: c.ElectionTimeout.Seconds(), HeartbeatTimeout: c.HeartbeatTimeout.Seconds()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/hashicorp/raft" {
				t.Version = m.Version
			}
		}
	}
	return t
}

// target is the most the failover may delay a page: twice the election
// timeout.
func (t raftTimers) target() float64 { return 2 * t.ElectionTimeout }

// spread is the min, median and max of a series.
type spread struct{ Min, Median, Max float64 }

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	mid := s[len(s)/2]
	if len(s)%2 == 0 {
		mid = (s[len(s)/2-1] + mid) / 2
	}
	return spread{Min: s[0], Median: mid, Max: s[len(s)-1]}
}

func (s spread) String() string { return fmt.Sprintf("%.2f / %.2f / %.2f", s.Min, s.Median, s.Max) }

// series is one figure of every round.
func (rep report) series(f func(round) float64) spread {
	var xs []float64
	for _, r := range rep.Rounds {
		xs = append(xs, f(r))
	}
	return spreadOf(xs)
}

func (rep report) write(jsonPath, mdPath string) error {
	if jsonPath != "" {
		if err := benchdoc.WriteJSON(jsonPath, rep); err != nil {
			return err
		}
	}
	if mdPath != "" {
		return benchdoc.Replace(mdPath, "ha", rep.section())
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// section is the text between the ha markers of BENCHMARKS.md.
func (rep report) section() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s Raft %s defaults: election timeout %s, heartbeat %s.\n\n",
		benchdoc.Header(rep.Machine, rep.When), rep.Raft.Version,
		secs(rep.Raft.ElectionTimeout), secs(rep.Raft.HeartbeatTimeout))
	b.WriteString(rep.failoverTable())
	b.WriteString("\n" + rep.ingestTable())
	return b.String()
}

func secs(s float64) string { return fmt.Sprintf("%g s", s) }

func (rep report) failoverTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %d leader kills; s after the kill | min / median / max |\n|---|---|\n", len(rep.Rounds))
	fmt.Fprintf(&b, "| a survivor leads | %s |\n", rep.series(func(r round) float64 { return r.NoLeader }))
	fmt.Fprintf(&b, "| page (due %s after the loss, ≈%.2f s after the kill) | %s |\n", secs(rep.RuleDelay),
		rep.series(func(r round) float64 { return r.Due }).Median, rep.series(func(r round) float64 { return r.Page }))
	delay := rep.series(round.failoverDelay)
	fmt.Fprintf(&b, "| **failover delay**: page − due | **%s** |\n", delay)
	target := rep.Raft.target()
	fmt.Fprintf(&b, "\nTarget: failover delay ≤ 2× election timeout (%.2f s) at every kill: max %.2f s, %s.\n",
		target, delay.Max, verdict(len(rep.Rounds) > 0 && delay.Max <= target))
	return b.String()
}

var viaNames = map[string]string{
	viaAlone:    "alone, no `ha:`",
	viaLeader:   "group, to the leader",
	viaFollower: "group, to a follower (it forwards)",
}

func (rep report) ingestTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| `POST /v1/events`, 1 event each, %s | events/s, 1 sender | %d senders |\n|---|---|---|\n",
		rep.Load, rep.Senders)
	for _, row := range rep.Ingest {
		refused := ""
		if row.Refused > 0 {
			refused = fmt.Sprintf(" (%d refused)", row.Refused)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f%s |\n", viaNames[row.Via], row.Sequential, row.Concurrent, refused)
	}
	return b.String()
}
