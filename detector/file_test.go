package detector

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

func line(src, typ string, sec int) string {
	return fmt.Sprintf(`{"namespace":"cluster","event_src_id":"%s","timestamp":"2026-01-01T00:00:%02dZ","eventType":"%s"}`+"\n", src, sec, typ)
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}

func collect(t *testing.T, out <-chan event.Event, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case ev := <-out:
			got = append(got, ev.Source)
		case <-timeout:
			t.Fatalf("got %v, waiting for %d events", got, n)
		}
	}
	return got
}

// lineErrors keeps the line errors a source reports while it runs.
type lineErrors struct {
	mu   sync.Mutex
	errs []string
}

func (l *lineErrors) add(e *event.LineError) {
	l.mu.Lock()
	l.errs = append(l.errs, e.Error())
	l.mu.Unlock()
}

func (l *lineErrors) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// In a synctest bubble, synctest.Wait returns once the source has done all
// it can with what the file holds and waits for its next poll: the moment
// to change the file again.
func TestFileSourceFollowsRotationAndTruncation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "events.jsonl")
		appendTo(t, path, line("old", event.ReadWrite, 0)) // before start: not replayed
		var rejects lineErrors
		var mu sync.Mutex
		var last Position
		const poll = 10 * time.Millisecond
		src := &FileSource{Path: path, Cluster: "c", Poll: poll, OnReject: rejects.add,
			OnPosition: func(p Position) { mu.Lock(); last = p; mu.Unlock() }}
		out := make(chan event.Event, 16)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go src.Run(ctx, out)
		synctest.Wait() // the file is open, at its end

		appendTo(t, path, line("a", event.ReadWrite, 1)+"garbage\n")
		appendTo(t, path, strings.TrimSuffix(line("b", event.ReadWrite, 2), "\n")) // half a line...
		time.Sleep(poll)
		synctest.Wait() // ...read, and left for later
		if len(out) != 1 {
			t.Errorf("%d events before the line was whole, want 1 (a)", len(out))
		}
		appendTo(t, path, "\n") // ...completed
		if got := collect(t, out, 2); strings.Join(got, ",") != "a,b" {
			t.Errorf("appended: %v", got)
		}
		// Rotation: the old file moves away, a new one appears.
		os.Rename(path, path+".1")
		appendTo(t, path, line("c", event.ReadWrite, 3))
		if got := collect(t, out, 1); got[0] != "c" {
			t.Errorf("after rotation: %v", got)
		}
		// Truncation: copytruncate-style. The new line is as long as the
		// one read: only the truncation seen tells the source to start over.
		os.Truncate(path, 0)
		time.Sleep(poll)
		synctest.Wait()
		appendTo(t, path, line("d", event.ReadWrite, 4))
		if got := collect(t, out, 1); got[0] != "d" {
			t.Errorf("after truncation: %v", got)
		}
		if r := rejects.got(); len(r) != 1 || !strings.Contains(r[0], "events.jsonl:2: not a JSON object") {
			t.Errorf("rejects: %q", r)
		}
		mu.Lock()
		defer mu.Unlock()
		if last.Offset != int64(len(line("d", event.ReadWrite, 4))) {
			t.Errorf("position %+v", last)
		}
	})
}

func TestFileSourceResumesFromAPosition(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	appendTo(t, path, line("seen", event.ReadWrite, 0))
	info, _ := os.Stat(path)
	pos := Position{Inode: inode(info), Offset: info.Size()}
	appendTo(t, path, line("missed-while-down", event.ReadWrite, 1))
	out := make(chan event.Event, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&FileSource{Path: path, Start: pos, Poll: 10 * time.Millisecond}).Run(ctx, out)
	if got := collect(t, out, 1); got[0] != "missed-while-down" {
		t.Errorf("resumed with %v", got)
	}
}

func TestFileSourceReadsAFileCreatedAfterStartFromItsBeginning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.jsonl")
	var logs lockedBuffer
	src := &FileSource{Path: path, Poll: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	src.Prepare()
	out := make(chan event.Event, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, out)
	// The source has looked for the file, and found it missing.
	missing := `msg="events file does not exist; waiting for it to appear" file=` + path
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), missing); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the log lacks %q:\n%s", missing, logs.String())
		}
	}
	appendTo(t, path, line("first", event.ReadWrite, 0)+line("second", event.ReadWrite, 1))
	if got := collect(t, out, 2); strings.Join(got, ",") != "first,second" {
		t.Errorf("got %v", got)
	}
	// A missing file is said once (a mistyped path must not wait in
	// silence), and so is its appearance.
	if l := logs.String(); strings.Count(l, missing) != 1 ||
		strings.Count(l, `msg="events file appeared; reading it"`) != 1 {
		t.Errorf("log:\n%s", l)
	}
}

