package alertmanager

import "time"

// SetNow replaces the action's clock; call it before the action is used.
func (a *Action) SetNow(now func() time.Time) { a.now = now }

// RefreshNow makes one refresh, as the refresher does, and returns once
// it is over.
func (a *Action) RefreshNow() { a.refreshAll(make(chan struct{})) }
