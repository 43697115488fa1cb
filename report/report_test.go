package report

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// at is t0 plus an offset such as "90s" or "1h2m".
func at(offset string) time.Time {
	d, err := time.ParseDuration(offset)
	if err != nil {
		panic(err)
	}
	return t0.Add(d)
}

// State events as the detector announces them: a loss announced at `at`
// that truly began at `since`, a leader announced at `at`.
func lost(atOff, sinceOff, prev string) event.Event {
	return event.Event{Source: event.DetectorSource, Cluster: "c", Type: event.Leaderless, Time: at(atOff), Since: at(sinceOff), PreviousLeaderID: prev}
}

func leader(atOff, id, prev string) event.Event {
	return event.Event{Source: event.DetectorSource, Cluster: "c", Type: event.HasLeader, Time: at(atOff), Since: at(atOff), LeaderID: id, PreviousLeaderID: prev}
}

func baseline(ev event.Event) event.Event { ev.Baseline = true; return ev }

func TestHistories(t *testing.T) {
	other := leader("1s", "x", "")
	other.Cluster = "b"
	member := event.Event{Source: "ctrl1", Cluster: "c", Type: event.Leaderless, Time: at("3s")}
	states := []event.Event{
		baseline(lost("2s", "0s", "")), other, member,
		leader("5s", "n1", ""),                             // elected: no change
		leader("10s", "n2", "n1"),                          // a change without a loss
		lost("14s", "12s", "n2"), lost("15s", "12s", "n2"), // the same loss twice
		leader("20s", "n2", "n2"),                           // back: no change
		lost("32s", "30s", "n2"), leader("40s", "n3", "n2"), // a change after a loss
		lost("52s", "50s", "n3"), // still going on
	}
	got := Histories(states, nil)
	want := []History{
		{Cluster: "b", Watched: at("1s"), Losses: nil, Changes: nil},
		{Cluster: "c", Watched: at("0s"), // the first loss's true start
			Losses: []Loss{
				{Start: at("0s"), End: at("5s")},
				{Start: at("12s"), End: at("20s"), KnownStart: true},
				{Start: at("30s"), End: at("40s"), KnownStart: true},
				{Start: at("50s"), KnownStart: true},
			},
			Changes: []Change{
				{Time: at("10s"), From: "n1", To: "n2", Kind: KindUnknown},
				{Time: at("40s"), From: "n2", To: "n3", Kind: KindUnknown},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestFigures(t *testing.T) {
	// A leader from 0s; lost 100s-130s (announced at 102s), changed at
	// 130s; lost from 200s to the end of the data.
	states := []event.Event{
		baseline(leader("0s", "n1", "")), lost("102s", "100s", "n1"), leader("130s", "n2", "n1"), lost("202s", "200s", "n2"),
	}
	cases := []struct {
		name         string
		states       []event.Event
		from, to     string
		closed       bool // to is the end of the data
		leaderless   time.Duration
		availability float64
		outages      []Outage
		changes      int
		elections    Elections
	}{
		{
			name: "the whole recording, ending while leaderless", states: states, from: "0s", to: "250s",
			leaderless: 80 * time.Second, availability: 1 - 80.0/250,
			outages:   []Outage{{Start: at("100s"), End: at("130s")}, {Start: at("200s"), End: at("250s"), ClippedEnd: true}},
			changes:   1,
			elections: Elections{Count: 1, P50: 30 * time.Second, P99: 30 * time.Second, Max: 30 * time.Second},
		},
		{
			name: "--from inside an outage: cut, its election counted whole", states: states, from: "120s", to: "190s",
			leaderless: 10 * time.Second, availability: 1 - 10.0/70,
			outages:   []Outage{{Start: at("120s"), End: at("130s"), ClippedStart: true}},
			changes:   1,
			elections: Elections{Count: 1, P50: 30 * time.Second, P99: 30 * time.Second, Max: 30 * time.Second},
		},
		{
			name: "--to inside an outage: cut, no election yet", states: states, from: "50s", to: "110s",
			leaderless: 10 * time.Second, availability: 1 - 10.0/60,
			outages: []Outage{{Start: at("100s"), End: at("110s"), ClippedEnd: true}},
		},
		{
			name: "no outage", states: states, from: "140s", to: "190s",
			availability: 1, outages: []Outage{},
		},
		{
			name:   "leaderless when the recording starts: no election",
			states: []event.Event{baseline(lost("2s", "0s", "")), leader("10s", "n1", "")}, from: "0s", to: "20s",
			leaderless: 10 * time.Second, availability: 0.5,
			outages: []Outage{{Start: at("0s"), End: at("10s"), ClippedStart: true}},
		},
		{
			name:   "a loss begun at the last instant of the data",
			states: []event.Event{baseline(leader("0s", "n1", "")), lost("20s", "20s", "n1")}, from: "0s", to: "20s", closed: true,
			availability: 1, outages: []Outage{{Start: at("20s"), End: at("20s"), ClippedEnd: true}},
		},
		{
			name:   "an outage that ended as the period began is not in it, its election and change are",
			states: []event.Event{baseline(leader("0s", "n1", "")), lost("12s", "10s", "n1"), leader("20s", "n2", "n1")}, from: "20s", to: "30s",
			availability: 1, outages: []Outage{}, changes: 1,
			elections: Elections{Count: 1, P50: 10 * time.Second, P99: 10 * time.Second, Max: 10 * time.Second},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := Histories(c.states, nil)[0]
			f := h.Figures(Period{From: at(c.from), To: at(c.to), Closed: c.closed}, Flapping{Changes: 3, Window: 10 * time.Minute})
			if f.Leaderless != c.leaderless || fmt.Sprintf("%.9f", f.Availability) != fmt.Sprintf("%.9f", c.availability) {
				t.Errorf("leaderless %s, availability %v; want %s, %v", f.Leaderless, f.Availability, c.leaderless, c.availability)
			}
			if !reflect.DeepEqual(f.Outages, c.outages) {
				t.Errorf("outages %+v\nwant    %+v", f.Outages, c.outages)
			}
			if f.Changes.Total() != c.changes || f.Changes.Unknown != c.changes {
				t.Errorf("changes %+v, want %d unknown", f.Changes, c.changes)
			}
			if f.Elections != c.elections {
				t.Errorf("elections %+v, want %+v", f.Elections, c.elections)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	s := time.Second
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(100-i) * s // 100s down to 1s
	}
	cases := []struct {
		name string
		in   []time.Duration
		want Elections
	}{
		{"none", nil, Elections{}},
		{"one", []time.Duration{7 * s}, Elections{1, 7 * s, 7 * s, 7 * s}},
		{"two: p50 is the lower", []time.Duration{9 * s, 3 * s}, Elections{2, 3 * s, 9 * s, 9 * s}},
		{"five, unsorted", []time.Duration{34 * s, 5 * s, 77 * s, 7 * s, 6 * s}, Elections{5, 7 * s, 77 * s, 77 * s}},
		{"a hundred: p99 is the 99th", hundred, Elections{100, 50 * s, 99 * s, 100 * s}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := percentiles(c.in); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestFlaps(t *testing.T) {
	times := func(offsets ...string) []time.Time {
		var out []time.Time
		for _, o := range offsets {
			out = append(out, at(o))
		}
		return out
	}
	f := Flapping{Changes: 3, Window: 10 * time.Minute}
	cases := []struct {
		name  string
		times []time.Time
		f     Flapping
		want  []Flap
	}{
		{"two changes", times("0s", "1m"), f, []Flap{}},
		{"three within 10m", times("0s", "1m", "9m59s"), f, []Flap{{at("0s"), at("9m59s"), 3}}},
		{"three spread over exactly 10m: not within", times("0s", "5m", "10m"), f, []Flap{}},
		{"overlapping windows are one span", times("0s", "1m", "2m", "9m", "10m30s"), f, []Flap{{at("0s"), at("10m30s"), 5}}},
		{"windows sharing no change are two spans", times("0s", "1m", "2m", "11m", "12m", "13m"), f, []Flap{{at("0s"), at("2m"), 3}, {at("11m"), at("13m"), 3}}},
		{"a lone change after a span", times("0s", "1m", "2m", "30m"), f, []Flap{{at("0s"), at("2m"), 3}}},
		{"two spans", times("0s", "1m", "2m", "30m", "31m", "32m"), f, []Flap{{at("0s"), at("2m"), 3}, {at("30m"), at("32m"), 3}}},
		{"a change joining spans through a window of its own", times("0s", "1m", "9m", "10m30s", "11m"), f, []Flap{{at("0s"), at("11m"), 5}}},
		{"turned off", times("0s", "1s", "2s"), Flapping{}, []Flap{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := flaps(c.times, c.f); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestFiguresCountChangesAndFlapsInThePeriod(t *testing.T) {
	var states []event.Event
	states = append(states, baseline(leader("0s", "n0", "")))
	for i := 1; i <= 4; i++ {
		states = append(states, leader(fmt.Sprintf("%dm", i), fmt.Sprintf("n%d", i), fmt.Sprintf("n%d", i-1)))
	}
	h := Histories(states, nil)[0]
	f := h.Figures(Period{From: at("1m"), To: at("4m")}, Flapping{Changes: 3, Window: 10 * time.Minute})
	// The change at 4m is the next period's: [From, To).
	if f.Changes.Total() != 3 || !reflect.DeepEqual(f.Flapping, []Flap{{at("1m"), at("3m"), 3}}) {
		t.Errorf("changes %+v, flapping %+v", f.Changes, f.Flapping)
	}
}

func TestBounds(t *testing.T) {
	first, last := at("0s"), at("1h")
	cases := []struct {
		name, from, to string
		want           Period
		err            string
	}{
		{name: "default: the data", want: Period{From: at("0s"), To: at("1h"), Closed: true}},
		{name: "within", from: "10m", to: "20m", want: Period{From: at("10m"), To: at("20m")}},
		{name: "cut to the data", from: "-1h", to: "2h", want: Period{From: at("0s"), To: at("1h"), Closed: true}},
		{name: "after the data", from: "2h", err: "no time to report on: the recording covers 2026-11-24T12:00:00Z to 2026-11-24T13:00:00Z"},
		{name: "from after to", from: "30m", to: "20m", err: "no time to report on"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var from, to time.Time
			if c.from != "" {
				from = at(c.from)
			}
			if c.to != "" {
				to = at(c.to)
			}
			got, err := Bounds(first, last, from, to)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	d := func(s string, loc *time.Location) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	u := func(s string) time.Time { return d(s, time.UTC) }
	cases := []struct {
		name  string
		p     Period
		every string
		loc   *time.Location
		want  []Period
	}{
		{"whole", Period{From: u("2026-11-24 13:00"), To: u("2026-11-26 01:00")}, "", time.UTC, []Period{{From: u("2026-11-24 13:00"), To: u("2026-11-26 01:00")}}},
		{"days", Period{From: u("2026-11-24 13:00"), To: u("2026-11-26 01:00")}, "day", time.UTC,
			[]Period{{From: u("2026-11-24 13:00"), To: u("2026-11-25 00:00")}, {From: u("2026-11-25 00:00"), To: u("2026-11-26 00:00")}, {From: u("2026-11-26 00:00"), To: u("2026-11-26 01:00")}}},
		{"the end of the data stays the last day's", Period{From: u("2026-11-24 13:00"), To: u("2026-11-25 00:00"), Closed: true}, "day", time.UTC,
			[]Period{{From: u("2026-11-24 13:00"), To: u("2026-11-25 00:00"), Closed: true}}},
		{"within a day", Period{From: u("2026-11-24 13:00"), To: u("2026-11-24 14:00")}, "day", time.UTC, []Period{{From: u("2026-11-24 13:00"), To: u("2026-11-24 14:00")}}},
		// 2026-11-24 is a Tuesday; weeks begin on Monday.
		{"weeks", Period{From: u("2026-11-24 13:00"), To: u("2026-12-08 00:00")}, "week", time.UTC,
			[]Period{{From: u("2026-11-24 13:00"), To: u("2026-11-30 00:00")}, {From: u("2026-11-30 00:00"), To: u("2026-12-07 00:00")}, {From: u("2026-12-07 00:00"), To: u("2026-12-08 00:00")}}},
		{"a day of 23 hours in the config's zone", Period{From: d("2026-03-28 12:00", paris), To: d("2026-03-30 12:00", paris)}, "day", paris,
			[]Period{{From: d("2026-03-28 12:00", paris), To: d("2026-03-29 00:00", paris)}, {From: d("2026-03-29 00:00", paris), To: d("2026-03-30 00:00", paris)}, {From: d("2026-03-30 00:00", paris), To: d("2026-03-30 12:00", paris)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Split(c.p, c.every, c.loc)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v, %v\nwant %v", got, err, c.want)
			}
		})
	}
	if _, err := Split(Period{From: u("2026-11-24 13:00"), To: u("2026-11-24 14:00")}, "month", time.UTC); err == nil || err.Error() != `--period "month": want day or week` {
		t.Errorf("err %v", err)
	}
}

func TestParseTime(t *testing.T) {
	plus2 := time.FixedZone("+02", 2*3600)
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	cairo, err := time.LoadLocation("Africa/Cairo")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	cases := []struct {
		in   string
		loc  *time.Location
		want time.Time
		err  bool
	}{
		{in: "", loc: time.UTC},
		{in: "2026-11-24T13:56:36.379Z", loc: plus2, want: time.Date(2026, 11, 24, 13, 56, 36, 379e6, time.UTC)},
		{in: "2026-11-24T13:56:36+01:00", loc: time.UTC, want: time.Date(2026, 11, 24, 12, 56, 36, 0, time.UTC)},
		{in: "2026-11-24T13:56:36", loc: plus2, want: time.Date(2026, 11, 24, 13, 56, 36, 0, plus2)},
		{in: "2026-11-24 13:56:36.5", loc: time.UTC, want: time.Date(2026, 11, 24, 13, 56, 36, 5e8, time.UTC)},
		{in: "2026-11-24 13:56", loc: time.UTC, want: time.Date(2026, 11, 24, 13, 56, 0, 0, time.UTC)},
		{in: "2026-11-24", loc: plus2, want: time.Date(2026, 11, 24, 0, 0, 0, 0, plus2)},
		{in: "2026-09-06", loc: santiago, want: time.Date(2026, 9, 6, 1, 0, 0, 0, santiago)}, // no midnight that day
		{in: "2025-04-25", loc: cairo, want: time.Date(2025, 4, 25, 1, 0, 0, 0, cairo)},      // no midnight, east of UTC
		{in: "yesterday", loc: time.UTC, err: true},
		{in: "24/11/2026", loc: time.UTC, err: true},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in, c.loc)
		if (err != nil) != c.err || !got.Equal(c.want) {
			t.Errorf("%q: got %v, %v; want %v (error: %v)", c.in, got, err, c.want, c.err)
		}
	}
}

func TestChangesByKind(t *testing.T) {
	h := History{Cluster: "c", Changes: []Change{
		{Time: at("1s"), Kind: KindFailover}, {Time: at("2s"), Kind: KindTransfer},
		{Time: at("3s"), Kind: KindTransfer}, {Time: at("4s"), Kind: KindUnknown}, {Time: at("5s"), Kind: "new-kind"},
	}}
	f := h.Figures(Period{From: at("0s"), To: at("1m")}, Flapping{})
	if want := (Changes{Failover: 1, Transfer: 2, Unknown: 2}); f.Changes != want || f.Changes.Total() != 5 {
		t.Errorf("got %+v, want %+v", f.Changes, want)
	}
}

// A state event of another kind (none yet but the two) leaves the loss as
// it is.
func TestOtherStateEventsIgnored(t *testing.T) {
	h := History{Cluster: "c"}
	open := h.add(lost("2s", "0s", "n1"), false)
	other := leader("3s", "n2", "n1")
	other.Type = "state.something_else"
	if open = h.add(other, open); !open || len(h.Losses) != 1 || !h.Losses[0].End.IsZero() || len(h.Changes) != 0 {
		t.Errorf("open %v, %+v", open, h)
	}
}

// TestAdjacentPeriodsCountEachThingOnce splits a history at instants where
// something happens: periods are [From, To), so what happens at a cut is
// the later period's, once, and what happens at the end of the data is
// the last period's.
func TestAdjacentPeriodsCountEachThingOnce(t *testing.T) {
	states := []event.Event{
		baseline(leader("0s", "n0", "")),
		leader("10s", "n1", "n0"),                           // a change at a cut
		lost("21s", "20s", "n1"), leader("30s", "n2", "n1"), // an election and a change ending at a cut
		lost("41s", "40s", "n2"), // a loss begun at a cut, still going on at the end
	}
	h := Histories(states, nil)[0]
	f := Flapping{Changes: 3, Window: 10 * time.Minute}
	type counts struct{ changes, elections, outages int }
	cases := []struct {
		p    Period
		want counts
	}{
		{Period{From: at("0s"), To: at("10s")}, counts{}},
		{Period{From: at("10s"), To: at("30s")}, counts{changes: 1, outages: 1}},
		{Period{From: at("30s"), To: at("40s")}, counts{changes: 1, elections: 1}},
		{Period{From: at("40s"), To: at("50s"), Closed: true}, counts{outages: 1}},
		{Period{From: at("0s"), To: at("50s"), Closed: true}, counts{changes: 2, elections: 1, outages: 2}},
		// A loss begun at the very end of the data is the last period's.
		{Period{From: at("30s"), To: at("40s"), Closed: true}, counts{changes: 1, elections: 1, outages: 1}},
	}
	for _, c := range cases {
		fig := h.Figures(c.p, f)
		got := counts{fig.Changes.Total(), fig.Elections.Count, len(fig.Outages)}
		if got != c.want {
			t.Errorf("%s to %s (closed %v): %+v, want %+v; outages %+v", c.p.From.Format("05s"), c.p.To.Format("05s"), c.p.Closed, got, c.want, fig.Outages)
		}
	}
}

// TestSplitOnADayWithoutMidnight: where clocks jump from 00:00 to 01:00
// (America/Santiago in September), the day begins at 01:00.
func TestSplitOnADayWithoutMidnight(t *testing.T) {
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	d := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, santiago)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	done := make(chan []Period, 1)
	go func() {
		got, _ := Split(Period{From: d("2026-09-05 12:00"), To: d("2026-09-07 12:00")}, "day", santiago)
		done <- got
	}()
	select {
	case got := <-done:
		want := []Period{{From: d("2026-09-05 12:00"), To: d("2026-09-06 01:00")}, {From: d("2026-09-06 01:00"), To: d("2026-09-07 00:00")}, {From: d("2026-09-07 00:00"), To: d("2026-09-07 12:00")}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Split does not return")
	}
}

// TestTimeBeforeAClusterIsWatchedIsNotCounted: a cluster whose first state
// comes in the middle of the period (added to the config then) was not
// watched before: that time is neither led nor leaderless, and
// availability is over the time watched.
func TestTimeBeforeAClusterIsWatchedIsNotCounted(t *testing.T) {
	states := []event.Event{
		baseline(leader("30m", "n1", "")), lost("40m2s", "40m", "n1"), leader("43m", "n2", "n1"),
	}
	h := Histories(states, nil)[0]
	f := Flapping{Changes: 3, Window: 10 * time.Minute}
	cases := []struct {
		name         string
		p            Period
		unwatched    time.Duration
		availability float64 // NaN: nothing watched
		json         string
	}{
		{"added half way", Period{From: at("0s"), To: at("1h")}, 30 * time.Minute, 1 - 3.0/30, `"unwatched_ms":1800000,"availability":0.9,`},
		{"watched throughout", Period{From: at("35m"), To: at("1h")}, 0, 1 - 3.0/25, `"unwatched_ms":0,"availability":0.88,`},
		{"before it was watched", Period{From: at("0s"), To: at("20m")}, 20 * time.Minute, math.NaN(), `"unwatched_ms":1200000,"availability":null,`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fig := h.Figures(c.p, f)
			if fig.Unwatched != c.unwatched || fmt.Sprintf("%.9f", fig.Availability) != fmt.Sprintf("%.9f", c.availability) {
				t.Errorf("unwatched %s, availability %v; want %s, %v", fig.Unwatched, fig.Availability, c.unwatched, c.availability)
			}
			var b strings.Builder
			if err := WriteJSON(&b, []Figures{fig}, time.UTC); err != nil || !strings.Contains(b.String(), c.json) {
				t.Errorf("json %s, %v; want it to hold %s", b.String(), err, c.json)
			}
			b.Reset()
			if err := WriteText(&b, []Figures{fig}, time.UTC); err != nil || (c.unwatched > 0) != strings.Contains(b.String(), "not watched") {
				t.Errorf("text %s, %v; want \"not watched\" only when some of the period was not", b.String(), err)
			}
		})
	}
}

// TestDowntimeIsNotWatched: while leaderhook was down (from its stop, or
// its last line before a crash, to its next start) no cluster was
// watched: an outage is cut where watching stopped (its end unseen: no
// election) and counts again from the restart, as the restart's state
// says (a baseline, dated before the stop, counts from the restart); that
// time is left out of availability, as before a cluster is first watched.
func TestDowntimeIsNotWatched(t *testing.T) {
	states := []event.Event{
		baseline(leader("0s", "n1", "")), lost("102s", "100s", "n1"),
		baseline(lost("1h", "100s", "n1")), leader("1h10s", "n2", "n1"), // after the first restart
		baseline(leader("3h", "n2", "n1")), // after the second
	}
	down := []Span{{Start: at("130s"), End: at("1h")}, {Start: at("2h"), End: at("3h")}}
	h := Histories(states, down)[0]
	want := History{Cluster: "c", Watched: at("0s"),
		Losses: []Loss{
			{Start: at("100s"), End: at("130s"), KnownStart: true, EndUnseen: true},
			{Start: at("1h"), End: at("1h10s")},
		},
		Changes:   []Change{{Time: at("1h10s"), From: "n1", To: "n2", Kind: KindUnknown}},
		Unwatched: down,
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
	f := Flapping{Changes: 3, Window: 10 * time.Minute}
	cases := []struct {
		name       string
		p          Period
		leaderless time.Duration
		unwatched  time.Duration
		outages    []Outage
	}{
		{"whole", Period{From: at("0s"), To: at("3h30m"), Closed: true}, 40 * time.Second, time.Hour - 130*time.Second + time.Hour, []Outage{
			{Start: at("100s"), End: at("130s"), ClippedEnd: true, EndUnseen: true}, {Start: at("1h"), End: at("1h10s"), ClippedStart: true},
		}},
		{"while down", Period{From: at("10m"), To: at("20m")}, 0, 10 * time.Minute, []Outage{}},
		{"across a restart", Period{From: at("50m"), To: at("1h30m")}, 10 * time.Second, 10 * time.Minute, []Outage{
			{Start: at("1h"), End: at("1h10s"), ClippedStart: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fig := h.Figures(c.p, f)
			watched := c.p.To.Sub(c.p.From) - c.unwatched
			availability := math.NaN()
			if watched > 0 {
				availability = 1 - float64(c.leaderless)/float64(watched)
			}
			if fig.Leaderless != c.leaderless || fig.Unwatched != c.unwatched || !reflect.DeepEqual(fig.Outages, c.outages) ||
				fmt.Sprint(fig.Availability) != fmt.Sprint(availability) || fig.Elections.Count != 0 {
				t.Errorf("leaderless %s, unwatched %s, availability %v, outages %+v, %d elections\nwant %s, %s, %v, %+v, none",
					fig.Leaderless, fig.Unwatched, fig.Availability, fig.Outages, fig.Elections.Count, c.leaderless, c.unwatched, availability, c.outages)
			}
		})
	}
	var b strings.Builder
	if err := WriteText(&b, []Figures{h.Figures(Period{From: at("0s"), To: at("3h30m"), Closed: true}, f)}, time.UTC); err != nil ||
		!strings.Contains(b.String(), "30s  LONGEST, not watched after\n") {
		t.Errorf("text %s, %v; want the outage cut by the stop marked \"not watched after\"", b.String(), err)
	}
}
