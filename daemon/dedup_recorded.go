package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/leaderhook/leaderhook/event"
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
		err := eachLineBackward(filepath.Join(dir, name), func(line []byte) bool {
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

// eachLineBackward calls each on the lines of the file at path, last
// first, until it returns false; no file has no lines. A line passed to
// each is valid only during the call.
func eachLineBackward(path string, each func(line []byte) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	var partial []byte // the end of a line whose start is not read yet
	for end := info.Size(); end > 0; {
		// At least as much again as the partial line: a long line (a
		// checkpoint's state) is read in a few reads, not in many.
		start := max(end-int64(max(64<<10, len(partial))), 0)
		data := make([]byte, end-start, end-start+int64(len(partial)))
		if _, err := f.ReadAt(data, start); err != nil {
			return err
		}
		data = append(data, partial...)
		for i := bytes.LastIndexByte(data, '\n'); i >= 0; i = bytes.LastIndexByte(data, '\n') {
			if line := data[i+1:]; len(line) > 0 && !each(line) {
				return nil
			}
			data = data[:i]
		}
		partial, end = data, start
	}
	if len(partial) > 0 {
		each(partial)
	}
	return nil
}
