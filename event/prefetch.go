package event

import "io"

// Prefetch reads src on its own goroutine, a batch ahead, so that decoding
// (most of the work of replaying a file) runs on another core than the
// rules. Memory stays bounded: at most a few batches are in flight. Call
// Close if you stop before the end.
func Prefetch(src Source) *Prefetcher {
	p := &Prefetcher{batches: make(chan batch, 4), done: make(chan struct{})}
	go p.run(src)
	return p
}

const prefetchBatch = 512

type batch struct {
	events []Event
	err    error // io.EOF at the end
}

// Prefetcher is a Source fed by a goroutine.
type Prefetcher struct {
	batches chan batch
	done    chan struct{}
	cur     batch
	i       int
	closed  bool
}

func (p *Prefetcher) run(src Source) {
	defer close(p.batches)
	events := make([]Event, 0, prefetchBatch)
	for {
		ev, err := src.Next()
		if err == nil {
			events = append(events, ev)
			if len(events) < prefetchBatch {
				continue
			}
		}
		select {
		case p.batches <- batch{events: events, err: err}:
		case <-p.done:
			return
		}
		if err != nil {
			return
		}
		events = make([]Event, 0, prefetchBatch)
	}
}

// Next returns the next event, or the source's error (io.EOF at the end).
// After the end, the source's counters may be read: its goroutine is done.
func (p *Prefetcher) Next() (Event, error) {
	for p.i >= len(p.cur.events) {
		if p.cur.err != nil {
			return Event{}, p.cur.err
		}
		b, ok := <-p.batches
		if !ok {
			return Event{}, io.EOF
		}
		p.cur, p.i = b, 0
	}
	ev := p.cur.events[p.i]
	p.i++
	return ev, nil
}

// Close stops the goroutine early.
func (p *Prefetcher) Close() {
	if !p.closed {
		p.closed = true
		close(p.done)
	}
}
