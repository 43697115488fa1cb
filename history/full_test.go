package history

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/internal/diskfull"
)

// A flush cut short by a full disk (here: the file size limit) tears its
// line; the entry written once there is room starts a line of its own
// and is read back after a restart.
func TestHistoryEntryAfterATornFlushIsKept(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	var failures atomic.Int64
	s, err := Open(Options{Dir: dir, MaxAge: 7 * 24 * time.Hour, MaxBytes: 1 << 30, Now: clk.Now,
		OnError: func(error) { failures.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Add(outcome(t0, 1))
	waitFor(t, "the first entry written", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.flushed == s.seq
	})
	restore := diskfull.Limit(t, dirSize(t, dir)+40)
	s.Add(outcome(t0.Add(time.Second), 2))
	waitFor(t, "the second entry failed", func() bool { return failures.Load() > 0 })
	restore()
	s.Add(outcome(t0.Add(2*time.Second), 3))
	s.Close()
	s = open(t, dir, clk, 7*24*time.Hour, 1<<30)
	defer s.Close()
	if got, want := kept(t, s, t0.Add(-time.Hour), t0.Add(time.Hour)), []int{1, 3}; !slices.Equal(got, want) {
		t.Errorf("kept %v after a restart, want %v", got, want)
	}
}

// waitFor waits for cond, failing the test after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
