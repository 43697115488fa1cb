package dispatch

import "sync"

// queue holds one cluster's deliveries to one action, in the order they
// were decided, for its workers. It never drops one: the journal has them
// all, and ingest stops taking events for the cluster while it is full.
type queue struct {
	mu      sync.Mutex
	ready   sync.Cond  // signalled when items arrive, workers change or it closes
	items   []Delivery // waiting from head on
	head    int
	size    int
	workers int // running
	want    int // wanted
	closed  bool
}

func newQueue(size int) *queue {
	q := &queue{}
	q.ready.L = &q.mu
	q.resize(size)
	return q
}

func (q *queue) resize(size int) {
	if size <= 0 {
		size = DefaultQueueSize
	}
	q.mu.Lock()
	q.size = size
	q.mu.Unlock()
}

// setWorkers sets the wanted number of workers and returns how many must
// be started.
func (q *queue) setWorkers(n int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.want = n
	start := max(n-q.workers, 0)
	q.workers += start
	q.ready.Broadcast() // surplus workers notice and stop
	return start
}

// push adds del for the workers, calling queued first: before a worker
// can take it. Once the queue is closed and its workers have left, none
// would take it: push adds nothing and reports false.
func (q *queue) push(del Delivery, queued func()) bool {
	q.mu.Lock()
	if q.closed && q.workers == 0 {
		q.mu.Unlock()
		return false
	}
	queued()
	q.items = append(q.items, del)
	q.mu.Unlock()
	q.ready.Signal()
	return true
}

// take waits for the next delivery. It returns false when the worker
// should stop: the queue is closed and empty, or it has more workers than
// wanted.
func (q *queue) take() (Delivery, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.waiting() == 0 && !q.closed && q.workers <= q.want {
		q.ready.Wait()
	}
	if q.workers > q.want || q.waiting() == 0 {
		q.workers--
		return Delivery{}, false
	}
	del := q.items[q.head]
	q.items[q.head] = Delivery{}
	q.head++
	if q.head == len(q.items) { // empty: the array is reused from its start
		q.items, q.head = q.items[:0], 0
	}
	return del, true
}

// remove takes out the waiting deliveries that match, keeping the others
// in order.
func (q *queue) remove(match func(Delivery) bool) []Delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out, kept []Delivery
	for _, del := range q.items[q.head:] {
		if match(del) {
			out = append(out, del)
		} else {
			kept = append(kept, del)
		}
	}
	if len(out) > 0 {
		clear(q.items)
		q.items, q.head = kept, 0
	}
	return out
}

// waiting counts the deliveries waiting. Callers hold mu.
func (q *queue) waiting() int { return len(q.items) - q.head }

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting()
}

func (q *queue) full() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting() >= q.size
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.ready.Broadcast()
}
