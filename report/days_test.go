package report

import (
	"testing"
	"time"
	_ "time/tzdata" // where the system has no zone database, Go's own
)

// loadLocation fails the test rather than skipping it: a zone missing would
// leave its case untested without a word.
func loadLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

// TestStartOfDay: a day begins at midnight or, where clocks jump over
// midnight, at the jump, whether time.Date puts midnight before it
// (west of UTC) or after it (east of UTC); a day a zone skipped begins
// where the next one does; where midnight comes twice (clocks back from
// 01:00 to 00:00), at the first.
func TestStartOfDay(t *testing.T) {
	cases := []struct{ tz, day, want string }{
		{"UTC", "2026-11-24", "2026-11-24T00:00:00Z"},
		{"Europe/Berlin", "2026-03-29", "2026-03-29T00:00:00+01:00"},
		{"Europe/Berlin", "2026-10-25", "2026-10-25T00:00:00+02:00"},
		{"America/New_York", "2026-11-01", "2026-11-01T00:00:00-04:00"},
		{"America/Santiago", "2026-09-06", "2026-09-06T01:00:00-03:00"},
		{"America/Havana", "2026-03-08", "2026-03-08T01:00:00-04:00"},
		{"Africa/Cairo", "2025-04-25", "2025-04-25T01:00:00+03:00"},
		{"Africa/Cairo", "2025-10-31", "2025-10-31T00:00:00+02:00"},
		{"Asia/Beirut", "2026-03-29", "2026-03-29T01:00:00+03:00"},
		{"Asia/Tehran", "2021-03-22", "2021-03-22T01:00:00+04:30"},
		{"Asia/Tehran", "2021-09-22", "2021-09-22T00:00:00+03:30"},
		{"Pacific/Apia", "2011-12-30", "2011-12-31T00:00:00+14:00"}, // skipped
		{"Pacific/Apia", "2011-12-31", "2011-12-31T00:00:00+14:00"},
		{"Asia/Amman", "2021-10-29", "2021-10-29T00:00:00+03:00"}, // and again at +02:00
		{"Asia/Amman", "2021-10-30", "2021-10-30T00:00:00+02:00"},
		{"America/Havana", "2026-11-01", "2026-11-01T00:00:00-04:00"}, // and again at -05:00
	}
	for _, c := range cases {
		t.Run(c.tz+" "+c.day, func(t *testing.T) {
			loc := loadLocation(t, c.tz)
			day, err := time.Parse(time.DateOnly, c.day)
			if err != nil {
				t.Fatal(err)
			}
			want, err := time.Parse(time.RFC3339, c.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := startOfDay(day.Year(), day.Month(), day.Day(), loc); !got.Equal(want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestDayWithRepeatedMidnight: where midnight comes twice (Asia/Amman,
// 2021-10-29, clocks back from 01:00 EEST to 00:00 EET), --from 2021-10-29
// and the day before's end are the first, so the day before lasts 24h.
func TestDayWithRepeatedMidnight(t *testing.T) {
	loc := loadLocation(t, "Asia/Amman")
	first := time.Date(2021, 10, 28, 21, 0, 0, 0, time.UTC)
	if got, err := ParseTime("2021-10-29", loc); err != nil || !got.Equal(first) {
		t.Errorf("ParseTime(2021-10-29) = %v, %v; want %v", got.UTC(), err, first)
	}
	p := Period{From: time.Date(2021, 10, 28, 0, 0, 0, 0, loc), To: time.Date(2021, 10, 30, 0, 0, 0, 0, loc), Closed: true}
	days := splitWithin(t, p, "day", loc)
	if len(days) != 2 || !days[0].To.Equal(first) || days[0].To.Sub(days[0].From) != 24*time.Hour {
		t.Errorf("days %v; want 2021-10-28 to end at %v, 24h long", days, first)
	}
}

// TestSplitDaysAndWeeksOverYears cuts years into days and weeks in zones
// whose clocks jump at midnight, east and west of UTC, or skipped a day:
// every period follows the last, a day lasts about a day, a week begins on
// a Monday, and Split returns.
func TestSplitDaysAndWeeksOverYears(t *testing.T) {
	cases := []struct {
		tz       string
		from, to int // years
	}{
		{"UTC", 2025, 2027},
		{"Europe/Berlin", 2025, 2027},
		{"America/New_York", 2025, 2027},
		{"Europe/London", 2010, 2027},
		{"America/Santiago", 2010, 2027},
		{"America/Havana", 2010, 2027},
		{"America/Sao_Paulo", 2010, 2020},
		{"Australia/Lord_Howe", 2010, 2027},
		{"Africa/Cairo", 2010, 2027},
		{"Asia/Beirut", 2010, 2027},
		{"Asia/Tehran", 2010, 2023},
		{"Asia/Amman", 2010, 2027},
		{"Pacific/Apia", 2011, 2012},      // no 2011-12-30
		{"Pacific/Kwajalein", 1993, 1994}, // no 1993-08-21
	}
	for _, c := range cases {
		for _, every := range []string{"day", "week"} {
			t.Run(c.tz+" "+every, func(t *testing.T) {
				loc := loadLocation(t, c.tz)
				p := Period{From: time.Date(c.from, 1, 1, 12, 0, 0, 0, loc), To: time.Date(c.to, 1, 1, 12, 0, 0, 0, loc), Closed: true}
				checkSplit(t, splitWithin(t, p, every, loc), every, loc)
			})
		}
	}
}

// splitWithin fails the test, rather than hanging it, when Split does not
// return.
func splitWithin(t *testing.T, p Period, every string, loc *time.Location) []Period {
	t.Helper()
	done := make(chan []Period, 1)
	go func() {
		ps, err := Split(p, every, loc)
		if err != nil {
			t.Error(err)
		}
		done <- ps
	}()
	select {
	case ps := <-done:
		return ps
	case <-time.After(10 * time.Second):
		t.Fatal("Split does not return")
		return nil
	}
}

func checkSplit(t *testing.T, ps []Period, every string, loc *time.Location) {
	t.Helper()
	for i, q := range ps {
		if i == 0 || i == len(ps)-1 {
			continue // cut to the period
		}
		if !ps[i-1].To.Equal(q.From) {
			t.Fatalf("%v does not follow %v", q, ps[i-1])
		}
		d := q.To.Sub(q.From)
		if every == "day" && (d < 22*time.Hour || d > 26*time.Hour) {
			t.Errorf("a day from %v to %v lasts %v", q.From.In(loc), q.To.In(loc), d)
		}
		if every == "week" && (q.From.In(loc).Weekday() != time.Monday || d < 6*24*time.Hour || d > 8*24*time.Hour) {
			t.Errorf("a week from %v to %v lasts %v", q.From.In(loc), q.To.In(loc), d)
		}
	}
}
