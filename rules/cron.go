package rules

import (
	"fmt"
	"regexp"
	"strings"
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
		return sched, nil
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
