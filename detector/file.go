package detector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/internal/backward"
)

// Position is where a followed file was read up to, so that a restart
// neither misses nor repeats events.
type Position struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

// FileSource follows a JSONL file of OpenZiti events like `tail -F`: it
// reads lines as they are appended, reopens the file when it is rotated
// (a new inode) and starts over when it is truncated. A malformed line is
// reported and skipped; it never stops the source.
type FileSource struct {
	Path    string
	Cluster string
	// Start is where to begin; a zero Position starts at the end of the
	// file (only new events), a saved one resumes there if the file is
	// still the same.
	Start Position
	// Poll is how often to look for new lines (default 100ms).
	Poll time.Duration
	Log  *slog.Logger
	// OnPosition, if set, is called after each line with the position
	// after it.
	OnPosition func(Position)
	// OnReject, if set, is called with each malformed line.
	OnReject func(*event.LineError)
	// OnSkip, if set, is called with each line of an event leaderhook
	// does not take (event.ErrSkipped).
	OnSkip func(*event.LineError)

	fromStart bool // the file did not exist when Prepare looked
}

// Prepare fixes the starting point now rather than when Run gets to open
// the file: with no saved position, that is the end of the file as it is
// when the daemon starts, so that nothing appended after the start is
// missed.
//
// A file that does not exist yet is read from its start when it appears:
// everything in it is new.
func (s *FileSource) Prepare() {
	if s.Start.Inode != 0 {
		return
	}
	info, err := os.Stat(s.Path)
	if err != nil {
		s.fromStart = true
		return
	}
	s.Start = Position{Inode: inode(info), Offset: lastLineStart(s.Path, info.Size())}
}

// lastLineStart returns where the file's incomplete last line begins, or
// size when its last line is whole: a line half written as the daemon
// starts is read whole once it is, rather than its rest rejected as a
// malformed line.
func lastLineStart(path string, size int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return size
	}
	defer f.Close()
	end, found, err := backward.LastLineEnd(f, size, event.MaxLineBytes)
	switch {
	case err != nil:
		return size
	case found:
		return end
	case size <= event.MaxLineBytes:
		return 0 // the file is one line, not yet whole
	default:
		return size // too long to be an event: rejected either way
	}
}

