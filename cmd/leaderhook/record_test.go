package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// failingWriter fails every write, as a full disk does.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A recording that cannot be written stops record at once, with the error:
// a drill recorded to a full disk must not run on as if it were kept.
func TestRecordStopsWhenItCannotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	cfg := "clusters:\n  - {name: c, source: {type: events, stdin: true}}\nactions: {}\nrules: []\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	stdin, events := io.Pipe() // stays open: the source never ends
	defer events.Close()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"record", "-c", path}, stdin, failingWriter{}, &stderr) }()
	line := `{"namespace":"cluster","event_src_id":"m1","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"m1"}` + "\n"
	if _, err := events.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("exit %d, stderr:\n%s\nwant 1 and the write error", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("record still runs after a failed write")
	}
}

// A recording holds the clusters' members and leaders, as the daemon's
// own files do: it is created 0640 as they are, not readable by everyone.
func TestRecordFileIsNotWorldReadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	cfg := "clusters:\n  - {name: c, source: {type: events, stdin: true}}\nactions: {}\nrules: []\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "drill.jsonl")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"record", "-c", path, "-o", out}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o007 != 0 || perm&^0o640 != 0 {
		t.Errorf("the recording is created %#o, want 0640 (less the umask)", perm)
	}
}

// record does not listen for HTTP: a cluster fed only over HTTP is named
// as not recorded, and with no other cluster record refuses to start
// rather than write an empty file and exit 0.
func TestRecordTellsOfClustersFedOverHTTP(t *testing.T) {
	cases := []struct {
		name, clusters string
		code           int
		stderr         string
	}{
		{"only over HTTP", "  - {name: web, source: {type: events, http: true}}\n", 1,
			"nothing to record: every cluster's events come over HTTP"},
		{"beside stdin", "  - {name: web, source: {type: events, http: true}}\n  - {name: c, source: {type: events, stdin: true}}\n", 0,
			"cluster web is not recorded: its events come over HTTP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(path, []byte("clusters:\n"+tc.clusters+"actions: {}\nrules: []\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"record", "-c", path}, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr:\n%s\nwant %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
		})
	}
}
