package daemon

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/backward"
)

// recordedLines bounds the lines of the recording read at a start.
const recordedLines = 4 * recentEvents

// recordedRecent returns, as recent remembers them, the latest events of
// the flight recording in dir whose cluster takes events over HTTP
// (overHTTP): a batch decided just before the daemon stopped (a kill -9
// before its answer was written) is then known when its sender sends it
// again. The recording holds each event as the daemon dated it, with its
// member's own timestamp (Sent) when it was dated on arrival: its key is
// the one taken live. Only
// the latest lines are read (recordedLines), so that a start stays quick
// whatever else the recording holds: a batch sent again is a recent one.
func recordedRecent(dir string, overHTTP func(cluster string) bool) (recent, error) {
	var keys []string // newest first
	lines := 0
	for _, name := range []string{InputsFile, OldInputsFile} {
		err := backward.Lines(filepath.Join(dir, name), func(line []byte) bool {
			lines++
			if !bytes.HasPrefix(line, recordPrefix) { // not one of the recorder's own
				if ev, err := event.Decode(line); err == nil && overHTTP(ev.Cluster) {
					keys = append(keys, eventKey(&ev))
				}
			}
			return len(keys) < recentEvents && lines < recordedLines
		})
		if err != nil {
			return recent{}, fmt.Errorf("flight recorder %s: %w", name, err)
		}
		if len(keys) == recentEvents || lines == recordedLines {
			break
		}
	}
	slices.Reverse(keys)
	return restoreRecent(keys), nil
}
