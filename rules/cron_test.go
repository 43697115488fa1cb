package rules

import (
	"strings"
	"testing"
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
