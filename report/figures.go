package report

import (
	"math"
	"slices"
	"time"
)

// Figures are a cluster's availability over one period.
type Figures struct {
	Cluster string
	Period
	Leaderless time.Duration // the outages' total, within the period
	// Unwatched is the part of the period before the cluster was watched
	// (History.Watched) or while leaderhook was down (History.Unwatched):
	// counted neither with a leader nor without.
	Unwatched time.Duration
	// Availability is the fraction of the time watched with a leader: 1 -
	// Leaderless / (To - From - Unwatched); NaN when none was watched.
	Availability float64
	Outages      []Outage
	Changes      Changes
	Elections    Elections
	Flapping     []Flap
}

// Outage is a loss cut to the period.
type Outage struct {
	Start, End time.Time
	// ClippedStart: the loss began before Start, before the period or
	// before watching began. ClippedEnd: it had not ended by End, the end
	// of the period or of the data, or where watching stopped (EndUnseen).
	ClippedStart, ClippedEnd bool
	EndUnseen                bool
}

// Duration is how long the outage lasted within the period.
func (o Outage) Duration() time.Duration { return o.End.Sub(o.Start) }

// Changes counts leader changes by kind.
type Changes struct {
	Failover, Transfer, Unknown int
}

// Total is the number of changes of every kind.
func (c Changes) Total() int { return c.Failover + c.Transfer + c.Unknown }

// Elections are the election times of the period: from a loss's true start
// to the announcement of a leader, for every loss that ended in the period.
// A loss already there when watching began, or not ended, has none.
type Elections struct {
	Count         int
	P50, P99, Max time.Duration // nearest rank; zero when Count is 0
}

// Flap is a span of leader changes, at least Flapping.Changes of them each
// time within Flapping.Window: from the first change to the last.
type Flap struct {
	Start, End time.Time
	Changes    int
}

// Flapping says what counts as flapping: as many changes as a rule
// `leader_changes(duration(Window)) >= Changes` fires on.
type Flapping struct {
	Changes int
	Window  time.Duration
}

// Figures computes h's figures over p.
func (h *History) Figures(p Period, f Flapping) Figures {
	fig := Figures{Cluster: h.Cluster, Period: p, Outages: []Outage{}, Flapping: []Flap{}}
	var elections []time.Duration
	for _, l := range h.Losses {
		if o, ok := l.within(p); ok {
			fig.Outages = append(fig.Outages, o)
			fig.Leaderless += o.Duration()
		}
		if l.KnownStart && !l.End.IsZero() && !l.EndUnseen && p.has(l.End) {
			elections = append(elections, l.End.Sub(l.Start))
		}
	}
	if !h.Watched.IsZero() {
		fig.Unwatched = overlap(Span{Start: p.From, End: h.Watched}, p)
	}
	for _, s := range h.Unwatched {
		fig.Unwatched += overlap(s, p)
	}
	fig.Availability = math.NaN()
	if watched := p.To.Sub(p.From) - fig.Unwatched; watched > 0 {
		fig.Availability = 1 - float64(fig.Leaderless)/float64(watched)
	}
	fig.Elections = percentiles(elections)
	var times []time.Time
	for _, c := range h.Changes {
		if !p.has(c.Time) {
			continue
		}
		times = append(times, c.Time)
		switch c.Kind {
		case KindFailover:
			fig.Changes.Failover++
		case KindTransfer:
			fig.Changes.Transfer++
		default:
			fig.Changes.Unknown++
		}
	}
	fig.Flapping = flaps(times, f)
	return fig
}

// within cuts l to p; false if they do not meet.
func (l Loss) within(p Period) (Outage, bool) {
	o := Outage{Start: l.Start, End: l.End, ClippedStart: !l.KnownStart}
	if o.Start.Before(p.From) {
		o.Start, o.ClippedStart = p.From, true
	}
	if l.End.IsZero() || l.End.After(p.To) {
		o.End, o.ClippedEnd = p.To, true
	} else if l.EndUnseen {
		o.ClippedEnd, o.EndUnseen = true, true
	}
	// A loss still going on when the data ends counts even if it began at
	// that very instant; one that ended as the period began does not, nor
	// one that begins as it ends (it is the next period's).
	ok := o.End.After(o.Start) || (l.End.IsZero() && o.End.Equal(o.Start) && p.has(l.Start))
	return o, ok
}

// overlap is how much of p s covers; s without an End runs on past p.
func overlap(s Span, p Period) time.Duration {
	from, to := s.Start, s.End
	if from.Before(p.From) {
		from = p.From
	}
	if to.IsZero() || to.After(p.To) {
		to = p.To
	}
	return max(to.Sub(from), 0)
}

// Longest returns the index of the longest outage, the first of equals;
// -1 if none.
func (f *Figures) Longest() int {
	best := -1
	for i, o := range f.Outages {
		if best < 0 || o.Duration() > f.Outages[best].Duration() {
			best = i
		}
	}
	return best
}

// percentiles are the nearest-rank p50, p99 and max of d.
func percentiles(d []time.Duration) Elections {
	if len(d) == 0 {
		return Elections{}
	}
	slices.Sort(d)
	rank := func(p int) time.Duration { return d[(p*len(d)+99)/100-1] } // ceil(p/100·n), 1-based
	return Elections{Count: len(d), P50: rank(50), P99: rank(99), Max: d[len(d)-1]}
}

// flaps finds the spans where f.Changes changes fall within f.Window (the
// first and last less than Window apart, as leader_changes counts them);
// overlapping spans are one.
func flaps(times []time.Time, f Flapping) []Flap {
	out := []Flap{}
	if f.Changes < 1 || f.Window <= 0 {
		return out
	}
	lo, last := 0, -1 // last: index of the newest change in out's last span
	for j := range times {
		for times[j].Sub(times[lo]) >= f.Window {
			lo++
		}
		if j-lo+1 < f.Changes {
			continue
		}
		if last >= lo && len(out) > 0 {
			fl := &out[len(out)-1]
			fl.Changes += j - last
			fl.End = times[j]
		} else {
			out = append(out, Flap{Start: times[lo], End: times[j], Changes: j - lo + 1})
		}
		last = j
	}
	return out
}