// A line over event.MaxLineBytes is rejected once and skipped, whether it
// is written whole or keeps growing across polls; the lines around it are
// read.
func TestFileSourceSkipsOverLongLines(t *testing.T) {
	long := strings.Repeat("x", event.MaxLineBytes+1)
	cases := []struct {
		name   string
		writes []string // appended one poll apart
	}{
		{"written whole", []string{line("a", event.ReadWrite, 1) + long + "\n" + line("c", event.ReadWrite, 3)}},
		{"growing without a newline", []string{line("a", event.ReadWrite, 1) + long, long, "\n" + line("c", event.ReadWrite, 3)}},
		{"its end in a later write", []string{line("a", event.ReadWrite, 1) + long[:event.MaxLineBytes], "xx\n" + line("c", event.ReadWrite, 3)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "events.jsonl")
				var rejects lineErrors
				var mu sync.Mutex
				var last Position
				const poll = 10 * time.Millisecond
				src := &FileSource{Path: path, Poll: poll, fromStart: true, OnReject: rejects.add,
					OnPosition: func(p Position) { mu.Lock(); last = p; mu.Unlock() }}
				out := make(chan event.Event, 16)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go src.Run(ctx, out)
				size := 0
				for _, w := range tc.writes {
					appendTo(t, path, w)
					size += len(w)
					time.Sleep(poll)
					synctest.Wait() // the source read what is there
				}
				if got := collect(t, out, 2); strings.Join(got, ",") != "a,c" {
					t.Errorf("events: %v", got)
				}
				want := fmt.Sprintf("events.jsonl:2: line longer than %d bytes", event.MaxLineBytes)
				if r := rejects.got(); len(r) != 1 || !strings.Contains(r[0], want) {
					t.Errorf("rejects: %.200q, want one %q", r, want)
				}
				mu.Lock()
				defer mu.Unlock()
				if last.Offset != int64(size) {
					t.Errorf("position %d, want the file's end %d", last.Offset, size)
				}
			})
		})
	}
}

// A daemon that starts while the last line is half written begins at that
// line, not in its middle: its rest is not a malformed line, and the event
// it completes is read.
func TestFileSourceStartingMidLineReadsThatLineWhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "events.jsonl")
		half := line("b", event.ReadWrite, 1)
		appendTo(t, path, line("old", event.ReadWrite, 0)+half[:20])
		var rejects lineErrors
		const poll = 10 * time.Millisecond
		out := follow(t, &FileSource{Path: path, Poll: poll, OnReject: rejects.add})
		synctest.Wait()
		appendTo(t, path, half[20:]+line("c", event.ReadWrite, 2))
		if got := collect(t, out, 2); strings.Join(got, ",") != "b,c" {
			t.Errorf("events: %v", got)
		}
		if r := rejects.got(); len(r) != 0 {
			t.Errorf("rejects: %q", r)
		}
	})
}

// A file rotated while the daemon was down still holds lines written after
// the saved position: they are read from the rotated file, then the new
// file from its start.
func TestFileSourceResumesInAFileRotatedWhileDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "events.jsonl")
		appendTo(t, path, line("seen", event.ReadWrite, 0))
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		pos := Position{Inode: inode(info), Offset: info.Size()}
		appendTo(t, path, line("before-rotation", event.ReadWrite, 1))
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		appendTo(t, path, line("after-rotation", event.ReadWrite, 2))
		out := follow(t, &FileSource{Path: path, Start: pos, Poll: 10 * time.Millisecond})
		synctest.Wait()
		var got []string
		for len(out) > 0 {
			got = append(got, (<-out).Source)
		}
		if strings.Join(got, ",") != "before-rotation,after-rotation" {
			t.Errorf("events: %v", got)
		}
	})
}

// Rotation by rename, the writer still writing to the moved file until it
// opens a new one (logrotate with a postrotate reload, or nocreate): the
// lines written meanwhile are read before the new file's.
func TestFileSourceReadsTheMovedFileUntilANewOneAppears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "events.jsonl")
		appendTo(t, path, "")
		const poll = 10 * time.Millisecond
		out := follow(t, &FileSource{Path: path, Cluster: "c", Poll: poll})
		synctest.Wait()

		appendTo(t, path, line("a", event.ReadWrite, 1))
		if got := collect(t, out, 1); got[0] != "a" {
			t.Fatalf("before the rotation: %v", got)
		}
		os.Rename(path, path+".1")
		time.Sleep(poll)
		synctest.Wait()                                       // the source saw the path gone
		appendTo(t, path+".1", line("b", event.ReadWrite, 2)) // the writer's open file
		time.Sleep(poll)
		synctest.Wait()
		appendTo(t, path, line("c", event.ReadWrite, 3)) // the writer reopened
		if got := collect(t, out, 2); strings.Join(got, ",") != "b,c" {
			t.Errorf("after the rotation: %v, want b,c", got)
		}
	})
}

