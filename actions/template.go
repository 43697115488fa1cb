package actions

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// templateFuncs are what templates may call besides text/template's
// builtins. Every action kind gets the same set.
var templateFuncs = template.FuncMap{
	"json":    toJSON,
	"upper":   strings.ToUpper,
	"lower":   strings.ToLower,
	"join":    join,
	"default": orDefault,
	"ms":      func(d time.Duration) int64 { return d.Milliseconds() },
	"seconds": func(d time.Duration) float64 { return d.Seconds() },
	"rfc3339": func(t time.Time) string { return t.Format(event.TimeLayout) },
}

// ParseTemplate parses an action template. A reference to a map key that
// does not exist fails when it is rendered instead of printing "<no value>"
// into a request; `default "x" (index .Event "k")` reads a key that may be
// absent (`index` alone prints "<no value>", which ParseStrict refuses).
func ParseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
}

// toJSON lets a template embed a value in a JSON body safely quoted:
// {"cluster": {{ json .Cluster }}}.
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// join takes the separator first so that it reads well in a pipeline:
// {{ .Unreachable | join ", " }}. Event lists decode as []any. A missing
// list (nil) joins to "".
func join(sep string, items any) (string, error) {
	switch v := items.(type) {
	case nil:
		return "", nil
	case []string:
		return strings.Join(v, sep), nil
	case []any:
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, sep), nil
	}
	return "", fmt.Errorf("want a list, got %T", items)
}

// orDefault is `default DEF VALUE`: VALUE unless it is absent, zero or
// empty. It takes any so that {{ default "none" (index .Event "leaderId") }}
// works when the key is missing.
func orDefault(def, v any) any {
	if v == nil {
		return def
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		if rv.Len() == 0 {
			return def
		}
	default:
		if rv.IsZero() {
			return def
		}
	}
	return v
}

