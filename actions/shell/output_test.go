package shell

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestBoundedBufferMatchesAReference writes in pieces of every size, so
// that the ring wraps at every offset, and compares with the obvious
// implementation that keeps everything.
func TestBoundedBufferMatchesAReference(t *testing.T) {
	const limit = 16
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		b := &boundedBuffer{limit: limit}
		var all []byte
		for range rng.IntN(12) {
			p := make([]byte, rng.IntN(3*limit/2))
			for i := range p {
				p[i] = byte('a' + rng.IntN(26))
			}
			if n, err := b.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write = %d, %v; want %d", n, err, len(p))
			}
			all = append(all, p...)
		}
		want := string(all)
		if len(all) > limit {
			want = fmt.Sprintf("%s\n…[%d bytes cut]…\n%s", all[:limit/2], len(all)-limit, all[len(all)-limit/2:])
		}
		if got := b.String(); got != want {
			t.Fatalf("round %d: %q, want %q", round, got, want)
		}
	}
}

func TestBoundedBufferCutsWholeCharacters(t *testing.T) {
	b := &boundedBuffer{limit: 16}
	// Two bytes each, after one: both halves of 8 bytes end mid-character.
	text := strings.Repeat("é", 40)
	b.Write([]byte("x"))
	b.Write([]byte(text))
	got := b.String()
	if !utf8.ValidString(got) {
		t.Errorf("%q is not valid UTF-8", got)
	}
	head, rest, _ := strings.Cut(got, "\n…[")
	count, tail, _ := strings.Cut(rest, " bytes cut]…\n")
	if len(head)+len(tail)+atoi(t, count) != 1+len(text) {
		t.Errorf("%q: kept and cut bytes do not add up to %d", got, 1+len(text))
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func BenchmarkBoundedBufferShortLines(b *testing.B) {
	line := []byte("a line of output from a chatty script\n")
	buf := &boundedBuffer{limit: outputLimit}
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		buf.Write(line)
	}
}
