// Package lines keeps the lines of an appended file apart after a write
// that failed part way, as a full disk cuts one short.
package lines

import (
	"io"
	"os"
)

// Writer writes to w, and after a write that failed and left a line
// without its newline, starts the next write on a line of its own: the
// torn line is lost alone, not glued to the next, which would lose both.
// The newline goes in the same write as what follows, so that a file
// opened with O_APPEND still gets each record in one write(2).
type Writer struct {
	w       io.Writer
	midLine bool // the last byte written was no newline
	failed  bool // the last write failed
}

// NewWriter returns a Writer to w, which ends with a whole line or is
// empty.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Append returns a Writer to f, a file opened for appending whose last
// line may be torn by a crash or by a failed write of another Writer.
func Append(f *os.File) *Writer {
	torn := !endsWhole(f)
	return &Writer{w: f, midLine: torn, failed: torn}
}

// endsWhole reports whether f is empty or ends with a newline, or is no
// regular file or cannot be looked at (then it is taken as whole: nothing
// to set apart). f is write-only: its last byte is read through the path,
// if the path still names f.
func endsWhole(f *os.File) bool {
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() == 0 {
		return true
	}
	r, err := os.Open(f.Name())
	if err != nil {
		return true
	}
	defer r.Close()
	if same, err := r.Stat(); err != nil || !os.SameFile(info, same) {
		return true
	}
	b := make([]byte, 1)
	_, err = r.ReadAt(b, info.Size()-1)
	return err != nil || b[0] == '\n'
}

// Write writes p, after a newline if the last write failed mid-line. The
// count it returns is of p's bytes.
func (l *Writer) Write(p []byte) (int, error) {
	buf, sep := p, 0
	if l.failed && l.midLine {
		buf, sep = append([]byte{'\n'}, p...), 1
	}
	n, err := l.w.Write(buf)
	if n > 0 {
		l.midLine = buf[n-1] != '\n'
	}
	l.failed = err != nil
	return max(n-sep, 0), err
}
