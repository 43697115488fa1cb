package rules

import "unsafe"

// box holds one expression variable as an interface value whose payload the
// engine overwrites in place.
//
// expr reads variables from a map[string]any. Storing a new time.Duration or
// time.Time in that map boxes it, which allocates; the engine evaluates every
// rule at every state change and threshold, so it boxes each variable once per
// cluster and afterwards only writes through the pointer. Only the goroutine
// that owns the engine reads or writes, and T must not be pointer-shaped
// (it is used for bool, string, time.Duration, time.Time and []string).
type box[T any] struct {
	ptr *T
	val any
}

func newBox[T any](v T) *box[T] {
	p := new(T)
	*p = v
	var zero T
	val := any(zero)
	// An interface is (type, data pointer); point the data word at our own
	// heap copy instead of the runtime's (possibly shared, read-only) one.
	(*[2]unsafe.Pointer)(unsafe.Pointer(&val))[1] = unsafe.Pointer(p)
	return &box[T]{ptr: p, val: val}
}

func (b *box[T]) set(v T) { *b.ptr = v }
