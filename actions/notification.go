package actions

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Statuses of a notification.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Notification is one firing or resolve of a rule, as every action sees it.
// Templates see its fields: {{ .Rule }}, {{ .Cluster }}, {{ .LeaderID }}...
type Notification struct {
	DeliveryID       string
	Rule             string
	Status           string // StatusFiring or StatusResolved
	Cluster          string
	Labels           map[string]string
	FiredAt          time.Time
	EventType        string
	Event            map[string]any
	LeaderID         string
	PreviousLeaderID string
	Leaderless       bool
	LeaderlessFor    time.Duration
	DryRun           bool
}

// timeLayout matches the event package's: RFC 3339 with nanoseconds.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

type payloadJSON struct {
	Version    string            `json:"version"`
	DeliveryID string            `json:"delivery_id"`
	Rule       string            `json:"rule"`
	Status     string            `json:"status"`
	Cluster    string            `json:"cluster"`
	Labels     map[string]string `json:"labels"`
	FiredAt    string            `json:"fired_at"`
	Event      map[string]any    `json:"event"`
	State      stateJSON         `json:"state"`
}

type stateJSON struct {
	LeaderID         string `json:"leader_id"`
	PreviousLeaderID string `json:"previous_leader_id"`
	Leaderless       bool   `json:"leaderless"`
	LeaderlessForMS  int64  `json:"leaderless_for_ms"`
}

// Payload is the default JSON body of a webhook and the stdin of a shell
// action (SPEC §8).
func (n *Notification) Payload() ([]byte, error) {
	p := payloadJSON{
		Version: "1", DeliveryID: n.DeliveryID, Rule: n.Rule, Status: n.Status, Cluster: n.Cluster,
		Labels: n.Labels, FiredAt: n.FiredAt.Format(timeLayout), Event: n.Event,
		State: stateJSON{LeaderID: n.LeaderID, PreviousLeaderID: n.PreviousLeaderID, Leaderless: n.Leaderless,
			LeaderlessForMS: n.LeaderlessFor.Milliseconds()},
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if p.Event == nil {
		p.Event = map[string]any{}
	}
	return json.Marshal(p)
}

// Environ is the environment a shell action gets, besides its own `env`.
func (n *Notification) Environ() []string {
	return []string{
		"LEADERHOOK_RULE=" + n.Rule,
		"LEADERHOOK_STATUS=" + n.Status,
		"LEADERHOOK_CLUSTER=" + n.Cluster,
		"LEADERHOOK_EVENT_TYPE=" + n.EventType,
		"LEADERHOOK_LEADER_ID=" + n.LeaderID,
		"LEADERHOOK_PREVIOUS_LEADER_ID=" + n.PreviousLeaderID,
		"LEADERHOOK_LEADERLESS_SECONDS=" + strconv.FormatFloat(n.LeaderlessFor.Seconds(), 'f', -1, 64),
		"LEADERHOOK_FIRED_AT=" + n.FiredAt.Format(timeLayout),
		"LEADERHOOK_DELIVERY_ID=" + n.DeliveryID,
		"LEADERHOOK_DRY_RUN=" + strconv.FormatBool(n.DryRun),
	}
}

// templateFuncs are the functions templates may call besides the builtins.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"upper":   strings.ToUpper,
	"lower":   strings.ToLower,
	"join":    func(sep string, items []string) string { return strings.Join(items, sep) },
	"default": func(def, v string) string { return map[bool]string{true: def, false: v}[v == ""] },
	"ms":      func(d time.Duration) int64 { return d.Milliseconds() },
	"seconds": func(d time.Duration) float64 { return d.Seconds() },
	"rfc3339": func(t time.Time) string { return t.Format(timeLayout) },
	"labels":  func(m map[string]string) map[string]string { return maps.Clone(m) },
}

// ParseTemplate parses an action template. A reference to a field that does
// not exist is an error when it is rendered, not an empty string.
func ParseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
}

// sample is what templates are checked against at load: every field set.
var sample = Notification{
	DeliveryID: "01J0000000000000000000000", Rule: "rule", Status: StatusFiring, Cluster: "cluster",
	Labels: map[string]string{"env": "prod"}, FiredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	EventType: "state.is_leaderless", Event: map[string]any{"eventType": "state.is_leaderless"},
	PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second,
}

// checkTemplate parses text and renders it once with a sample notification,
// so that a misspelt field ({{ .Clustr }}) is found at load, not at 3 a.m.
// It returns the message and the byte offset in text where it applies.
func checkTemplate(name, text string) (string, int, bool) {
	t, err := ParseTemplate(name, text)
	if err == nil {
		err = t.Execute(discard{}, &sample)
	}
	if err == nil {
		return "", 0, true
	}
	msg, line, col := templateErrorPosition(err.Error(), name)
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		msg = "unknown field ." + m[1] + " (fields: " + fieldList + ")"
	}
	return msg, offsetOf(text, line, col), false
}

var unknownField = regexp.MustCompile(`can't evaluate field (\w+) in type \*?actions\.Notification`)

// fieldList names what templates can use, for error messages.
var fieldList = func() string {
	t := reflect.TypeFor[Notification]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = "." + t.Field(i).Name
	}
	return strings.Join(names, " ")
}()

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// templateErrorPosition pulls "name:LINE:COL: msg" apart from
// text/template's "template: name:1:12: executing ...: msg".
func templateErrorPosition(s, name string) (msg string, line, col int) {
	s = strings.TrimPrefix(s, "template: ")
	rest, ok := strings.CutPrefix(s, name+":")
	if !ok {
		return s, 0, 0
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) >= 2 {
		line, _ = strconv.Atoi(parts[0])
		if c, err := strconv.Atoi(parts[1]); err == nil && len(parts) == 3 {
			col = c
			return strings.TrimSpace(parts[2]), line, col
		}
		return strings.TrimSpace(strings.Join(parts[1:], ":")), line, 0
	}
	return rest, 0, 0
}

func offsetOf(text string, line, col int) int {
	if line <= 0 {
		return -1
	}
	off := 0
	for i := 1; i < line; i++ {
		nl := strings.IndexByte(text[off:], '\n')
		if nl < 0 {
			return -1
		}
		off += nl + 1
	}
	return min(off+col, len(text))
}

// String makes a Notification readable in logs.
func (n *Notification) String() string {
	return fmt.Sprintf("%s %s %s (delivery %s)", n.Rule, n.Status, n.Cluster, n.DeliveryID)
}
