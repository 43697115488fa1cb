package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Each line of state.log and pending.log is the CRC-32C of its JSON, in 8
// hex digits, a space and the JSON: a line changed on disk is told from a
// good one. Lines of earlier versions, JSON alone, are read as they are.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends the line of data, without its newline, to b.
func appendFrame(b, data []byte) []byte {
	b = fmt.Appendf(b, "%08x ", crc32.Checksum(data, castagnoli))
	return append(b, data...)
}

var errChecksum = errors.New("checksum mismatch")

// unframe returns the JSON of a line, checked.
func unframe(line []byte) ([]byte, error) {
	if len(line) > 0 && line[0] == '{' { // an earlier version's line
		if !json.Valid(line) {
			return nil, errors.New("not valid JSON")
		}
		return line, nil
	}
	sum, data, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(sum) != 8 {
		return nil, errors.New("no checksum")
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil {
		return nil, errors.New("no checksum")
	}
	if crc32.Checksum(data, castagnoli) != uint32(want) {
		return nil, errChecksum
	}
	return data, nil
}

// DamagedError is a line of a state file that is neither good nor the
// torn end of an interrupted write: the file was changed, or the disk
// damaged it. Starting anyway would forget what it held.
type DamagedError struct {
	Path string
	Line int
	Err  error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s:%d: damaged line (%v): leaderhook will not start on a damaged state file, since it would forget "+
		"what the file holds; restore it, or move it away to start without it", e.Path, e.Line, e.Err)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// readLines checks the lines of a state file and returns their JSON. Each
// line is written whole with its newline by one write(2), so a damaged
// last line without its newline is the torn end of an interrupted write:
// it is left out and reported in torn. Any other damaged line is a
// *DamagedError.
func readLines(path string, data []byte) (lines [][]byte, torn string, err error) {
	raw := bytes.Split(data, []byte{'\n'})
	complete := len(raw) > 0 && len(raw[len(raw)-1]) == 0
	if complete {
		raw = raw[:len(raw)-1] // the newline that ends the last line
	}
	for i, line := range raw {
		if len(line) == 0 {
			continue
		}
		data, err := unframe(line)
		if err == nil {
			lines = append(lines, data)
			continue
		}
		if i == len(raw)-1 && !complete {
			return lines, fmt.Sprintf("%s:%d: the last line is torn (%v), as a crash in the middle of a write leaves it: skipped", path, i+1, err), nil
		}
		return nil, "", &DamagedError{Path: path, Line: i + 1, Err: err}
	}
	return lines, "", nil
}
