package event

import (
	"bufio"
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultReorderWindow is how far back in time a line may lie behind lines
// already read and still be put in its place. OpenZiti writes events a few
// seconds out of order (leadership.gained after the state.has_leader it
// precedes); ten seconds covers that with a wide margin.
const DefaultReorderWindow = 10 * time.Second

// MaxLineBytes bounds one line so that a corrupt file cannot exhaust memory.
const MaxLineBytes = 1 << 20

// Reader streams events from JSONL input in timestamp order. Lines are put in
// order within a reorder window, so memory stays bounded by the window, not
// the file. Malformed lines are reported to OnError and skipped; events
// leaderhook does not take (ErrSkipped) are counted in Ignored.
type Reader struct {
	name    string
	br      *bufio.Reader
	line    int
	window  time.Duration
	pending eventHeap
	seq     uint64
	newest  time.Time
	newLine int       // the line of newest
	emitted time.Time // the latest time Next returned
	eof     bool
	err     error // I/O error, final

	// OnError receives each malformed line. When nil, malformed lines are
	// skipped silently (they are still counted in Rejected).
	OnError func(*LineError)
	// Ignored counts the lines of events leaderhook does not take: other
	// namespaces, eventTypes it does not know.
	Ignored int
	// OnSkip, if set, receives each line counted in Ignored, its Err the
	// ErrSkipped saying why.
	OnSkip func(*LineError)
	// Rejected counts malformed lines.
	Rejected int
	// Live marks a live input (stdin): events are decoded with DecodeLive,
	// which skips leaderhook's own state events. A recording's reader
	// (replay) leaves it false and takes them.
	Live bool
	// Check, if set, refuses events that decode but cannot be taken (such
	// as one for a cluster the reader's user does not have): each is
	// rejected like a malformed line, with its line number.
	Check func(Event) error
	// OnLate, if set, is told of each event that came further out of
	// order than the window: Next returns it after later ones, and it is
	// for the reader's user to say at what time it is taken.
	OnLate func(*LineError)
}

// NewReader reads r, naming it name in errors. A window of 0 uses
// DefaultReorderWindow; a negative window disables reordering.
func NewReader(r io.Reader, name string, window time.Duration) *Reader {
	if window == 0 {
		window = DefaultReorderWindow
	}
	return &Reader{name: name, br: bufio.NewReaderSize(r, 64<<10), window: window}
}

// Next returns the next event in timestamp order, or io.EOF after the last.
func (r *Reader) Next() (Event, error) {
	for {
		if r.pending.Len() > 0 {
			top := r.pending.items[0].ev.Time
			if r.eof || r.window < 0 || r.newest.Sub(top) > r.window {
				return r.pop(), nil
			}
		}
		if r.eof {
			if r.err != nil {
				return Event{}, r.err
			}
			return Event{}, io.EOF
		}
		r.readLine()
	}
}

func (r *Reader) readLine() {
	data, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// A long line: collect it, up to the limit.
		buf := append([]byte(nil), data...)
		for errors.Is(err, bufio.ErrBufferFull) && len(buf) <= MaxLineBytes {
			data, err = r.br.ReadSlice('\n')
			buf = append(buf, data...)
		}
		if len(buf) > MaxLineBytes {
			r.line++
			r.reject(fmt.Errorf("line longer than %d bytes", MaxLineBytes))
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.br.ReadSlice('\n')
			}
			r.finish(err)
			return
		}
		data = buf
	}
	if len(data) > 0 {
		r.line++
		r.decode(data)
	}
	r.finish(err)
}

func (r *Reader) finish(err error) {
	if err == nil {
		return
	}
	r.eof = true
	if !errors.Is(err, io.EOF) {
		r.err = fmt.Errorf("read %s: %w", r.name, err)
	}
}

