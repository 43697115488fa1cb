package audit

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

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
