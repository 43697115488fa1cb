package event

import "sync"

// MaxUnknownTypes is how many unknown eventTypes UnknownTypes remembers: a
// sender making up a new type for every event must not grow it without
// bound.
const MaxUnknownTypes = 100

// UnknownTypes remembers the unknown eventTypes met, so that each is told of
// once: a type a newer OpenZiti adds is not worth a line per event, but a
// typo in a hand-written sender must still be seen. The zero value is ready
// and it is safe for concurrent use.
type UnknownTypes struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// First reports whether t is met for the first time, among the first
// MaxUnknownTypes types; past those, no type is.
func (u *UnknownTypes) First(t string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.seen[t]; ok || len(u.seen) >= MaxUnknownTypes {
		return false
	}
	if u.seen == nil {
		u.seen = map[string]struct{}{}
	}
	u.seen[t] = struct{}{}
	return true
}
