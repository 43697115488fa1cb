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
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/event"
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
	s.Start = Position{Inode: inode(info), Offset: info.Size()}
}

// Run sends each event read to out until ctx ends.
func (s *FileSource) Run(ctx context.Context, out chan<- event.Event) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var f *os.File
	var r *bufio.Reader
	var pos Position
	line := 0
	first := true
	waiting := false // logged that the file is missing
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for {
		if f == nil {
			var err error
			f, pos, err = s.open(first)
			switch {
			case errors.Is(err, os.ErrNotExist):
				// Not there yet: wait for it, and say so once, since a
				// mistyped path would otherwise wait in silence.
				if !waiting {
					log.Warn("events file does not exist; waiting for it to appear", "file", s.Path)
					waiting = true
				}
			case err != nil:
				log.Warn("cannot open events file", "file", s.Path, "err", err)
			default:
				if waiting {
					log.Info("events file appeared; reading it", "file", s.Path)
					waiting = false
				}
				r = bufio.NewReaderSize(f, 64<<10)
				first = false
			}
		}
		if f != nil {
			for {
				data, err := r.ReadBytes('\n')
				if err != nil {
					// An incomplete last line is read again once it is whole.
					if len(data) > 0 {
						if _, serr := f.Seek(pos.Offset, io.SeekStart); serr == nil {
							r.Reset(f)
						}
					}
					break
				}
				line++
				pos.Offset += int64(len(data))
				if ev, ok := s.decode(data, line); ok {
					select {
					case out <- ev:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if s.OnPosition != nil {
					s.OnPosition(pos)
				}
			}
			if rotated, truncated := s.changed(f, pos); rotated || truncated {
				log.Info("events file rotated or truncated; reading it from the start", "file", s.Path)
				f.Close()
				f, r, line = nil, nil, 0
				s.Start = Position{} // the new file is read from its start
				first = false
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

// open opens the file at the starting position: the saved one if it is the
// same file, else the end on the first open and the start after a rotation.
func (s *FileSource) open(first bool) (*os.File, Position, error) {
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

// changed reports whether the path now names another file, or the file
// shrank below what was read.
func (s *FileSource) changed(f *os.File, pos Position) (rotated, truncated bool) {
	info, err := os.Stat(s.Path)
	if err != nil {
		return errors.Is(err, os.ErrNotExist), false
	}
	if inode(info) != pos.Inode {
		return true, false
	}
	return false, info.Size() < pos.Offset
}

func (s *FileSource) decode(data []byte, line int) (event.Event, bool) {
	ev, err := event.Decode(data)
	if errors.Is(err, event.ErrOtherNamespace) {
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
}

// Run sends each event to out until the stream ends or ctx does.
func (s *ReaderSource) Run(ctx context.Context, out chan<- event.Event) error {
	// No reordering: a live stream is in arrival order, and holding events
	// back would delay them.
	r := event.NewReader(s.R, s.Name, -1)
	r.OnError = s.OnReject
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
