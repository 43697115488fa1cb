package lines

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// shortWriter writes at most room bytes more, then fails.
type shortWriter struct {
	bytes.Buffer
	room int
}

var errFull = errors.New("no space left on device")

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) <= w.room {
		w.room -= len(p)
		return w.Buffer.Write(p)
	}
	n, _ := w.Buffer.Write(p[:w.room])
	w.room = 0
	return n, errFull
}

// A write cut short leaves its line torn; the next write, once there is
// room, starts a line of its own. A write that fails before its first
// byte, or that ends on a newline, leaves nothing to set apart.
func TestWriterStartsALineOfItsOwnAfterATornOne(t *testing.T) {
	tests := []struct {
		name   string
		second string
		room   int // for the second write
		want   string
		wantN  int
	}{
		{"torn", "two\n", 2, "one\ntw\nthree\n", 2},
		{"nothing written", "two\n", 0, "one\nthree\n", 0},
		{"whole line, then failed", "two\nfour\n", 4, "one\ntwo\nthree\n", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &shortWriter{room: 4}
			l := NewWriter(w)
			if _, err := l.Write([]byte("one\n")); err != nil {
				t.Fatal(err)
			}
			w.room = tt.room
			if n, err := l.Write([]byte(tt.second)); n != tt.wantN || err == nil {
				t.Errorf("second write: %d, %v; want %d and an error", n, err, tt.wantN)
			}
			w.room = 100
			if n, err := l.Write([]byte("three\n")); n != len("three\n") || err != nil {
				t.Errorf("third write: %d, %v", n, err)
			}
			if got := w.String(); got != tt.want {
				t.Errorf("file %q, want %q", got, tt.want)
			}
		})
	}
}

// A file that ends with a torn line gets the next line on a line of its
// own; an empty one or one that ends whole gets it as is.
func TestAppendSetsApartATornEnd(t *testing.T) {
	tests := []struct{ name, before, want string }{
		{"empty", "", "next\n"},
		{"whole", "one\n", "one\nnext\n"},
		{"torn", "one\ntw", "one\ntw\nnext\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log.jsonl")
			if err := os.WriteFile(path, []byte(tt.before), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Append(f).Write([]byte("next\n")); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if got, _ := os.ReadFile(path); string(got) != tt.want {
				t.Errorf("file %q, want %q", got, tt.want)
			}
		})
	}
}
