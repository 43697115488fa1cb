package dispatch

import (
	"cmp"
	"slices"
)

// PendingSet is the deliveries not finished, each with its place in the
// order they were decided: a firing and its resolve decided at one
// instant must resume in that order, which their ids (hashes) do not say.
// The journal of a daemon alone and the group's replicated state keep
// their deliveries in one. The zero value is empty and ready; it is not
// safe for concurrent use, and must not be copied once used.
type PendingSet struct {
	byID  map[string]Delivery
	place map[string]uint64 // when each joined, counted by last
	last  uint64
}

// Put records del as pending: a new one goes last in the order of
// decisions, one pending already (a failed attempt journaled again)
// keeps its place.
func (p *PendingSet) Put(del Delivery) {
	if p.byID == nil {
		p.byID, p.place = map[string]Delivery{}, map[string]uint64{}
	}
	if _, ok := p.byID[del.ID]; !ok {
		p.last++
		p.place[del.ID] = p.last
	}
	p.byID[del.ID] = del
}

// Remove forgets the delivery id, and reports whether it was pending.
func (p *PendingSet) Remove(id string) bool {
	if _, ok := p.byID[id]; !ok {
		return false
	}
	delete(p.byID, id)
	delete(p.place, id)
	return true
}

// Len is the number of deliveries pending.
func (p *PendingSet) Len() int { return len(p.byID) }

// List is the deliveries pending by the instant they were decided for,
// then in the order they were decided.
func (p *PendingSet) List() []Delivery {
	ds := make([]Delivery, 0, len(p.byID))
	for _, del := range p.byID {
		ds = append(ds, del)
	}
	slices.SortFunc(ds, func(a, b Delivery) int {
		if c := a.Notification.FiredAt.Compare(b.Notification.FiredAt); c != 0 {
			return c
		}
		return cmp.Compare(p.place[a.ID], p.place[b.ID])
	})
	return ds
}
