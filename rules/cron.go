package rules

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// cronField is one field of the cron format of schedules and windows.
type cronField struct {
	name    string
	allowed string // the values it takes, for messages
	option  cron.ParseOption
}

// cronFields are the fields in the order they are written. The parser is
// made from this list, so messages name the fields it reads.
var cronFields = []cronField{
	{"minute", "0-59", cron.Minute},
	{"hour", "0-23", cron.Hour},
	{"day of month", "1-31", cron.Dom},
	{"month", "1-12 or JAN-DEC", cron.Month},
	{"day of week", "0-6 or SUN-SAT (0 is Sunday)", cron.Dow},
}

var cronParser = newCronParser()

func newCronParser() cron.Parser {
	options := cron.Descriptor
	for _, f := range cronFields {
		options |= f.option
	}
	return cron.NewParser(options)
}

// parseCron parses a schedule. Its error names the field at fault and what
// the field takes, at the field's byte offset, where cron's own message
// names neither.
func parseCron(spec string) (cron.Schedule, *exprError) {
	body, base := spec, 0
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		i := strings.IndexByte(spec, ' ')
		if i < 0 {
			// cron would panic on it.
			return nil, &exprError{offset: 0, msg: `the schedule must follow the time zone, e.g. "CRON_TZ=Europe/Berlin 0 9 * * *"`}
		}
		body, base = spec[i:], i
	}
	sched, err := cronParser.Parse(spec)
	if err == nil {
		if s, ok := sched.(*cron.SpecSchedule); ok {
			return dstSchedule{s, wildClock(body)}, nil
		}
		return sched, nil // @every: a fixed interval, no time of day
	}
	if strings.HasPrefix(err.Error(), "provided bad location") {
		return nil, &exprError{offset: strings.IndexByte(spec, '=') + 1, msg: "unknown time zone: use an IANA name such as Europe/Berlin, or UTC"}
	}
	e := describeCron(body, err)
	if e.offset >= 0 {
		e.offset += base
	}
	return nil, e
}

// opensAtTimes reports whether s runs at times of day (5 fields or a
// descriptor such as @daily), not at a fixed interval (@every).
func opensAtTimes(s cron.Schedule) bool {
	_, ok := s.(dstSchedule)
	return ok
}

// dstSchedule follows cronie at DST changes, where cron's own Next skips a
// time of day the clocks jump over and takes one they repeat twice: a time
// skipped by a spring-forward is taken at the change, and one repeated by a
// fall-back is taken at its first occurrence only. A wild schedule (minute
// or hour field starting with *, as cronie has it) runs by the clock as it
// is: it fires in both repeated hours and makes up nothing skipped.
type dstSchedule struct {
	*cron.SpecSchedule
	wild bool
}

func (s dstSchedule) Next(t time.Time) time.Time {
	// As cron does: a schedule without CRON_TZ= reads t's zone, the
	// engine's time zone.
	loc := s.Location
	if loc == time.Local {
		loc = t.Location()
	}
	n := s.specNext(t, loc)
	if n.IsZero() || s.wild {
		return n
	}
	// The changes from the one that began t's zone (a fall-back may have
	// just repeated an hour) up to n.
	tr, next := t.In(loc).ZoneBounds()
	if tr.IsZero() {
		tr = next
	}
	for ; !tr.IsZero() && !tr.After(n); tr = next {
		_, next = tr.ZoneBounds()
		_, before := tr.Add(-time.Nanosecond).Zone()
		_, after := tr.Zone()
		shift := time.Duration(after-before) * time.Second
		switch {
		case shift > 0 && tr.After(t):
			// Read in the zone before the change, the clock would have
			// shown the skipped times in [tr, tr+shift).
			old := *s.SpecSchedule
			old.Location = time.FixedZone("", before)
			if m := old.Next(tr.Add(-time.Nanosecond)); !m.IsZero() && m.Before(tr.Add(shift)) {
				return tr.In(t.Location())
			}
		case shift < 0 && !n.Before(tr) && n.Before(tr.Add(-shift)):
			// The clock shows n's time the second time: look past it.
			return s.Next(tr.Add(-shift - time.Nanosecond).In(t.Location()))
		}
	}
	return n
}

// maxMismatches bounds the times of cron's Next that specNext passes over.
const maxMismatches = 100

