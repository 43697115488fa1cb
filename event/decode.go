package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrSkipped marks an event that is not malformed but that leaderhook does
// not take: one of a namespace other than "cluster", a cluster event of an
// eventType it does not know (one a newer OpenZiti added), or, from a live
// input, one of leaderhook's own state events (DecodeLive). Callers skip
// and count it; the error says which.
var ErrSkipped = errors.New("skipped")

// UnknownTypeError is a cluster event of an eventType leaderhook does not
// know. It is ErrSkipped.
type UnknownTypeError struct {
	Type   string
	Source string // its event_src_id
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("%v: eventType %s unknown to leaderhook", ErrSkipped, quoteShort(e.Type))
}

func (e *UnknownTypeError) Unwrap() error { return ErrSkipped }

// OwnStateError is an event a live input brought whose event_src_id is
// leaderhook's own (DetectorSource): one of leaderhook's state events,
// which replay takes from a recording. Taken live, it would be announced
// to the rules as the cluster's state without the view, from any sender.
// It is ErrSkipped.
type OwnStateError struct {
	Type string // its eventType
}

func (e *OwnStateError) Error() string {
	return fmt.Sprintf("%v: event_src_id %q marks leaderhook's own state events, taken from recordings by replay only", ErrSkipped, DetectorSource)
}

func (e *OwnStateError) Unwrap() error { return ErrSkipped }

// DecodeLive decodes an event that a live input (HTTP, a followed file,
// stdin) brought: as Decode, and one of leaderhook's own (event_src_id
// "leaderhook") is skipped, an *OwnStateError. Every live input decodes
// with it, so that none takes them.
func DecodeLive(data []byte) (Event, error) {
	e, err := Decode(data)
	if err == nil && e.Source == DetectorSource {
		return Event{}, &OwnStateError{Type: e.Type}
	}
	return e, err
}

// LineError is a malformed line, with where it was and why it was rejected.
type LineError struct {
	Name string // file name, "-" for stdin; may be empty
	Line int    // 1-based
	Err  error
}

func (e *LineError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

type inJSON struct {
	Namespace        *string    `json:"namespace"`
	Source           *string    `json:"event_src_id"`
	Timestamp        *string    `json:"timestamp"`
	Sent             *string    `json:"sent_timestamp"`
	Type             *string    `json:"eventType"`
	LeaderID         *string    `json:"leaderId"`
	PreviousLeaderID *string    `json:"previousLeaderId"`
	Cluster          *string    `json:"cluster"`
	Since            *string    `json:"since"`
	Baseline         bool       `json:"baseline"`
	Index            *uint64    `json:"index"`
	Reason           string     `json:"reason"`
	Term             *uint64    `json:"term"`
	ChangeKind       string     `json:"change_kind"`
	Leaders          []Claim    `json:"leaders"`
	Peers            []peerJSON `json:"peers"`
	Members          []string   `json:"members"`
}

// Decode parses one JSON object in OpenZiti's cluster event format. It is
// strict about what leaderhook relies on: namespace, event_src_id (empty
// only on members.changed), timestamp (RFC 3339) and eventType are
// required, state.has_leader needs a leaderId, every known field must have
// the right JSON type, and strings and lists must keep within
// MaxStringBytes and MaxListLen. Fields it does not use (such as
// peers[].apiAddresses) are ignored, since OpenZiti adds fields between
// versions. Other namespaces, and cluster events of an eventType leaderhook
// does not know that pass every other check, yield ErrSkipped (an
// *UnknownTypeError for the latter).
func Decode(data []byte) (Event, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return Event{}, errors.New("not a JSON object")
	}
	if !utf8.Valid(data) { // encoding/json would replace it silently
		return Event{}, errors.New("not valid UTF-8")
	}
	var in inJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return Event{}, describeJSONError(err)
	}
	return in.event()
}