// Run sends each event read to out until ctx ends.
func (s *FileSource) Run(ctx context.Context, out chan<- event.Event) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	fl := &fileFollower{src: s, log: s.Log, first: true}
	if fl.log == nil {
		fl.log = slog.New(slog.DiscardHandler)
	}
	defer fl.close()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		if fl.f == nil {
			fl.open()
		}
		if fl.f != nil {
			if err := fl.readLines(ctx, out); err != nil {
				return err
			}
			reopened, err := fl.reopen(ctx, out)
			if err != nil {
				return err
			}
			if reopened {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// fileFollower is where the reading of a followed file stands between
// polls.
type fileFollower struct {
	src      *FileSource
	log      *slog.Logger
	f        *os.File // nil until the file is open
	r        *bufio.Reader
	pos      Position
	line     int
	first    bool // the first file: read from Start or the end
	waiting  bool // logged that the file is missing
	skipping bool // in a line over event.MaxLineBytes, rejected already
}

func (fl *fileFollower) open() {
	f, pos, err := fl.src.open(fl.first)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Not there yet: wait for it, and say so once, since a mistyped
		// path would otherwise wait in silence.
		if !fl.waiting {
			fl.log.Warn("events file does not exist; waiting for it to appear", "file", fl.src.Path)
			fl.waiting = true
		}
	case err != nil:
		fl.log.Warn("cannot open events file", "file", fl.src.Path, "err", err)
	default:
		if fl.waiting {
			fl.log.Info("events file appeared; reading it", "file", fl.src.Path)
			fl.waiting = false
		}
		if f.Name() != fl.src.Path {
			fl.log.Info("events file rotated while leaderhook was down; reading the rest of it", "file", f.Name())
		}
		fl.f, fl.pos, fl.r, fl.first = f, pos, bufio.NewReaderSize(f, 64<<10), false
	}
}

// readLines sends the events of the whole lines written since the last
// read; an error only when ctx ended.
func (fl *fileFollower) readLines(ctx context.Context, out chan<- event.Event) error {
	for {
		data, ok := fl.next()
		if !ok {
			return nil
		}
		fl.line++
		fl.pos.Offset += int64(len(data))
		if ev, ok := fl.src.decode(data, fl.line); ok {
			select {
			case out <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		fl.moved()
	}
}

// moved tells OnPosition, if set, that the whole lines up to pos are read.
func (fl *fileFollower) moved() {
	if fl.src.OnPosition != nil {
		fl.src.OnPosition(fl.pos)
	}
}

// next returns the next whole line, rejecting and skipping those over
// event.MaxLineBytes; false when no whole line is there yet.
func (fl *fileFollower) next() ([]byte, bool) {
	if fl.skipping && !fl.skip() {
		return nil, false
	}
	var buf []byte
	for {
		data, err := fl.r.ReadSlice('\n')
		buf = append(buf, data...)
		switch {
		case len(buf) > event.MaxLineBytes && (err == nil || errors.Is(err, bufio.ErrBufferFull)):
			// Bounded memory: a corrupt file's endless line must not be
			// held, nor read again at every poll.
			fl.tooLong(len(buf), err == nil)
			if fl.skipping && !fl.skip() {
				return nil, false
			}
			buf = nil
		case err == nil:
			return buf, true
		case errors.Is(err, bufio.ErrBufferFull):
			// A long line: read on, up to the limit.
		default:
			// An incomplete last line is read again once it is whole.
			if len(buf) > 0 {
				if _, serr := fl.f.Seek(fl.pos.Offset, io.SeekStart); serr == nil {
					fl.r.Reset(fl.f)
				}
			}
			return nil, false
		}
	}
}

// tooLong rejects a line over the limit, n bytes of it read; whole when
// its end was among them.
func (fl *fileFollower) tooLong(n int, whole bool) {
	fl.line++
	fl.pos.Offset += int64(n)
	fl.skipping = !whole
	if fl.src.OnReject != nil {
		fl.src.OnReject(&event.LineError{Name: fl.src.Path, Line: fl.line, Err: fmt.Errorf("line longer than %d bytes", event.MaxLineBytes)})
	}
	if whole {
		fl.moved()
	}
}

// skip reads past the rest of a rejected line; false when its end is not
// written yet.
func (fl *fileFollower) skip() bool {
	for {
		data, err := fl.r.ReadSlice('\n')
		fl.pos.Offset += int64(len(data))
		switch {
		case err == nil:
			fl.skipping = false
			fl.moved()
			return true
		case !errors.Is(err, bufio.ErrBufferFull):
			return false
		}
	}
}

// reopen closes the file if it was rotated or truncated, to read the new
// one from its start, and reports whether it did; an error only when ctx
// ended. A rotated file is read to its end first: the writer may have
// added lines to it since the last read, before it moved to the new file.
func (fl *fileFollower) reopen(ctx context.Context, out chan<- event.Event) (bool, error) {
	rotated, truncated := fl.src.changed(fl.f, fl.pos)
	if !rotated && !truncated {
		return false, nil
	}
	if rotated {
		if err := fl.readLines(ctx, out); err != nil {
			return false, err
		}
	}
	fl.log.Info("events file rotated or truncated; reading it from the start", "file", fl.src.Path)
	fl.close()
	fl.line, fl.skipping = 0, false
	fl.src.Start = Position{} // the new file is read from its start
	return true, nil
}

func (fl *fileFollower) close() {
	if fl.f != nil {
		fl.f.Close()
		fl.f, fl.r = nil, nil
	}
}

// open opens the file at the starting position: the saved one if it is the
// same file, else the end on the first open and the start after a rotation.
func (s *FileSource) open(first bool) (*os.File, Position, error) {
	if first {
		if f := s.rotatedAway(); f != nil {
			return f, s.Start, nil
		}
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, Position{}, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Position{}, err
	}
	pos := Position{Inode: inode(info)}
	switch {
	case s.Start.Inode == pos.Inode && s.Start.Offset <= info.Size() && s.Start.Inode != 0:
		pos.Offset = s.Start.Offset
	case first && s.Start.Inode == 0 && !s.fromStart:
		pos.Offset = info.Size()
	}
	if _, err := f.Seek(pos.Offset, io.SeekStart); err != nil {
		f.Close()
		return nil, Position{}, err
	}
	return f, pos, nil
}

// rotatedAway opens, at the saved position, the file read before a restart
// when it was rotated meanwhile: the lines written to it after that
// position are read before the new file. Nil when the path still names it,
// or it is gone (deleted, or compressed into another file).
func (s *FileSource) rotatedAway() *os.File {
	if s.Start.Inode == 0 {
		return nil
	}
	if info, err := os.Stat(s.Path); err == nil && inode(info) == s.Start.Inode {
		return nil
	}
	dir, base := filepath.Split(s.Path)
	entries, _ := os.ReadDir(filepath.Clean(dir))
	for _, e := range entries {
		// A compressed file is never the one read, though it may have
		// been given the freed inode of one that was.
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), base) || compressed(e.Name()) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		info, err := f.Stat()
		if err == nil && inode(info) == s.Start.Inode && info.Size() >= s.Start.Offset {
			if _, err := f.Seek(s.Start.Offset, io.SeekStart); err == nil {
				return f
			}
		}
		f.Close()
	}
	return nil
}

func compressed(name string) bool {
	switch filepath.Ext(name) {
	case ".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z":
		return true
	}
	return false
}

// changed reports whether the path now names another file, or the file
// shrank below what was read. While the path names nothing, or a new file
// with nothing in it yet, the file moved away is still the one written
// to, until the new one has data (a writer reopens its file some time
// after logrotate moves it, and logrotate's create makes the new file
// first); unless it was deleted.
func (s *FileSource) changed(f *os.File, pos Position) (rotated, truncated bool) {
	info, err := os.Stat(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return !linked(f), false
	}
	if err != nil {
		return false, false
	}
	if inode(info) != pos.Inode {
		return info.Size() > 0 || !linked(f), false
	}
	return false, info.Size() < pos.Offset
}

func (s *FileSource) decode(data []byte, line int) (event.Event, bool) {
	ev, err := event.DecodeLive(data)
	if errors.Is(err, event.ErrSkipped) {
		if s.OnSkip != nil {
			s.OnSkip(&event.LineError{Name: s.Path, Line: line, Err: err})
		}
		return event.Event{}, false
	}
	if err != nil {
		if len(bytes.Trim(data, " \t\r\n")) > 0 && s.OnReject != nil {
			s.OnReject(&event.LineError{Name: s.Path, Line: line, Err: err})
		}
		return event.Event{}, false
	}
	ev.Cluster = s.Cluster
	return ev, true
}

// linked reports whether f still has a name somewhere.
func linked(f *os.File) bool {
	info, err := f.Stat()
	if err != nil {
		return false
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Nlink > 0
	}
	return false
}

func inode(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// ReaderSource reads JSONL events from a stream such as standard input
// until it ends.
type ReaderSource struct {
	R        io.Reader
	Name     string
	Cluster  string
	OnReject func(*event.LineError)
	OnSkip   func(*event.LineError) // as FileSource's
}

// Run sends each event to out until the stream ends or ctx does.
func (s *ReaderSource) Run(ctx context.Context, out chan<- event.Event) error {
	// No reordering: a live stream is in arrival order, and holding events
	// back would delay them.
	r := event.NewReader(s.R, s.Name, -1)
	r.OnError = s.OnReject
	r.OnSkip = s.OnSkip
	r.Live = true
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		ev.Cluster = s.Cluster
		select {
		case out <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