func (r *Reader) decode(data []byte) {
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		return // a blank line
	}
	decode := Decode
	if r.Live {
		decode = DecodeLive
	}
	ev, err := decode(data)
	if errors.Is(err, ErrSkipped) {
		r.Ignored++
		if r.OnSkip != nil {
			r.OnSkip(&LineError{Name: r.name, Line: r.line, Err: err})
		}
		return
	}
	if err == nil && r.Check != nil {
		err = r.Check(ev)
	}
	if err != nil {
		r.reject(err)
		return
	}
	item := &sequenced{ev: ev, seq: r.seq + 1, line: r.line, before: r.newest.Sub(ev.Time), newestLine: r.newLine}
	if ev.Time.After(r.newest) {
		r.newest, r.newLine = ev.Time, r.line
	}
	r.seq++
	heap.Push(&r.pending, item)
}

// pop returns the earliest pending event, telling OnLate if a later one
// was returned already.
func (r *Reader) pop() Event {
	item := heap.Pop(&r.pending).(*sequenced)
	if !item.ev.Time.Before(r.emitted) {
		r.emitted = item.ev.Time
		return item.ev
	}
	if r.OnLate != nil {
		r.OnLate(&LineError{Name: r.name, Line: item.line, Err: fmt.Errorf("dated %s, %s before line %d, further out of order than --reorder-window %s",
			item.ev.Time.Format(time.RFC3339Nano), item.before, item.newestLine, r.window)})
	}
	return item.ev
}

func (r *Reader) reject(err error) {
	r.Rejected++
	if r.OnError != nil {
		r.OnError(&LineError{Name: r.name, Line: r.line, Err: err})
	}
}

// Source is anything that yields events in order, ending with io.EOF.
type Source interface {
	Next() (Event, error)
}

// Merge interleaves several ordered sources (one per controller, say) into
// one stream ordered by timestamp. Equal timestamps keep the order of the
// sources as given.
func Merge(sources ...Source) Source {
	m := &merger{}
	for i, s := range sources {
		m.heads = append(m.heads, head{src: s, order: i})
	}
	return m
}

type head struct {
	src   Source
	order int
	ev    Event
}

type merger struct {
	heads   []head
	started bool
	h       headHeap
}

func (m *merger) Next() (Event, error) {
	if !m.started {
		m.started = true
		for i := range m.heads {
			if err := m.advance(&m.heads[i]); err != nil {
				return Event{}, err
			}
		}
	}
	if len(m.h) == 0 {
		return Event{}, io.EOF
	}
	hd := m.h[0]
	ev := hd.ev
	if err := m.refill(hd); err != nil {
		return Event{}, err
	}
	return ev, nil
}

func (m *merger) advance(hd *head) error {
	ev, err := hd.src.Next()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	hd.ev = ev
	heap.Push(&m.h, hd)
	return nil
}

// refill replaces the top of the heap with the next event of its source.
func (m *merger) refill(hd *head) error {
	ev, err := hd.src.Next()
	if errors.Is(err, io.EOF) {
		heap.Pop(&m.h)
		return nil
	}
	if err != nil {
		return err
	}
	hd.ev = ev
	heap.Fix(&m.h, 0)
	return nil
}

type headHeap []*head

func (h headHeap) Len() int { return len(h) }
func (h headHeap) Less(i, j int) bool {
	if !h[i].ev.Time.Equal(h[j].ev.Time) {
		return h[i].ev.Time.Before(h[j].ev.Time)
	}
	return h[i].order < h[j].order
}
func (h headHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *headHeap) Push(x any)   { *h = append(*h, x.(*head)) }
func (h *headHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type sequenced struct {
	ev  Event
	seq uint64
	// line is where the event was read; before is how much older it is
	// than the newest event read by then, at newestLine.
	line, newestLine int
	before           time.Duration
}

// The heap holds pointers: an Event is large, and a heap moves its items.
type eventHeap struct{ items []*sequenced }

func (h *eventHeap) Len() int { return len(h.items) }
func (h *eventHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if !a.ev.Time.Equal(b.ev.Time) {
		return a.ev.Time.Before(b.ev.Time)
	}
	return a.seq < b.seq
}
func (h *eventHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *eventHeap) Push(x any)    { h.items = append(h.items, x.(*sequenced)) }
func (h *eventHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items[len(h.items)-1] = nil
	h.items = h.items[:len(h.items)-1]
	return x
}
