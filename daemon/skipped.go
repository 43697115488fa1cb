package daemon

import (
	"errors"
	"log/slog"

	"github.com/leaderhook/leaderhook/event"
)

// skipLog tells of the events skipped for an eventType leaderhook does not
// know, once per type for the process, whichever input (HTTP, a file,
// stdin) brought them: a type a newer OpenZiti adds is no fault, but a typo
// in a hand-written sender must not go unseen. Events of other namespaces
// are only counted.
type skipLog struct {
	log   *slog.Logger
	count func(cluster, input string) // nil: not counted
	types event.UnknownTypes
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
	var unknown *event.UnknownTypeError
	if !errors.As(le.Err, &unknown) || !s.types.First(unknown.Type) {
		return
	}
	s.log.Warn("events of an eventType leaderhook does not know are skipped (told once per type)",
		"event_type", unknown.Type, "cluster", cluster, "event_src_id", unknown.Source, "from", le.Name, "line", le.Line)
}
