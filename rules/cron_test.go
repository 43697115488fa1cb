package rules

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A bad schedule is reported at the field at fault, named, with what the
// field takes.
func TestCronErrors(t *testing.T) {
	const forms = "; it takes "
	cases := []struct {
		spec   string
		offset int
		msg    string
	}{
		{"61 * * * *", 0, `the minute field "61": end of range (61) above maximum (59)` + forms + "0-59, and *, ranges a-b, lists a,b and steps */n"},
		{"0 25 * * *", 2, `the hour field "25": end of range (25) above maximum (23)` + forms + "0-23,"},
		{"0 9 0 * *", 4, `the day of month field "0": beginning of range (0) below minimum (1)` + forms + "1-31,"},
		{"0 9 1 13 *", 6, `the month field "13": end of range (13) above maximum (12)` + forms + "1-12 or JAN-DEC,"},
		{"0 9 * * SUNDAY", 8, `the day of week field "SUNDAY": "SUNDAY" is not a number` + forms + "0-6 or SUN-SAT (0 is Sunday),"},
		{"0 9 * * 7", 8, `the day of week field "7": end of range (7) above maximum (6)`},
		{"x * * * *", 0, `the minute field "x": "x" is not a number`},
		{"*/0 * * * *", 0, `the minute field "*/0": step of range should be a positive number`},
		{"0 9-5 * * *", 2, `the hour field "9-5": beginning of range (9) beyond end of range (5)`},
		{"0  9\t* * MON-FRI-SAT", 9, `the day of week field "MON-FRI-SAT": too many hyphens`},
		{"CRON_TZ=UTC 0 25 * * *", 14, `the hour field "25"`},
		{"0 9 * *", -1, `4 fields, want 5: minute, hour, day of month, month and day of week (e.g. "0 9 * * MON-FRI"), or a descriptor such as @daily`},
		{"0 0 9 * * *", -1, `6 fields, want 5`},
		{"daily", -1, `1 field, want 5`},
		{"", -1, `0 fields, want 5`},
		{"@weekdays", 0, `unrecognized descriptor: @weekdays (descriptors: @yearly,`},
		{"TZ=UTC", 0, `the schedule must follow the time zone`},
		{"CRON_TZ=Mars/Olympus 0 9 * * *", 8, `unknown time zone: use an IANA name`},
	}
	for _, c := range cases {
		_, err := parseCron(c.spec)
		if err == nil || err.offset != c.offset || !strings.HasPrefix(err.msg, c.msg) {
			t.Errorf("%q:\n got %+v\nwant offset %d, %s...", c.spec, err, c.offset, c.msg)
		}
	}
	for _, spec := range []string{"0 9 * * MON-FRI", "*/15 0-6 1,15 JAN-MAR,12 0", "@daily", "@every 90m", "CRON_TZ=Europe/Berlin 0 9 * * *"} {
		if _, err := parseCron(spec); err != nil {
			t.Errorf("%q: %+v", spec, err)
		}
	}
}

// The messages name as many fields as the parser reads.
func TestCronFieldsMatchTheParser(t *testing.T) {
	spec := strings.TrimSpace(strings.Repeat("* ", len(cronFields)))
	if _, err := cronParser.Parse(spec); err != nil {
		t.Errorf("%d fields: %v", len(cronFields), err)
	}
	if _, err := cronParser.Parse(spec + " *"); err == nil {
		t.Errorf("%d fields accepted", len(cronFields)+1)
	}
}

func loadLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func rfc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Schedules keep cronie's rules at DST changes: a fixed time that a
// spring-forward skips is taken at the change; one that a fall-back repeats
// is taken once; a schedule whose minute or hour is * runs by the clock.
// Times are written with their offsets: -05:00 is EST, -04:00 EDT, +01:00
// CET, +02:00 CEST.
func TestCronDST(t *testing.T) {
	cases := []struct {
		name, tz, spec, from string
		want                 []string
	}{
		{"spring forward: a time in the gap runs at the change", "America/New_York", "30 2 * * *",
			"2026-03-07T12:00:00-05:00", []string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"spring forward: from the last second before the change", "America/New_York", "30 2 * * *",
			"2026-03-08T01:59:59-05:00", []string{"2026-03-08T03:00:00-04:00"}},
		{"spring forward: two times in the gap run once, at the change", "America/New_York", "0,30 2 * * *",
			"2026-03-07T12:00:00-05:00", []string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{"spring forward: a weekly window opening in the gap", "America/New_York", "0 2 * * SUN",
			"2026-03-01T12:00:00-05:00", []string{"2026-03-08T03:00:00-04:00", "2026-03-15T02:00:00-04:00"}},
		{"spring forward: CRON_TZ= with the engine in UTC", "UTC", "CRON_TZ=America/New_York 30 2 * * *",
			"2026-03-07T12:00:00-05:00", []string{"2026-03-08T03:00:00-04:00"}},
		{"fall back: a time in the repeated hour runs once", "America/New_York", "30 1 * * *",
			"2026-10-31T12:00:00-04:00", []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"fall back: not again from inside the repeated hour", "America/New_York", "30 1 * * *",
			"2026-11-01T01:10:00-05:00", []string{"2026-11-02T01:30:00-05:00"}},
		{"fall back: CRON_TZ= with the engine in UTC", "UTC", "CRON_TZ=America/New_York 30 1 * * *",
			"2026-10-31T12:00:00-04:00", []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"Berlin spring forward", "Europe/Berlin", "30 2 * * *",
			"2026-03-28T12:00:00+01:00", []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{"Berlin fall back", "Europe/Berlin", "30 2 * * *",
			"2026-10-24T12:00:00+02:00", []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"wildcard hour, spring forward: the skipped 02:30 is not made up", "America/New_York", "30 * * * *",
			"2026-03-08T01:00:00-05:00", []string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"}},
		{"wildcard hour, fall back: both 01:30s", "America/New_York", "30 * * * *",
			"2026-11-01T01:00:00-04:00", []string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"wildcard minute, fall back: both repeated hours", "America/New_York", "*/30 1 * * *",
			"2026-11-01T00:45:00-04:00", []string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
				"2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-02T01:00:00-05:00"}},
		{"midnight spring forward: the day after is not taken for the day (Santiago)", "America/Santiago", "0 22 * * SAT",
			"2026-09-05T12:00:00-04:00", []string{"2026-09-05T22:00:00-04:00", "2026-09-12T22:00:00-03:00"}},
		{"midnight spring forward: the day after is not taken for the day (Havana)", "America/Havana", "0 22 * * SAT",
			"2026-03-07T12:00:00-05:00", []string{"2026-03-07T22:00:00-05:00", "2026-03-14T22:00:00-04:00"}},
		{"midnight spring forward: nor by a wildcard hour", "America/Santiago", "0 * * * SAT",
			"2026-09-05T23:30:00-04:00", []string{"2026-09-12T00:00:00-03:00"}},
	}
	for _, c := range cases {
		sched, perr := parseCron(c.spec)
		if perr != nil {
			t.Fatalf("%s: %+v", c.spec, perr)
		}
		now := rfc(t, c.from)
		var got, want []string
		for _, w := range c.want {
			want = append(want, rfc(t, w).UTC().Format(time.RFC3339))
			now = nextAt(sched, now, loadLoc(t, c.tz))
			got = append(got, now.UTC().Format(time.RFC3339))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q from %s:\n got %v\nwant %v", c.name, c.spec, c.from, got, want)
		}
	}
}

// A quarter-hourly schedule fires at every real quarter hour through both
// changes: none skipped, none twice.
func TestCronDSTQuarterHours(t *testing.T) {
	sched, perr := parseCron("*/15 * * * *")
	if perr != nil {
		t.Fatal(perr)
	}
	for _, c := range []struct{ tz, from string }{
		{"America/New_York", "2026-03-07T12:00:00-05:00"},
		{"America/New_York", "2026-10-31T12:00:00-04:00"},
		{"Europe/Berlin", "2026-03-28T12:00:00+01:00"},
		{"Europe/Berlin", "2026-10-24T12:00:00+02:00"},
	} {
		prev := rfc(t, c.from)
		for i := 0; i < 4*48; i++ {
			n := nextAt(sched, prev, loadLoc(t, c.tz))
			if n.Sub(prev) != 15*time.Minute {
				t.Errorf("%s from %s: after %s came %s", c.tz, c.from, prev.Format(time.RFC3339), n.Format(time.RFC3339))
				break
			}
			prev = n
		}
	}
}

// A mute window that opens in a spring-forward gap opens at the change and
// stays open for its whole duration; one that opens in a fall-back's
// repeated hour opens once.
func TestMuteWindowDST(t *testing.T) {
	ny := loadLoc(t, "America/New_York")
	mute := func(spec string) []*window {
		sched, perr := parseCron(spec)
		if perr != nil {
			t.Fatal(perr)
		}
		return []*window{{name: "w", schedule: sched, duration: 2 * time.Hour}}
	}
	spring, fall := mute("0 2 * * SUN"), mute("0 1 * * SUN")
	cases := []struct {
		wins      []*window
		at, until string // until "" for not muted
	}{
		{spring, "2026-03-08T01:59:59-05:00", ""},
		{spring, "2026-03-08T03:00:00-04:00", "2026-03-08T05:00:00-04:00"},
		{spring, "2026-03-08T04:59:59-04:00", "2026-03-08T05:00:00-04:00"},
		{spring, "2026-03-08T05:00:00-04:00", ""},
		{spring, "2026-03-15T02:00:00-04:00", "2026-03-15T04:00:00-04:00"},
		{fall, "2026-11-01T00:59:59-04:00", ""},
		{fall, "2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00"},
		{fall, "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"},
		{fall, "2026-11-01T02:00:00-05:00", ""},
	}
	for _, c := range cases {
		at := rfc(t, c.at)
		until, muted := mutedUntil(c.wins, at, ny)
		want := time.Time{}
		if c.until != "" {
			want = rfc(t, c.until)
		}
		if muted != (c.until != "") || !until.Equal(want) {
			t.Errorf("%s: muted %v until %s, want until %q", c.at, muted, until.Format(time.RFC3339), c.until)
		}
	}
}
