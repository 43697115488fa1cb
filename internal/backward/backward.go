// Package backward reads files from their end: the last lines of a log
// first, in chunks, without reading what comes before them.
package backward

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
)

// chunk is how much one read takes.
const chunk = 64 << 10

// LastLineEnd returns the offset just past the last newline in the first
// size bytes of r, looking back at most about limit bytes (0: no limit).
// found is false when there is no newline there.
func LastLineEnd(r io.ReaderAt, size, limit int64) (end int64, found bool, err error) {
	buf := make([]byte, chunk)
	for end := size; end > 0 && (limit == 0 || size-end <= limit); {
		start := max(end-chunk, 0)
		n, err := r.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, false, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, true, nil
		}
		end = start
	}
	return 0, false, nil
}

// Lines calls each on the lines of the file at path, last first, until it
// returns false; blank lines are left out, and no file has no lines. A
// line passed to each is valid only during the call.
func Lines(path string, each func(line []byte) bool) error {
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
		start := max(end-int64(max(chunk, len(partial))), 0)
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
