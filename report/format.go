package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// JSON is the shape of one line of --format json.
type JSON struct {
	Cluster      string        `json:"cluster"`
	From         string        `json:"from"`
	To           string        `json:"to"`
	LeaderlessMS int64         `json:"leaderless_ms"`
	UnwatchedMS  int64         `json:"unwatched_ms"`
	Availability *float64      `json:"availability"` // null when nothing was watched
	Outages      []OutageJSON  `json:"outages"`
	Changes      ChangesJSON   `json:"changes"`
	ElectionMS   ElectionsJSON `json:"election_ms"`
	Flapping     []FlapJSON    `json:"flapping"`
}

// OutageJSON is an outage in JSON.
type OutageJSON struct {
	Start        string `json:"start"`
	End          string `json:"end"`
	DurationMS   int64  `json:"duration_ms"`
	ClippedStart bool   `json:"clipped_start,omitempty"`
	ClippedEnd   bool   `json:"clipped_end,omitempty"`
}

// ChangesJSON counts changes by kind in JSON.
type ChangesJSON struct {
	Total    int `json:"total"`
	Failover int `json:"failover"`
	Transfer int `json:"transfer"`
	Unknown  int `json:"unknown"`
}

// ElectionsJSON are election times in JSON: null without elections.
type ElectionsJSON struct {
	Count int    `json:"count"`
	P50   *int64 `json:"p50"`
	P99   *int64 `json:"p99"`
	Max   *int64 `json:"max"`
}

// FlapJSON is a flapping span in JSON.
type FlapJSON struct {
	Start   string `json:"start"`
	End     string `json:"end"`
	Changes int    `json:"changes"`
}

// ToJSON returns f as --format json prints it, times in loc.
func (f *Figures) ToJSON(loc *time.Location) JSON {
	ts := func(t time.Time) string { return t.In(loc).Format(event.TimeLayout) }
	out := JSON{
		Cluster: f.Cluster, From: ts(f.From), To: ts(f.To),
		LeaderlessMS: f.Leaderless.Milliseconds(), UnwatchedMS: f.Unwatched.Milliseconds(),
		Outages: []OutageJSON{}, Flapping: []FlapJSON{},
		Changes:    ChangesJSON{Total: f.Changes.Total(), Failover: f.Changes.Failover, Transfer: f.Changes.Transfer, Unknown: f.Changes.Unknown},
		ElectionMS: ElectionsJSON{Count: f.Elections.Count},
	}
	if a := f.Availability; !math.IsNaN(a) {
		out.Availability = &a
	}
	for _, o := range f.Outages {
		out.Outages = append(out.Outages, OutageJSON{Start: ts(o.Start), End: ts(o.End), DurationMS: o.Duration().Milliseconds(), ClippedStart: o.ClippedStart, ClippedEnd: o.ClippedEnd})
	}
	if f.Elections.Count > 0 {
		ms := func(d time.Duration) *int64 { v := d.Milliseconds(); return &v }
		out.ElectionMS.P50, out.ElectionMS.P99, out.ElectionMS.Max = ms(f.Elections.P50), ms(f.Elections.P99), ms(f.Elections.Max)
	}
	for _, fl := range f.Flapping {
		out.Flapping = append(out.Flapping, FlapJSON{Start: ts(fl.Start), End: ts(fl.End), Changes: fl.Changes})
	}
	return out
}

// WriteJSON writes one JSON object per line, one per cluster and period.
func WriteJSON(w io.Writer, figs []Figures, loc *time.Location) error {
	enc := json.NewEncoder(w)
	for i := range figs {
		if err := enc.Encode(figs[i].ToJSON(loc)); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}

// WriteText writes the figures for people, a block per cluster and
// period, times in loc.
func WriteText(w io.Writer, figs []Figures, loc *time.Location) error {
	var b strings.Builder
	for i := range figs {
		if i > 0 {
			b.WriteByte('\n')
		}
		figs[i].text(&b, loc)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

const clockLayout = "2006-01-02 15:04:05.000"

func (f *Figures) text(b *strings.Builder, loc *time.Location) {
	clock := func(t time.Time) string { return t.In(loc).Format(clockLayout) }
	fmt.Fprintf(b, "%s  %s to %s %s (%s)\n", event.Printable(f.Cluster), clock(f.From), clock(f.To), loc, dur(f.To.Sub(f.From)))
	switch {
	case math.IsNaN(f.Availability):
		b.WriteString("  availability  none: not watched\n")
	case f.Unwatched > 0:
		fmt.Fprintf(b, "  availability  %s (%s without a leader, %s not watched)\n", percent(f.Availability, len(f.Outages)), dur(f.Leaderless), dur(f.Unwatched))
	default:
		fmt.Fprintf(b, "  availability  %s (%s without a leader)\n", percent(f.Availability, len(f.Outages)), dur(f.Leaderless))
	}
	fmt.Fprintf(b, "  outages       %d\n", len(f.Outages))
	longest := f.Longest()
	for i, o := range f.Outages {
		var notes []string
		if i == longest {
			notes = append(notes, "LONGEST")
		}
		if o.ClippedStart {
			notes = append(notes, "began earlier")
		}
		switch {
		case o.EndUnseen:
			notes = append(notes, "not watched after")
		case o.ClippedEnd:
			notes = append(notes, "no leader yet at the end")
		}
		line := fmt.Sprintf("    %s to %s  %10s  %s", clock(o.Start), clock(o.End), dur(o.Duration()), strings.Join(notes, ", "))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	c := f.Changes
	fmt.Fprintf(b, "  changes       %d (failover %d, transfer %d, unknown %d)\n", c.Total(), c.Failover, c.Transfer, c.Unknown)
	if e := f.Elections; e.Count > 0 {
		fmt.Fprintf(b, "  elections     %d: p50 %s, p99 %s, max %s\n", e.Count, dur(e.P50), dur(e.P99), dur(e.Max))
	} else {
		b.WriteString("  elections     0\n")
	}
	fmt.Fprintf(b, "  flapping      %d\n", len(f.Flapping))
	for _, fl := range f.Flapping {
		fmt.Fprintf(b, "    %s to %s  %d changes\n", clock(fl.Start), clock(fl.End), fl.Changes)
	}
}

// dur shows d to the millisecond, cut as the JSON's _ms figures are.
func dur(d time.Duration) string { return d.Truncate(time.Millisecond).String() }

// percent shows availability to 0.01 %, rounded down: a period with an
// outage never shows as 100 %, not even one of no length (a loss at the
// period's last instant) or too short to tell from 1 in floating point.
func percent(a float64, outages int) string {
	if outages == 0 {
		return "100 %"
	}
	shown := math.Floor(a*10000+1e-9) / 100 // 1e-9: 0.9998 is 9997.99… in floating point
	return fmt.Sprintf("%.2f %%", min(shown, 99.99))
}