// specNext is cron's Next, but only a time whose clock in loc the spec
// matches: where a change skips midnight, cron takes the day after for the
// day it checked (a SAT schedule in Santiago ran on Sunday as well).
func (s dstSchedule) specNext(t time.Time, loc *time.Location) time.Time {
	n := s.SpecSchedule.Next(t)
	for i := 0; i < maxMismatches && !n.IsZero() && !s.matches(n.In(loc)); i++ {
		n = s.SpecSchedule.Next(n)
	}
	return n
}

// starBit marks a field written *, as cron's own does.
const starBit = 1 << 63

// matches reports whether the clock w shows is one of the spec's times: its
// minute, hour and month, and its day as cron reads the day of month and
// of week (both must match when either is *, one is enough otherwise).
func (s dstSchedule) matches(w time.Time) bool {
	in := func(field uint64, v int) bool { return field&(1<<uint(v)) != 0 }
	dom, dow := in(s.Dom, w.Day()), in(s.Dow, int(w.Weekday()))
	day := dom || dow
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		day = dom && dow
	}
	return day && in(s.Minute, w.Minute()) && in(s.Hour, w.Hour()) && in(s.Month, int(w.Month()))
}

// wildClock reports whether a schedule's minute or hour field starts with
// * (or cron's alias ?), or it is @hourly.
func wildClock(body string) bool {
	f := strings.Fields(body)
	if len(f) == 1 {
		return f[0] == "@hourly"
	}
	return len(f) >= 2 && (strings.ContainsAny(f[0][:1], "*?") || strings.ContainsAny(f[1][:1], "*?"))
}

// describeCron finds the field of body (a schedule without its time zone)
// that cron rejected with err.
func describeCron(body string, err error) *exprError {
	trimmed := strings.TrimLeft(body, " \t")
	if strings.HasPrefix(trimmed, "@") {
		return &exprError{offset: len(body) - len(trimmed),
			msg: err.Error() + " (descriptors: @yearly, @monthly, @weekly, @daily, @hourly, @every 10m)"}
	}
	fields := fieldSpans(body)
	if len(fields) != len(cronFields) {
		return &exprError{offset: -1, msg: fmt.Sprintf("%s, want %d: %s (e.g. \"0 9 * * MON-FRI\"), or a descriptor such as @daily",
			countFields(len(fields)), len(cronFields), fieldNames())}
	}
	for i, f := range fields {
		if reason := checkCronField(i, f.text); reason != "" {
			return &exprError{offset: f.start, msg: fmt.Sprintf("the %s field %q: %s; it takes %s, and *, ranges a-b, lists a,b and steps */n",
				cronFields[i].name, f.text, reason, cronFields[i].allowed)}
		}
	}
	return &exprError{offset: -1, msg: err.Error()}
}

// checkCronField says what is wrong with text as field i, "" if nothing.
func checkCronField(i int, text string) string {
	spec := make([]string, len(cronFields))
	for j := range spec {
		spec[j] = "*"
	}
	spec[i] = text
	_, err := cronParser.Parse(strings.Join(spec, " "))
	if err == nil {
		return ""
	}
	msg := err.Error()
	if m := cronNotANumber.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%q is not a number", m[1])
	}
	// cron ends its messages with the part of the field at fault, which
	// the message already quotes whole.
	if j := strings.LastIndex(msg, ": "); j >= 0 {
		msg = msg[:j]
	}
	return msg
}

var cronNotANumber = regexp.MustCompile(`^failed to parse int from (.*?): strconv`)

func countFields(n int) string {
	if n == 1 {
		return "1 field"
	}
	return fmt.Sprintf("%d fields", n)
}

func fieldNames() string {
	names := make([]string, len(cronFields))
	for i, f := range cronFields {
		names[i] = f.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// span is a field of a schedule and its byte offset.
type span struct {
	start int
	text  string
}

// fieldSpans splits s into fields at white space, as strings.Fields (and
// so cron) does.
func fieldSpans(s string) []span {
	var out []span
	start := -1
	for i, r := range s {
		switch blank := unicode.IsSpace(r); {
		case blank && start >= 0:
			out = append(out, span{start, s[start:i]})
			start = -1
		case !blank && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, span{start, s[start:]})
	}
	return out
}
