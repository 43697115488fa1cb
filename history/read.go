package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// maxLine bounds one line of history: longer ones are skipped.
const maxLine = 1 << 20

// readSegment calls f with each entry of a segment, in order; a line that
// does not parse (torn by a crash, or being written) is skipped, and so is
// one that wanted, when set, does not want.
func readSegment(path string, wanted func(line []byte) bool, f func(Entry)) error {
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil // pruned meanwhile
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	sc.Split(skipLongLines())
	for sc.Scan() {
		if wanted != nil && !wanted(sc.Bytes()) {
			continue
		}
		var e Entry
		// A state other than a change of leader: written by an earlier
		// version, which kept split brains too.
		if json.Unmarshal(sc.Bytes(), &e) == nil && !e.Time().IsZero() && (e.State == nil || e.State.leadership()) {
			f(e)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("history %s: %w", path, err)
	}
	return nil
}

// tailSize is how much of a segment's end latestInTail reads first.
const tailSize = 64 << 10

// latestInTail returns the latest time of the entries whose lines a
// segment of size bytes ends with: its end, found at a start without
// decoding it whole (a segment may be a 16th of history.max_bytes).
// Entries carry their events' times, not always in order, so every line
// read counts, not only the last. It reads more while no line parses, up
// to twice the longest line kept; zero when none does.
func latestInTail(path string, size int64) (time.Time, error) {
	file, err := os.Open(path)
	if os.IsNotExist(err) {
		return time.Time{}, nil // pruned meanwhile
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("history: %w", err)
	}
	defer file.Close()
	for n := min(size, tailSize); ; n = min(size, 4*n) {
		tail := make([]byte, n)
		if _, err := file.ReadAt(tail, size-n); err != nil && !errors.Is(err, io.EOF) {
			return time.Time{}, fmt.Errorf("history %s: %w", path, err)
		}
		if n < size { // the first line read may be the end of one
			_, tail, _ = bytes.Cut(tail, []byte{'\n'})
		}
		latest := latestIn(tail)
		if !latest.IsZero() || n == size || n >= 2*maxLine {
			return latest, nil
		}
	}
}

// latestIn returns the latest time of the entries in lines.
func latestIn(lines []byte) time.Time {
	var latest time.Time
	for line := range bytes.Lines(lines) {
		var e Entry
		if json.Unmarshal(line, &e) == nil && e.Time().After(latest) {
			latest = e.Time()
		}
	}
	return latest
}

// skipLongLines splits lines as bufio.ScanLines does, but skips a line
// longer than maxLine (zeros left by a power loss, say) instead of ending
// the scan with bufio.ErrTooLong: a damaged segment must not stop a start.
func skipLongLines() bufio.SplitFunc {
	skipping := false
	return func(data []byte, atEOF bool) (advance int, token []byte, err error) {
		end := bytes.IndexByte(data, '\n')
		switch {
		case skipping && end < 0:
			return len(data), nil, nil
		case skipping:
			skipping = false
			return end + 1, nil, nil
		case end < 0 && len(data) >= maxLine:
			skipping = true
			return len(data), nil, nil
		}
		return bufio.ScanLines(data, atEOF)
	}
}

// readSegments calls f with each entry of the segments at paths, in
// order, as readSegment does. Decoding is most of the cost of a long
// window: as many segments as there are processors are decoded at once,
// and no more wait, decoded, for their turn.
func readSegments(paths []string, wanted func(line []byte) bool, f func(Entry)) error {
	type decoded struct {
		entries []Entry
		err     error
	}
	done := make(chan struct{})
	defer close(done)
	slots := make(chan struct{}, runtime.NumCPU())
	results := make([]chan decoded, len(paths))
	for i := range results {
		results[i] = make(chan decoded, 1)
	}
	go func() {
		for i, path := range paths {
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			go func() {
				var d decoded
				d.err = readSegment(path, wanted, func(e Entry) { d.entries = append(d.entries, e) })
				results[i] <- d
			}()
		}
	}()
	for _, result := range results {
		d := <-result
		<-slots
		if d.err != nil {
			return d.err
		}
		for _, e := range d.entries {
			f(e)
		}
	}
	return nil
}

// Decoding is most of the cost of a long window, so a query tells the
// lines it needs from their text: json.Marshal wrote them with no space,
// and escapes every quote inside a string, so that a key and its value
// found in a line are the line's own.
var (
	deliveryKey = []byte(`"delivery":{`)
	failedState = []byte(`"state":"failed"`)
)

// wantedLines tells the lines a query needs: those of its cluster, and
// for an overview not the deliveries that ended well (most lines of a
// long window), which it does not hold.
func wantedLines(f Filter) func(line []byte) bool {
	var clusterKey []byte
	if f.Cluster != "" {
		name, _ := json.Marshal(f.Cluster) // a string always encodes
		clusterKey = append([]byte(`"cluster":`), name...)
	}
	return func(line []byte) bool {
		if clusterKey != nil && !bytes.Contains(line, clusterKey) {
			return false
		}
		return f.Step == 0 || !bytes.Contains(line, deliveryKey) || bytes.Contains(line, failedState)
	}
}
