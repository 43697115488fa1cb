package audit

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/dispatch"
)

// A record dropped because the writer is behind is counted and logged,
// like a failed write, at most once a minute.
func TestRecordsDroppedBehindAreCountedAndLogged(t *testing.T) {
	var logs strings.Builder
	counted := 0
	a := &File{records: make(chan dispatch.Record), log: slog.New(slog.NewTextHandler(&logs, nil)),
		onError: func(err error) {
			if errors.Is(err, errBehind) {
				counted++
			}
		}}
	for range 3 {
		a.Record(dispatch.Record{Kind: "attempt"}) // no writer takes it
	}
	if counted != 3 || strings.Count(logs.String(), "audit records lost") != 1 {
		t.Errorf("%d counted, logged:\n%s\nwant 3 counted and one line", counted, logs.String())
	}
}

// Losses after the last line logged are logged too, a minute later, even
// when no more follow: the log must not understate what was lost.
func TestLaterLossesAreLoggedWhenTheyStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuilder
		a := &File{records: make(chan dispatch.Record), log: slog.New(slog.NewTextHandler(&logs, nil)), onError: func(error) {}}
		for range 4 {
			a.Record(dispatch.Record{Kind: "attempt"}) // no writer takes it
		}
		time.Sleep(logEvery)
		synctest.Wait()
		got := logs.String()
		if strings.Count(got, "audit records lost") != 2 || !strings.Contains(got, "lost_since_last_report=3") {
			t.Errorf("logged:\n%s\nwant a first line, then one a minute later with the 3 lost since", got)
		}
	})
}

// syncBuilder is a strings.Builder for a logger used from goroutines.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A record that comes after Close (an HTTP handler that outlived the
// shutdown) is logged as lost, not a panic that ends the stop; a second
// Close does nothing.
func TestRecordAfterCloseIsLoggedNotAPanic(t *testing.T) {
	var logs syncBuilder
	a, err := Open(t.TempDir()+"/audit.jsonl", slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a.Record(dispatch.Record{Kind: "expect", Status: "open"})
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !strings.Contains(logs.String(), "kind=expect") {
		t.Errorf("logged:\n%s\nwant the record dropped after Close", logs.String())
	}
}
