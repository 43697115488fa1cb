package dispatch

import (
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

// Deliveries come out by the instant they were decided for, then in the
// order they were decided, whatever their ids; one put again (a failed
// attempt journaled again) keeps its place, and one removed and put again
// goes last.
func TestPendingKeepsTheOrderOfDecisions(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	del := func(id string, firedAt time.Time) Delivery {
		return Delivery{ID: id, Notification: actions.Notification{FiredAt: firedAt}}
	}
	var p PendingSet
	p.Put(del("msg_z_firing", at))
	p.Put(del("msg_a_resolve", at))
	p.Put(del("msg_m_earlier", at.Add(-time.Second)))
	again := del("msg_z_firing", at)
	again.Attempts = 2
	p.Put(again)
	ids := func() (out []string) {
		for _, d := range p.List() {
			out = append(out, d.ID)
		}
		return out
	}
	if got, want := ids(), []string{"msg_m_earlier", "msg_z_firing", "msg_a_resolve"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if p.List()[1].Attempts != 2 {
		t.Error("a delivery put again is not the latest copy")
	}
	if !p.Remove("msg_z_firing") || p.Remove("msg_z_firing") || p.Len() != 2 {
		t.Error("Remove: want true once, then false, and 2 left")
	}
	p.Put(del("msg_z_firing", at))
	if got, want := ids(), []string{"msg_m_earlier", "msg_a_resolve", "msg_z_firing"}; !slices.Equal(got, want) {
		t.Errorf("after a removal and a put, order %v, want %v", got, want)
	}
}