// Rotation by logrotate's create: the file moves away and an empty one
// takes its path, the writer still writing to the moved file until it
// reopens. The moved file is read until the new one has data (the writer
// reopened) or the moved one is deleted (compressed away), so that the
// lines written to it meanwhile are not lost.
func TestFileSourceReadsTheMovedFileUntilTheNewOneHasData(t *testing.T) {
	cases := []struct {
		name        string
		beforeNewer func(t *testing.T, moved string) // after the rotation, before the writer writes to the new file
		want        string
	}{
		{"the writer writes on to the moved file", func(t *testing.T, moved string) {
			appendTo(t, moved, line("b", event.ReadWrite, 2))
		}, "b,c"},
		{"the moved file is deleted", func(t *testing.T, moved string) {
			os.Remove(moved)
		}, "c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "events.jsonl")
				appendTo(t, path, "")
				const poll = 10 * time.Millisecond
				out := follow(t, &FileSource{Path: path, Cluster: "c", Poll: poll})
				synctest.Wait()

				appendTo(t, path, line("a", event.ReadWrite, 1))
				if got := collect(t, out, 1); got[0] != "a" {
					t.Fatalf("before the rotation: %v", got)
				}
				os.Rename(path, path+".1")
				appendTo(t, path, "") // logrotate's create
				time.Sleep(poll)
				synctest.Wait() // the source saw the new file
				tc.beforeNewer(t, path+".1")
				time.Sleep(poll)
				synctest.Wait()
				appendTo(t, path, line("c", event.ReadWrite, 3)) // the writer reopened
				time.Sleep(poll)
				synctest.Wait()
				var got []string
				for len(out) > 0 {
					got = append(got, (<-out).Source)
				}
				if strings.Join(got, ",") != tc.want {
					t.Errorf("after the rotation: %v, want %s", got, tc.want)
				}
			})
		})
	}
}

// A line of an event leaderhook does not take is skipped and told of as
// such, not reported as rejected; the lines around it are read. So is it
// on stdin. One is of an eventType leaderhook does not know (one a newer
// OpenZiti adds); one is of leaderhook's own state events (event_src_id
// "leaderhook"), which only replay takes, from a recording: taken live, it
// would be announced as the cluster's state without the view.
func TestSourcesSkipEventsLeaderhookDoesNotTake(t *testing.T) {
	var rejects, skips lineErrors
	inputs := []struct {
		name string
		run  func(ctx context.Context, text string, out chan<- event.Event) error
	}{
		{"file", func(ctx context.Context, text string, out chan<- event.Event) error {
			path := filepath.Join(t.TempDir(), "events.jsonl")
			appendTo(t, path, text)
			src := &FileSource{Path: path, Poll: time.Millisecond, fromStart: true, OnReject: rejects.add, OnSkip: skips.add}
			return src.Run(ctx, out)
		}},
		{"stdin", func(ctx context.Context, text string, out chan<- event.Event) error {
			src := &ReaderSource{R: strings.NewReader(text), Name: "events.jsonl", OnReject: rejects.add, OnSkip: skips.add}
			return src.Run(ctx, out)
		}},
	}
	skipped := []struct{ name, line, why string }{
		{"unknown eventType", line("b", "state.new_in_ziti", 2), `events.jsonl:2: skipped: eventType "state.new_in_ziti"`},
		{"leaderhook's own state", line(event.DetectorSource, event.Leaderless, 2), `events.jsonl:2: skipped: event_src_id "leaderhook" marks leaderhook's own state events`},
	}
	for _, sk := range skipped {
		text := line("a", event.ReadWrite, 1) + sk.line + line("c", event.ReadWrite, 3)
		for _, in := range inputs {
			t.Run(sk.name+"/"+in.name, func(t *testing.T) {
				rejects, skips = lineErrors{}, lineErrors{}
				out := make(chan event.Event, 16)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go in.run(ctx, text, out)
				if got := collect(t, out, 2); strings.Join(got, ",") != "a,c" {
					t.Errorf("events: %v", got)
				}
				if r := rejects.got(); len(r) != 0 {
					t.Errorf("rejected: %q", r)
				}
				if s := skips.got(); len(s) != 1 || !strings.Contains(s[0], sk.why) {
					t.Errorf("skipped: %q", s)
				}
			})
		}
	}
}

// follow runs src until the end of the test, and returns where its events
// go.
func follow(t *testing.T, src *FileSource) chan event.Event {
	src.Prepare()
	out := make(chan event.Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go src.Run(ctx, out)
	return out
}
