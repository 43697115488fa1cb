package report

import (
	"errors"
	"fmt"
	"time"
)

// Period is a span of time reported on, [From, To): an interval (an
// outage) is cut to it; an instant (a change, the end of an election, the
// start of a loss) belongs to it when From <= t < To, so that one at a
// boundary between days counts once, in the day it begins. Closed: To is
// the end of the data, and an instant at To belongs to the period too
// (there is no next one).
type Period struct {
	From, To time.Time
	Closed   bool
}

func (p Period) has(t time.Time) bool {
	return !t.Before(p.From) && (t.Before(p.To) || (p.Closed && t.Equal(p.To)))
}

// Bounds returns the period to report on: from and to (zero: not given)
// cut to what the data covers, first to last. Outside it nothing is known,
// so it is not counted as time with a leader either.
func Bounds(first, last, from, to time.Time) (Period, error) {
	p := Period{From: first, To: last, Closed: true}
	if !from.IsZero() && from.After(p.From) {
		p.From = from
	}
	if !to.IsZero() && to.Before(p.To) {
		p.To, p.Closed = to, false
	}
	if !p.From.Before(p.To) {
		return Period{}, fmt.Errorf("no time to report on: the recording covers %s to %s", first.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
	}
	return p, nil
}

// Split cuts p at each midnight ("day") or each Monday midnight ("week")
// of loc; "" leaves it whole.
func Split(p Period, every string, loc *time.Location) ([]Period, error) {
	var next func(time.Time) time.Time
	switch every {
	case "":
		return []Period{p}, nil
	case "day":
		next = func(t time.Time) time.Time { return startOfDayAfter(t, 1, loc) }
	case "week":
		next = func(t time.Time) time.Time {
			l := t.In(loc)
			days := (8 - int(l.Weekday())) % 7 // to the next Monday
			if days == 0 {
				days = 7
			}
			return startOfDayAfter(t, days, loc)
		}
	default:
		return nil, fmt.Errorf("--period %q: want day or week", every)
	}
	var out []Period
	for from := p.From; from.Before(p.To); {
		to, closed := next(from), false
		if !to.Before(p.To) {
			to, closed = p.To, p.Closed
		}
		out = append(out, Period{From: from, To: to, Closed: closed})
		from = to
	}
	return out, nil
}

// startOfDay is the first instant of a day in loc: midnight or, where
// clocks jump over midnight, the jump. time.Date puts a midnight that does
// not exist before the jump, on the day before (America/Santiago in
// September), or after it (Africa/Cairo in April). A day a zone skipped
// (Pacific/Apia, 2011-12-30) begins where the next one does. Where
// midnight comes twice (Asia/Amman, 2021-10-29), the day begins at the
// first, which time.Date may not return.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	start, end := t.ZoneBounds()
	ty, tm, td := t.Date()
	wy, wm, wd := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Date() // d may be past the month's end
	switch {
	case (ty != wy || tm != wm || td != wd) && !end.IsZero():
		return end
	case t.Hour() != 0 || t.Minute() != 0:
		return start
	}
	return firstWithWallClock(t)
}

// firstWithWallClock is the first instant whose wall clock reads as t's:
// where clocks went back over it, the same reading came earlier, under the
// previous zone's larger offset.
func firstWithWallClock(t time.Time) time.Time {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, offset := t.Zone()
	_, before := start.Add(-time.Nanosecond).Zone()
	earlier := t.Add(-time.Duration(before-offset) * time.Second)
	if before > offset && earlier.Before(start) {
		return earlier
	}
	return t
}

// startOfDayAfter is the start of the day days after t's in loc, or of a
// later one where that day begins no later than t.
func startOfDayAfter(t time.Time, days int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	next := startOfDay(y, m, d+days, loc)
	for !next.After(t) {
		days++
		next = startOfDay(y, m, d+days, loc)
	}
	return next
}

// timeLayouts are what --from and --to accept; those without an offset
// are in the report's time zone.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	time.DateOnly,
}

// ParseTime reads a --from or --to value; "" is the zero time.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if layout == time.DateOnly {
			if day, err := time.Parse(layout, s); err == nil {
				return startOfDay(day.Year(), day.Month(), day.Day(), loc), nil // a day without midnight begins later
			}
			continue
		}
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want a date and time such as 2026-11-24T13:56:00Z, 2026-11-24 13:56 or 2026-11-24")
}
