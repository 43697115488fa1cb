package daemon

import (
	"errors"
	"log/slog"
	"testing"
)

// What goes wrong outside an ingest request is logged, not kept: a daemon
// whose sources are all polled would otherwise hold every error for good.
func TestDecisionsKeepOnlyWhatARequestCaused(t *testing.T) {
	c := &decisions{log: slog.New(slog.DiscardHandler), notJournaled: func() {}}
	c.failed(errors.New("from a polled source"))
	if c.err != nil {
		t.Fatalf("kept %v outside a request", c.err)
	}
	c.collect()
	c.failed(errors.New("from this request"))
	if err := c.take(); err == nil || err.Error() != "from this request" {
		t.Errorf("the request's answer carries %v, want only its own error", err)
	}
	c.failed(errors.New("after it"))
	if c.err != nil {
		t.Errorf("kept %v after the request", c.err)
	}
}
