package main

import (
	"slices"
	"sort"
)

// kindScore is how a pipeline did on the rounds of one kind.
type kindScore struct {
	Rounds int `json:"rounds"`
	// Seconds from the kill to the first notification of the round's
	// kind, for the rounds notified.
	Latencies []float64 `json:"latencies_s"`
	// Seconds from etcd's survivors knowing to that notification.
	Lags   []float64 `json:"lags_s,omitempty"`
	Missed int       `json:"missed"`
}

// score is how a pipeline did. Duplicates: notifications of a round's
// kind after its first. False: "no leader" in a leader kill (restart
// included), "a new leader" while quorum is lost, or either outside any
// round.
type score struct {
	Pipeline   string    `json:"pipeline"`
	Change     kindScore `json:"leader_killed"`
	Loss       kindScore `json:"quorum_lost"`
	Duplicates int       `json:"duplicates"`
	False      int       `json:"false"`
	// FalseLoss: the false "no leader" notifications of the leader kills.
	FalseLoss int `json:"false_no_leader_in_leader_kills"`
}

func (s *score) kind(kind string) *kindScore {
	if kind == kindLeader {
		return &s.Change
	}
	return &s.Loss
}

// expected is what a round's kind should be notified as.
func expected(kind string) string {
	if kind == kindLeader {
		return claimChange
	}
	return claimLoss
}

// scoreOf scores pipeline on rounds (of the clusters it watches) from the
// notes: each note belongs to the last round of its cluster killed before
// it arrived, unless it came after that round's end.
func scoreOf(pipeline string, rounds []round, notes []note) score {
	s := score{Pipeline: pipeline}
	byRound := make([][]note, len(rounds))
	for _, n := range notes {
		if n.Pipeline != pipeline || n.Claim == claimOther || n.Claim == claimResolved {
			continue
		}
		switch i := roundOf(rounds, n); {
		case i < 0:
			s.False++
		case rounds[i].End.IsZero() || !n.At.After(rounds[i].End):
			byRound[i] = append(byRound[i], n)
		}
	}
	for i, r := range rounds {
		s.judge(r, byRound[i])
	}
	return s
}

// roundOf returns the index of the last round of the note's cluster killed
// before the note arrived, or -1.
func roundOf(rounds []round, n note) int {
	best := -1
	for i, r := range rounds {
		if r.Cluster == n.Cluster && !r.Kill.After(n.At) && (best < 0 || r.Kill.After(rounds[best].Kill)) {
			best = i
		}
	}
	return best
}

func (s *score) judge(r round, notes []note) {
	sort.Slice(notes, func(i, j int) bool { return notes[i].At.Before(notes[j].At) })
	k := s.kind(r.Kind)
	k.Rounds++
	notified := false
	for _, n := range notes {
		switch {
		case n.Claim == expected(r.Kind) && !notified:
			notified = true
			k.Latencies = append(k.Latencies, n.At.Sub(r.Kill).Seconds())
			if !r.Known.IsZero() {
				k.Lags = append(k.Lags, n.At.Sub(r.Known).Seconds())
			}
		case n.Claim == expected(r.Kind):
			s.Duplicates++
		case r.Kind == kindLeader:
			s.False++
			s.FalseLoss++
		case r.Restored.IsZero() || n.At.Before(r.Restored):
			s.False++ // a new leader without quorum
		}
	}
	if !notified {
		k.Missed++
	}
}

// referenceScore is etcd's own view as a pipeline: when a survivor first
// knew.
func referenceScore(rounds []round) score {
	s := score{Pipeline: "etcd"}
	for _, r := range rounds {
		k := s.kind(r.Kind)
		k.Rounds++
		if r.Known.IsZero() {
			k.Missed++
			continue
		}
		k.Latencies = append(k.Latencies, r.Known.Sub(r.Kill).Seconds())
	}
	return s
}

// roundsOf returns the rounds of the clusters named.
func roundsOf(rounds []round, clusters ...string) []round {
	var picked []round
	for _, r := range rounds {
		if slices.Contains(clusters, r.Cluster) {
			picked = append(picked, r)
		}
	}
	return picked
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
