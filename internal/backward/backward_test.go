package backward

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLastLineEnd(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than one read
	for _, tc := range []struct {
		name, content string
		limit         int64
		end           int64
		found         bool
	}{
		{name: "empty", content: ""},
		{name: "whole lines", content: "a\nbb\n", end: 5, found: true},
		{name: "a torn last line", content: "a\nbb\ncc", end: 5, found: true},
		{name: "one torn line", content: "abc"},
		{name: "a newline further back than a read", content: "a\n" + long, end: 2, found: true},
		{name: "a newline beyond the limit", content: "a\n" + long, limit: 1 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReader(tc.content)
			end, found, err := LastLineEnd(r, int64(len(tc.content)), tc.limit)
			if err != nil || end != tc.end || found != tc.found {
				t.Errorf("got %d, %v, %v; want %d, %v", end, found, err, tc.end, tc.found)
			}
		})
	}
}

func TestLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than one read
	for _, tc := range []struct {
		name, content string
		stopAfter     int // 0: read all
		want          []string
	}{
		{name: "empty", content: "", want: nil},
		{name: "lines", content: "a\nbb\nccc\n", want: []string{"ccc", "bb", "a"}},
		{name: "no last newline", content: "a\nbb", want: []string{"bb", "a"}},
		{name: "blank lines skipped", content: "a\n\nb\n", want: []string{"b", "a"}},
		{name: "stops when told", content: "a\nb\nc\n", stopAfter: 2, want: []string{"c", "b"}},
		{name: "a line longer than a read", content: "a\n" + long + "\nb\n", want: []string{"b", long, "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var got []string
			err := Lines(path, func(line []byte) bool {
				got = append(got, string(line))
				return tc.stopAfter == 0 || len(got) < tc.stopAfter
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %d lines %.40q, err %v; want %.40q", len(got), got, err, tc.want)
			}
		})
	}
	if err := Lines(filepath.Join(t.TempDir(), "none"), func([]byte) bool { return true }); err != nil {
		t.Errorf("no file: %v", err)
	}
}
