package event

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: any input is either decoded into an event that keeps within
// the limits and re-encodes and decodes to the same event, or rejected with
// an error; never a panic.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "openziti-1", "*.jsonl"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, MaxLineBytes)
		for sc.Scan() {
			f.Add(append([]byte(nil), sc.Bytes()...))
		}
	}
	f.Add([]byte(`{"namespace":"cluster","event_src_id":"leaderhook","timestamp":"2026-01-01T00:00:00Z","eventType":"state.is_leaderless","since":"2026-01-01T00:00:00Z","cluster":"x"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := Decode(line)
		if err != nil {
			return
		}
		checkWithinLimits(t, e)
		if s := e.String(); strings.ContainsAny(s, "\n\r\x1b") {
			t.Fatalf("String() is not one plain line: %q", s)
		}
		again, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("decoded %q, re-encoded as %s, which fails: %v", line, again, err)
		}
		if !back.Time.Equal(e.Time) || back.Type != e.Type || back.Source != e.Source || back.LeaderID != e.LeaderID {
			t.Fatalf("round trip changed the event: %+v -> %+v", e, back)
		}
		// The reader accepts the same line.
		r := NewReader(bytes.NewReader(append(line, '\n')), "fuzz", 0)
		if _, err := r.Next(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("reader: %v", err)
		}
	})
}

func checkWithinLimits(t *testing.T, e Event) {
	t.Helper()
	if len(e.Peers) > MaxListLen || len(e.Members) > MaxListLen {
		t.Fatalf("accepted %d peers and %d members", len(e.Peers), len(e.Members))
	}
	for _, s := range append(append([]string{e.Source, e.LeaderID, e.PreviousLeaderID, e.Cluster}, e.Peers...), e.Members...) {
		if len(s) > MaxStringBytes {
			t.Fatalf("accepted a string of %d bytes", len(s))
		}
	}
}