// samples are what templates are rendered with at load, one of each
// status (a template may branch on it): every field set, so that a
// misspelt field is found before the first firing, and the event's fields
// as a real notification has them. The firing comes first.
var samples = func() []Notification {
	var out []Notification
	for _, status := range []string{StatusFiring, StatusResolved, StatusVerifyFailed} {
		n := Sample(SampleSpec{Status: status, Rule: "rule", Cluster: "cluster", Labels: map[string]string{"env": "prod"},
			Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		n.DeliveryID = "01J0000000000000000000000"
		n.Failure = Failure{Action: "page", Kind: "webhook", Error: "answered 500", Attempts: 5}
		out = append(out, n)
	}
	return out
}()

// checkName is the name templates are parsed under for checking, so that
// positions can be read back from text/template's messages whatever the
// config path is.
const checkName = "t"

// checkTemplate parses text and renders it with each sample, so that
// {{ .Clustr }} is reported at load, not at 3 a.m. It returns the problem
// and the byte offset in text it points at (-1 for the whole value).
func checkTemplate(text string) (msg string, offset int, ok bool) {
	t, err := ParseTemplate(checkName, text)
	for i := 0; err == nil && i < len(samples); i++ {
		err = t.Execute(io.Discard, &samples[i])
		if err != nil && dependsOnEvent(err.Error()) && !readsNoEventKey(err.Error()) {
			err = nil
		}
	}
	if err == nil {
		return "", 0, true
	}
	msg, line, col := splitTemplateError(err.Error())
	return explainKey(explainField(msg)), offsetOf(text, line, col), false
}

// missingEventKey matches text/template's message for .Event.KEY when the
// event has no KEY.
var missingEventKey = regexp.MustCompile(`at <\$?\.Event\.[^>]*>: map has no entry for key "([^"]*)"`)

// readsNoEventKey reports whether msg is a read of an .Event key that no
// event holds: unlike leaderId, absent from some events only, it fails on
// every notification.
func readsNoEventKey(msg string) bool {
	m := missingEventKey.FindStringSubmatch(msg)
	return m != nil && !slices.Contains(event.FieldNames, m[1])
}

// explainKey says which keys an event can hold, when msg is about one
// none holds.
func explainKey(msg string) string {
	m := missingEventKey.FindStringSubmatch(msg)
	if m == nil || slices.Contains(event.FieldNames, m[1]) {
		return msg
	}
	for _, k := range event.FieldNames {
		if strings.EqualFold(k, m[1]) {
			return fmt.Sprintf("the event has no key %q: did you mean %q?", m[1], k)
		}
	}
	return fmt.Sprintf("the event has no key %q (keys: %s)", m[1], strings.Join(event.FieldNames, ", "))
}

// SampleOutput renders text with the sample that templates are checked
// with, for a kind whose setting must render one of a few values: what
// the sample gives is checked at load rather than at the first firing.
// ok is false when text does not render with the sample (see
// CheckTemplate for why).
func SampleOutput(text string) (out string, ok bool) {
	t, err := ParseTemplate(checkName, text)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if err := t.Execute(&b, &samples[0]); err != nil {
		return "", false
	}
	return b.String(), true
}

// SampleRendering is what a template renders for one sample notification.
type SampleRendering struct {
	Status string // the sample's: StatusFiring, StatusResolved, StatusVerifyFailed
	Out    string
}

// SampleOutputs renders text with each sample that templates are checked
// with, for a kind whose setting must render text of some form (JSON): a
// template may branch on the status. ok is false when text does not
// render with one of them (see CheckTemplate for why).
func SampleOutputs(text string) (out []SampleRendering, ok bool) {
	t, err := ParseTemplate(checkName, text)
	if err != nil {
		return nil, false
	}
	for i := range samples {
		var b strings.Builder
		if err := t.Execute(&b, &samples[i]); err != nil {
			return nil, false
		}
		out = append(out, SampleRendering{Status: samples[i].Status, Out: b.String()})
	}
	return out, true
}

// dataErrors are rendering failures caused by what the sample's maps hold.
// Events carry different keys by type and labels differ by cluster, so a
// template that reads .Event.leaderId is right even though the sample has
// no such key.
var dataErrors = []string{
	"map has no entry for key", // .Event.x, .Labels.x
	"invalid value;",           // a nil from `index` passed to a function
	"error calling index:",     // index into a missing list
	"nil pointer evaluating",   // a field of a missing value
	"for comparison",           // eq with a missing value
}

func dependsOnEvent(msg string) bool {
	for _, s := range dataErrors {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// templateError matches text/template's "template: t:LINE:COL: msg" (from
// execution) and "template: t:LINE: msg" (from parsing, which knows no
// column).
var templateError = regexp.MustCompile(`(?s)^template: ` + checkName + `:(\d+)(?::(\d+))?: (.*)$`)

// executing drops the `executing "t" ` that names our internal template.
var executing = regexp.MustCompile(`^executing "[^"]*" `)

// splitTemplateError returns the message and its 1-based line and 0-based
// byte column (0 when unknown); line is 0 when the message has no
// position.
func splitTemplateError(s string) (msg string, line, col int) {
	m := templateError.FindStringSubmatch(s)
	if m == nil {
		return strings.TrimPrefix(s, "template: "), 0, 0
	}
	line, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		col, _ = strconv.Atoi(m[2])
	}
	return executing.ReplaceAllString(m[3], ""), line, col
}

// offsetOf turns text/template's line and column into a byte offset: the
// column counts bytes from the start of the line, from 0.
func offsetOf(text string, line, col int) int {
	if line <= 0 {
		return -1
	}
	off := 0
	for range line - 1 {
		nl := strings.IndexByte(text[off:], '\n')
		if nl < 0 {
			return -1
		}
		off += nl + 1
	}
	return min(off+col, len(text))
}

var unknownField = regexp.MustCompile(`at <[^>]*>: can't evaluate field (\w+) in type \*actions\.Notification$`)

// explainField rewrites text/template's "can't evaluate field Clustr in
// type *actions.Notification" in the user's terms.
func explainField(msg string) string {
	m := unknownField.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	for _, f := range fieldNames {
		if strings.EqualFold(f, m[1]) {
			return fmt.Sprintf("unknown field .%s: did you mean .%s?", m[1], f)
		}
	}
	return fmt.Sprintf("unknown field .%s (fields: .%s)", m[1], strings.Join(fieldNames, " ."))
}

// fieldNames are the fields templates can use, and Summary, for error
// messages.
var fieldNames = func() []string {
	t := reflect.TypeFor[Notification]()
	names := make([]string, t.NumField(), t.NumField()+1)
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return append(names, "Summary")
}()
