package daemon

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/backward"
	"github.com/leaderhook/leaderhook/rules"
)

// recordedLines bounds the lines of the recording read at a start.
const recordedLines = 4 * recentEvents

// recordedTail is what a start takes from the end of the flight
// recording.
type recordedTail struct {
	// ingested: the latest events taken over HTTP, as recent remembers
	// them, so that a batch decided just before the daemon stopped (a
	// kill -9 before its answer was written) is known when its sender
	// sends it again.
	ingested recent
	// ends: the ends of deliveries a verification waited for, oldest
	// first: one recorded after the last save (a kill -9 in between) is
	// taken again, or its verification would wait for good.
	ends []rules.ActionEnd
}

var recordDelivered = []byte(`"eventType":"` + RecordDelivered + `"`)

// readRecordedTail reads the end of the flight recording in dir: the
// events whose cluster takes events over HTTP (overHTTP), and the
// delivery ends. The recording holds each event as the daemon dated it,
// with its member's own timestamp (Sent) when it was dated on arrival:
// its key is the one taken live. Only the latest lines are read
// (recordedLines), so that a start stays quick whatever else the
// recording holds: what it looks for is recent.
func readRecordedTail(dir string, overHTTP func(cluster string) bool) (recordedTail, error) {
	var keys []string // newest first
	var ends []rules.ActionEnd
	lines := 0
	for _, name := range []string{InputsFile, OldInputsFile} {
		err := backward.Lines(filepath.Join(dir, name), func(line []byte) bool {
			lines++
			switch {
			case !bytes.HasPrefix(line, recordPrefix): // an event
				if ev, err := event.Decode(line); err == nil && overHTTP(ev.Cluster) {
					keys = append(keys, eventKey(&ev))
				}
			case bytes.Contains(line, recordDelivered): // not a start's or checkpoint's whole state
				if rec, _, err := DecodeRecord(line); err == nil && rec.Kind == RecordDelivered {
					ends = append(ends, *rec.End)
				}
			}
			return len(keys) < recentEvents && lines < recordedLines
		})
		if err != nil {
			return recordedTail{}, fmt.Errorf("flight recorder %s: %w", name, err)
		}
		if len(keys) == recentEvents || lines == recordedLines {
			break
		}
	}
	slices.Reverse(keys)
	slices.Reverse(ends)
	return recordedTail{ingested: restoreRecent(keys), ends: ends}, nil
}
