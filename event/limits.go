package event

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Limits on what one event may carry. Event strings are kept in state and
// rewritten on every save, and lists are held per cluster: a sender must
// not be able to make either grow without bound.
const (
	MaxStringBytes = 256  // an id, a cluster name
	MaxListLen     = 1000 // peers or members of one event
)

// checkLimits refuses an event whose strings or lists exceed the limits,
// naming the field.
func (in *inJSON) checkLimits() error {
	for _, f := range []struct {
		name  string
		value *string
	}{
		{"event_src_id", in.Source}, {"eventType", in.Type}, {"leaderId", in.LeaderID},
		{"previousLeaderId", in.PreviousLeaderID}, {"cluster", in.Cluster}, {"reason", &in.Reason},
		{"change_kind", &in.ChangeKind},
	} {
		if f.value != nil {
			if err := checkString(f.name, *f.value); err != nil {
				return err
			}
		}
	}
	if err := checkList("peers", len(in.Peers)); err != nil {
		return err
	}
	if err := checkList("members", len(in.Members)); err != nil {
		return err
	}
	if err := checkList("leaders", len(in.Leaders)); err != nil {
		return err
	}
	if err := checkEach("leaders[%d].id", len(in.Leaders), func(i int) string { return in.Leaders[i].ID }); err != nil {
		return err
	}
	if err := checkEach("peers[%d].id", len(in.Peers), func(i int) string { return in.Peers[i].ID }); err != nil {
		return err
	}
	return checkEach("members[%d]", len(in.Members), func(i int) string { return in.Members[i] })
}

// checkEach checks the n strings of a list, naming the first one too long
// by the pattern name; a name is made only then, not for every event.
func checkEach(name string, n int, at func(int) string) error {
	for i := range n {
		if s := at(i); len(s) > MaxStringBytes {
			return checkString(fmt.Sprintf(name, i), s)
		}
	}
	return nil
}

func checkString(name, s string) error {
	if len(s) > MaxStringBytes {
		return fmt.Errorf("%q is %d bytes long, over the limit of %d", name, len(s), MaxStringBytes)
	}
	return nil
}

func checkList(name string, n int) error {
	if n > MaxListLen {
		return fmt.Errorf("%q has %d entries, over the limit of %d", name, n, MaxListLen)
	}
	return nil
}

// quoteShort quotes s for an error message, cut so that a huge value
// does not end up whole in a log line or an HTTP answer.
func quoteShort(s string) string {
	const keep = 64
	if len(s) <= keep {
		return strconv.Quote(s)
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d bytes)", len(s))
}
