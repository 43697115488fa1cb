package daemon

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/leaderhook/leaderhook/event"
)

// skipLog tells of the events skipped for an eventType leaderhook does not
// know, once per type for the process, whichever input (HTTP, a file,
// stdin) brought them: a type a newer OpenZiti adds is no fault, but a typo
// in a hand-written sender must not go unseen. So are leaderhook's own
// state events from a live input, once for the process: a sender or file
// that carries them is misconfigured. Events of other namespaces are only
// counted.
type skipLog struct {
	log      *slog.Logger
	count    func(cluster, input string) // nil: not counted
	types    event.UnknownTypes
	ownState sync.Once
}

// skipped is told of an event skipped (event.ErrSkipped) that input (http,
// a file's path, stdin) brought. A nil skipLog tells nothing.
func (s *skipLog) skipped(cluster, input string, le *event.LineError) {
	if s == nil {
		return
	}
	if s.count != nil {
		s.count(cluster, input)
	}
	var own *event.OwnStateError
	if errors.As(le.Err, &own) {
		s.ownState.Do(func() {
			s.log.Warn("leaderhook's own state events are skipped when a live input brings them (told once)",
				"event_type", own.Type, "cluster", cluster, "from", le.Name, "line", le.Line, "err", le.Err)
		})
		return
	}
	var unknown *event.UnknownTypeError
	if !errors.As(le.Err, &unknown) || !s.types.First(unknown.Type) {
		return
	}
	s.log.Warn("events of an eventType leaderhook does not know are skipped (told once per type)",
		"event_type", unknown.Type, "cluster", cluster, "event_src_id", unknown.Source, "from", le.Name, "line", le.Line)
}
