package history

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// write is the writer goroutine: it writes entries as they come, flushes
// whenever none waits, and starts and drops segments, also on a timer: a
// quiet daemon's history ages too.
func (s *Store) write() {
	defer close(s.done)
	tick := time.NewTicker(max(s.opts.MaxAge/segmentsPerBound, time.Second))
	defer tick.Stop()
	for {
		select {
		case e, ok := <-s.queue:
			if !ok {
				s.flush(s.lastSeq())
				s.file.Close()
				return
			}
			s.take(e)
		case <-tick.C:
			s.expire(s.opts.Now())
		}
	}
}

// take writes an entry, in a new segment if the last is full.
func (s *Store) take(e Entry) {
	if s.full(e.Time()) {
		s.rotate(e.Time(), e.Seq)
	}
	s.keepLatest(e)
	s.writeLine(e)
	if len(s.queue) == 0 {
		s.flush(e.Seq)
	}
}

// expire drops what has grown older than MaxAge by now without an entry
// to start a segment: the one written to as well, once all of it has (a
// new one takes over, with the checkpoints of the states in force).
func (s *Store) expire(now time.Time) {
	s.mu.Lock()
	last := s.segments[len(s.segments)-1]
	s.mu.Unlock()
	if last.end.Before(now.Add(-s.opts.MaxAge)) {
		s.rotate(now, s.lastSeq()+1)
		s.flush(0) // the checkpoints; no entry more is on disk
		return
	}
	s.prune(now)
}

// full reports whether the segment written to has reached its share of a
// bound by an entry of time now.
func (s *Store) full(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.segments[len(s.segments)-1]
	return last.size >= s.opts.MaxBytes/segmentsPerBound || now.Sub(last.start) >= s.opts.MaxAge/segmentsPerBound
}

func (s *Store) rotate(now time.Time, seq int64) {
	if err := s.startSegment(now, seq); err != nil {
		s.failed(err)
		return
	}
	s.prune(now)
}

func (s *Store) writeLine(e Entry) {
	data, err := json.Marshal(e)
	if err == nil {
		_, err = s.buf.Write(append(data, '\n'))
	}
	if err != nil {
		s.failed(fmt.Errorf("history %s: %w", s.file.Name(), err))
		return
	}
	s.mu.Lock()
	last := &s.segments[len(s.segments)-1]
	last.size += int64(len(data) + 1)
	if t := e.Time(); t.After(last.end) {
		last.end = t
	}
	s.mu.Unlock()
}

func (s *Store) flush(seq int64) {
	if err := s.buf.Flush(); err != nil {
		s.failed(fmt.Errorf("history %s: %w", s.file.Name(), err))
		s.buf.Reset(s.out) // what was buffered is lost, and counted
		return
	}
	s.mu.Lock()
	s.flushed = max(s.flushed, seq)
	s.mu.Unlock()
}

// lastSeq is the sequence number of the latest entry added.
func (s *Store) lastSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// prune drops the oldest segments while they are older than MaxAge (their
// latest entry is, even when the next segment began long after, after a
// quiet spell) or while they and a full segment written to would hold
// more than MaxBytes. The one written to stays.
func (s *Store) prune(now time.Time) {
	s.mu.Lock()
	limit := now.Add(-s.opts.MaxAge)
	total := s.opts.MaxBytes / segmentsPerBound
	for _, seg := range s.segments[:len(s.segments)-1] {
		total += seg.size
	}
	var drop []string
	for len(s.segments) > 1 && (s.segments[0].end.Before(limit) || total > s.opts.MaxBytes) {
		total -= s.segments[0].size
		drop = append(drop, s.segments[0].path)
		s.segments = s.segments[1:]
	}
	s.mu.Unlock()
	for _, path := range drop {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			s.failed(fmt.Errorf("history: %w", err))
		}
	}
}

// failed counts a write error and logs it, at most once a minute.
func (s *Store) failed(err error) {
	s.opts.OnError(err)
	if s.failure.due(time.Now()) {
		s.opts.Log.Error("history entries lost", "err", err, "lost_since_last_report", s.failure.count)
		s.failure.count = 0
	}
}

// logLimit counts failures between two logged ones.
type logLimit struct {
	last  time.Time
	count int
}

func (l *logLimit) due(now time.Time) bool {
	l.count++
	if now.Sub(l.last) < time.Minute {
		return false
	}
	l.last = now
	return true
}
