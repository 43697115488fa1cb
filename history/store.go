package history

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/internal/lines"
)

// Options configure a Store.
type Options struct {
	Dir      string
	MaxAge   time.Duration
	MaxBytes int64
	// Now is the clock of segments and of pruning; time.Now when nil.
	Now func() time.Time
	// OnError is told of each entry that could not be written.
	OnError func(error)
	Log     *slog.Logger
}

// segmentsPerBound is how many segments each bound is cut into: pruning
// drops a whole segment, so history keeps at least this share less one of
// what its bounds allow.
const segmentsPerBound = 16

// queued is how many entries may wait for the disk before Add drops them
// (and counts each as a write error).
const queued = 8192

// recentSize is how many of the latest entries stay in memory for the
// page's updates.
const recentSize = 16384

type segment struct {
	path  string
	start time.Time
	// end is the time of its latest entry; for a segment of an earlier run
	// but the newest, of the latest of its last lines (see latestInTail).
	end  time.Time
	size int64
}

// Store is a history directory. Open, Add from any goroutine, Query, then
// Close.
type Store struct {
	opts  Options
	boot  string
	queue chan Entry
	done  chan struct{}

	// Of the writer goroutine.
	file    *os.File
	buf     *bufio.Writer
	out     *lines.Writer    // under buf: a line torn by a full disk or a crash stays alone
	latest  map[string]State // by cluster: the checkpoints of a new segment
	splits  map[string]Split // by cluster: the split brains open, checkpoints too
	failure logLimit

	mu       sync.Mutex
	closed   bool
	seq      int64 // of the latest entry added
	flushed  int64 // of the latest entry written
	recent   []Entry
	segments []segment // oldest first; the last is written to
}

// Open opens (or creates) the history in opts.Dir and starts its writer.
func Open(opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = func(error) {}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	s := &Store{opts: opts, boot: newBoot(), queue: make(chan Entry, queued), done: make(chan struct{}), latest: map[string]State{},
		splits: map[string]Split{}}
	if err := s.load(); err != nil {
		return nil, err
	}
	if err := s.openLast(); err != nil {
		return nil, err
	}
	s.expire(opts.Now())
	go s.write()
	return s, nil
}

func newBoot() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Boot names this opening of the store: a page that sees it change knows
// that what it holds may be stale.
func (s *Store) Boot() string { return s.boot }

// load lists the segments and reads the newest: the last sequence number
// and each cluster's latest state.
func (s *Store) load() error {
	names, err := filepath.Glob(filepath.Join(s.opts.Dir, "seg-*.jsonl"))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(name), "seg-"), "-")
		nanos, err := strconv.ParseInt(strings.TrimSuffix(stamp, ".jsonl"), 10, 64)
		info, statErr := os.Stat(name)
		if err != nil || statErr != nil {
			continue
		}
		start := time.Unix(0, nanos)
		s.segments = append(s.segments, segment{path: name, start: start, end: start, size: info.Size()})
	}
	if len(s.segments) == 0 {
		return nil
	}
	s.loadEnds()
	last := &s.segments[len(s.segments)-1]
	return readSegment(last.path, nil, func(e Entry) {
		s.seq = max(s.seq, e.Seq)
		s.keepLatest(e)
		if t := e.Time(); t.After(last.end) {
			last.end = t
		}
	})
}

// loadEnds sets the end of each segment but the newest (read whole by
// load) from its last lines: pruning by age goes by it. A segment whose
// lines cannot be read is logged, not an error: a start must not fail
// for it.
func (s *Store) loadEnds() {
	for i := range s.segments[:len(s.segments)-1] {
		seg := &s.segments[i]
		latest, err := latestInTail(seg.path, seg.size)
		if err != nil {
			s.opts.Log.Warn("history segment's end not read: it is kept until the next began", "err", err)
		}
		if latest.IsZero() { // no line that parses: kept until the next began, as long as it may hold entries
			latest = s.segments[i+1].start
		}
		seg.end = maxTime(seg.start, latest)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// openLast opens the newest segment for appending, or a first one.
func (s *Store) openLast() error {
	if len(s.segments) == 0 {
		return s.startSegment(s.opts.Now(), s.seq+1)
	}
	last := &s.segments[len(s.segments)-1]
	f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	s.useFile(f)
	s.flushed = s.seq
	return nil
}

// useFile makes f the file written to.
func (s *Store) useFile(f *os.File) {
	s.file, s.out = f, lines.Append(f)
	s.buf = bufio.NewWriter(s.out)
}

// startSegment starts a new segment at the time of the entry it is
// started for, with a checkpoint of every cluster's latest state. The
// time names it, and the next sequence number keeps names apart. An entry
// older than the last segment's start (entries carry their events'
// times) starts it at that start: the names sort as the segments follow.
func (s *Store) startSegment(start time.Time, seq int64) error {
	s.mu.Lock()
	if n := len(s.segments); n > 0 && start.Before(s.segments[n-1].start) {
		start = s.segments[n-1].start
	}
	s.mu.Unlock()
	path := filepath.Join(s.opts.Dir, fmt.Sprintf("seg-%020d-%020d.jsonl", start.UnixNano(), seq))
	if s.file != nil && s.file.Name() == path {
		return nil // started at this instant for this entry already (by expire)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if s.file != nil {
		s.buf.Flush()
		s.file.Close()
	}
	s.useFile(f)
	s.mu.Lock()
	s.segments = append(s.segments, segment{path: path, start: start, end: start})
	s.mu.Unlock()
	for _, cluster := range sortedKeys(s.latest) {
		st := s.latest[cluster]
		s.writeLine(Entry{Checkpoint: true, State: &st})
	}
	for _, cluster := range sortedKeys(s.splits) {
		sp := s.splits[cluster]
		s.writeLine(Entry{Checkpoint: true, Split: &sp})
	}
	return nil
}

// keepLatest notes what a new segment's checkpoints copy: each cluster's
// latest state, and a split brain that a window beginning later still
// needs to know of.
func (s *Store) keepLatest(e Entry) {
	switch {
	case e.State != nil:
		s.latest[e.State.Cluster] = *e.State
	case e.Split != nil && e.Split.open():
		s.splits[e.Split.Cluster] = *e.Split
	case e.Split != nil:
		delete(s.splits, e.Split.Cluster)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Add numbers an entry, keeps it among the recent ones and queues it for
// the disk. It never blocks: an entry the disk is too far behind for is
// dropped from the disk (counted as a write error) but stays recent. A
// state that is no change of leader is not kept: a split brain is a Split.
func (s *Store) Add(e Entry) {
	if e.State != nil && !e.State.leadership() {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.seq++
	e.Seq = s.seq
	if len(s.recent) == recentSize {
		s.recent = slices.Delete(s.recent, 0, recentSize/4)
	}
	s.recent = append(s.recent, e)
	select {
	case s.queue <- e:
	default:
		s.opts.OnError(errBehind)
	}
	s.mu.Unlock()
}

// AddWait is Add for programs that write history in bulk (imports,
// benchmarks): it waits for room in the queue instead of dropping.
func (s *Store) AddWait(e Entry) {
	for {
		s.mu.Lock()
		room := len(s.queue) < cap(s.queue)
		s.mu.Unlock()
		if room {
			s.Add(e)
			return
		}
		time.Sleep(time.Millisecond) // the writer drains the queue
	}
}

var errBehind = errors.New("history: the disk is behind; entry dropped")

// Close writes what is queued and closes the files.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	return nil
}
