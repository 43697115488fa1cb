package actions

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/event"
)

// Statuses of a notification.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// PayloadVersion is the "version" of the default payload. It changes only
// when a receiver would have to change.
const PayloadVersion = "1"

// Notification is one firing or resolve of a rule, as every action sees it.
// Templates see its fields: {{ .Rule }}, {{ .Cluster }}, {{ .LeaderID }}...
// Renaming a field breaks users' templates.
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

// Payload is the default JSON body of a webhook and the stdin of a shell
// action (SPEC §8). Labels and event are {} rather than null when empty, so
// that receivers need no null checks.
//
// It appends the bytes that encoding/json writes for the payload's struct
// (fixed key order, map keys sorted, HTML escaped; tests and a fuzz target
// hold it to that): encoding by reflection was the largest part of a
// delivery's own work.
func (n *Notification) Payload() ([]byte, error) {
	b := make([]byte, 0, 768) // a leader change's payload is 500-600 bytes
	b = append(b, `{"version":"`+PayloadVersion+`","delivery_id":`...)
	b = appendJSONString(b, n.DeliveryID)
	b = append(b, `,"rule":`...)
	b = appendJSONString(b, n.Rule)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, n.Status)
	b = append(b, `,"cluster":`...)
	b = appendJSONString(b, n.Cluster)
	var keys [16]string // most maps here are smaller: no allocation
	b = append(b, `,"labels":{`...)
	for i, k := range sortedKeys(n.Labels, keys[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, n.Labels[k])
	}
	b = append(b, `},"fired_at":"`...)
	b = n.FiredAt.AppendFormat(b, event.TimeLayout)
	b = append(b, `","event":{`...)
	for i, k := range sortedKeys(n.Event, keys[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		if s, ok := n.Event[k].(string); ok {
			b = appendJSONString(b, s)
			continue
		}
		// Event fields are strings, but for the fields of an event read
		// back from elsewhere.
		v, err := json.Marshal(n.Event[k])
		if err != nil {
			return nil, fmt.Errorf("event field %s: %w", k, err)
		}
		b = append(b, v...)
	}
	b = append(b, `},"state":{"leader_id":`...)
	b = appendJSONString(b, n.LeaderID)
	b = append(b, `,"previous_leader_id":`...)
	b = appendJSONString(b, n.PreviousLeaderID)
	b = append(b, `,"leaderless":`...)
	b = strconv.AppendBool(b, n.Leaderless)
	b = append(b, `,"leaderless_for_ms":`...)
	b = strconv.AppendInt(b, n.LeaderlessFor.Milliseconds(), 10)
	return append(b, "}}"...), nil
}

// sortedKeys returns m's keys in order, in buf if it has room.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

// appendJSONString appends s as encoding/json writes a string: quoted,
// with <, > and & escaped for HTML, invalid UTF-8 replaced by U+FFFD, and
// U+2028 and U+2029 escaped for JavaScript.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Environ is the environment a shell action gets besides its own `env`
// (SPEC §8). Scripts read these instead of parsing the payload.
func (n *Notification) Environ() []string {
	return []string{
		"LEADERHOOK_RULE=" + n.Rule,
		"LEADERHOOK_STATUS=" + n.Status,
		"LEADERHOOK_CLUSTER=" + n.Cluster,
		"LEADERHOOK_EVENT_TYPE=" + n.EventType,
		"LEADERHOOK_LEADER_ID=" + n.LeaderID,
		"LEADERHOOK_PREVIOUS_LEADER_ID=" + n.PreviousLeaderID,
		// Shortest decimal form: "30", "30.5"; shells compare integers
		// more easily than "30.000".
		"LEADERHOOK_LEADERLESS_SECONDS=" + strconv.FormatFloat(n.LeaderlessFor.Seconds(), 'f', -1, 64),
		"LEADERHOOK_FIRED_AT=" + n.FiredAt.Format(event.TimeLayout),
		"LEADERHOOK_DELIVERY_ID=" + n.DeliveryID,
		"LEADERHOOK_DRY_RUN=" + strconv.FormatBool(n.DryRun),
	}
}

// String makes a Notification readable in logs.
func (n *Notification) String() string {
	return fmt.Sprintf("%s %s %s (delivery %s)", n.Rule, n.Status, n.Cluster, n.DeliveryID)
}