// event checks what Decode decoded and turns it into an Event.
func (in *inJSON) event() (Event, error) {
	ts, err := in.checkRequired()
	if err != nil {
		return Event{}, err
	}
	e := Event{Source: *in.Source, Time: ts, Type: *in.Type, Baseline: in.Baseline, Members: in.Members, Reason: in.Reason,
		ChangeKind: in.ChangeKind, Leaders: in.Leaders}
	if err := in.fillOptional(&e); err != nil {
		return Event{}, err
	}
	// Last: an unknown type is skipped only if the event is otherwise one
	// leaderhook would take, so that a broken sender is still refused.
	if !KnownType(e.Type) {
		return Event{}, &UnknownTypeError{Type: e.Type, Source: e.Source}
	}
	return e, nil
}

// checkRequired checks the fields every event has, and the limits, and
// returns the event's timestamp.
func (in *inJSON) checkRequired() (time.Time, error) {
	if in.Namespace == nil {
		return time.Time{}, errors.New(`missing "namespace"`)
	}
	if *in.Namespace != Namespace {
		return time.Time{}, fmt.Errorf("%w: namespace %s is not %q", ErrSkipped, quoteShort(*in.Namespace), Namespace)
	}
	if err := in.checkLimits(); err != nil {
		return time.Time{}, err
	}
	if in.Type == nil || *in.Type == "" {
		return time.Time{}, errors.New(`missing "eventType"`)
	}
	// A membership that leaderhook's poll source learned is no one
	// member's report: it is written with an empty event_src_id.
	if in.Source == nil || (*in.Source == "" && *in.Type != MembersChanged) {
		return time.Time{}, errors.New(`missing "event_src_id"`)
	}
	if in.Timestamp == nil {
		return time.Time{}, errors.New(`missing "timestamp"`)
	}
	ts, err := time.Parse(time.RFC3339Nano, *in.Timestamp)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %s is not RFC 3339", quoteShort(*in.Timestamp))
	}
	return ts, nil
}

// fillOptional sets e's fields that only some event types carry, checking
// each given and the leaderId that state.has_leader needs.
func (in *inJSON) fillOptional(e *Event) error {
	if in.LeaderID != nil {
		e.LeaderID = *in.LeaderID
	}
	if e.Type == HasLeader && e.LeaderID == "" {
		return errors.New(`state.has_leader without "leaderId"`)
	}
	if in.PreviousLeaderID != nil {
		e.PreviousLeaderID = *in.PreviousLeaderID
	}
	if in.Cluster != nil {
		e.Cluster = *in.Cluster
	}
	if in.Sent != nil {
		sent, err := time.Parse(time.RFC3339Nano, *in.Sent)
		if err != nil {
			return fmt.Errorf("sent_timestamp %s is not RFC 3339", quoteShort(*in.Sent))
		}
		e.Sent = sent
	}
	if in.Since != nil {
		since, err := time.Parse(time.RFC3339Nano, *in.Since)
		if err != nil {
			return fmt.Errorf("since %s is not RFC 3339", quoteShort(*in.Since))
		}
		e.Since = since
	}
	if in.Index != nil {
		e.Index = *in.Index
	}
	if in.Term != nil {
		e.Term = *in.Term
	}
	var err error
	e.Peers, err = peerIDs(in.Peers)
	return err
}

// peerIDs returns the ids of peers[], each required; nil for none.
func peerIDs(peers []peerJSON) ([]string, error) {
	if len(peers) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(peers))
	for i, p := range peers {
		if p.ID == "" {
			return nil, fmt.Errorf(`peers[%d] without "id"`, i)
		}
		ids = append(ids, p.ID)
	}
	return ids, nil
}

func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		want := typeErr.Type.Kind().String()
		switch want {
		case "ptr":
			want = typeErr.Type.Elem().Kind().String()
		case "slice":
			want = "array"
		case "struct":
			want = "object"
		}
		if typeErr.Field == "" {
			return fmt.Errorf("invalid JSON: got %s where %s was expected", typeErr.Value, want)
		}
		return fmt.Errorf("%q: got %s, want %s", typeErr.Field, typeErr.Value, want)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}
