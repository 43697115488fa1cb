package shell

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

// boundedBuffer keeps the first limit/2 bytes written and the last limit/2,
// counting what falls between: the start of a script's output says what it
// set out to do, the end how it failed. Memory stays bounded however much
// a runaway script prints.
type boundedBuffer struct {
	mu     sync.Mutex
	limit  int
	head   []byte
	tail   ring
	total  int64
	sealed bool // later writes are discarded
}

// seal makes the buffer discard what is written from now on: the output
// has been reported, but writers that outlive the program are still read.
func (b *boundedBuffer) seal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sealed = true
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if b.sealed {
		return n, nil
	}
	b.total += int64(n)
	half := b.limit / 2
	if room := half - len(b.head); room > 0 {
		take := min(room, len(p))
		b.head = append(b.head, p[:take]...)
		p = p[take:]
	}
	if len(p) > 0 {
		b.tail.write(p, b.limit-half)
	}
	return n, nil
}

// String is the output, with a marker where bytes were cut. The cut is
// widened to whole UTF-8 characters so that the log stays valid text.
func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	tail := b.tail.bytes()
	cut := b.total - int64(len(b.head)) - int64(len(tail))
	if cut == 0 {
		return string(b.head) + string(tail)
	}
	head := trimPartialRuneEnd(b.head)
	tail = trimPartialRuneStart(tail)
	cut = b.total - int64(len(head)) - int64(len(tail))
	return fmt.Sprintf("%s\n…[%d bytes cut]…\n%s", head, cut, tail)
}

// ring keeps the last bytes written to it, up to its size. Overwriting in
// place costs nothing per write, unlike sliding a buffer along, which a
// script printing many short lines would make quadratic.
type ring struct {
	buf  []byte
	pos  int // where the next byte goes
	full bool
}

func (r *ring) write(p []byte, size int) {
	if r.buf == nil {
		r.buf = make([]byte, size)
	}
	if len(p) >= size {
		copy(r.buf, p[len(p)-size:])
		r.pos, r.full = 0, true
		return
	}
	n := copy(r.buf[r.pos:], p)
	if n < len(p) {
		copy(r.buf, p[n:])
		r.full = true
	}
	r.pos = (r.pos + len(p)) % size
	if r.pos == 0 {
		r.full = true
	}
}

// bytes returns the content, oldest first.
func (r *ring) bytes() []byte {
	if !r.full {
		return r.buf[:r.pos]
	}
	return append(append([]byte{}, r.buf[r.pos:]...), r.buf[:r.pos]...)
}

// trimPartialRuneEnd drops a UTF-8 sequence that the cut split at the end.
func trimPartialRuneEnd(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// trimPartialRuneStart drops continuation bytes whose start was cut.
func trimPartialRuneStart(b []byte) []byte {
	for i := 0; i < len(b) && i < utf8.UTFMax; i++ {
		if utf8.RuneStart(b[i]) {
			return b[i:]
		}
	}
	return b
}
