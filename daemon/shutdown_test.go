package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/leaderhook/leaderhook/store"
)

// A stop saves the position of a followed file only past the events the
// pipeline took: those read into its queue but not yet taken when the
// stop came are taken before the final save, not skipped at the next start.
func TestStopTakesTheEventsReadBeforeSavingThePosition(t *testing.T) {
	h := newHarness(t, sourcesConfig, map[string]any{"Files": []string{"f"}})
	path := filepath.Join(h.dir, "f.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	held, release := make(chan struct{}), make(chan struct{})
	go h.d.call(func() { close(held); <-release }) // the pipeline takes nothing
	<-held
	const lines = 20
	for i := range lines {
		appendLine(t, path, ev(fmt.Sprintf("m%02d", i), "state.has_leader", "m00"))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the source to read every line", func() bool { return h.d.sources.positions.get(path).Offset == info.Size() })
	h.cancel()
	close(release)
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.cancel = nil
	h.d.Close()
	st, err := store.Open(filepath.Join(h.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	saved, _, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	if pos, reports := saved.Files[path].Offset, len(saved.Views["f"].Reports); pos == info.Size() && reports != lines {
		t.Errorf("saved position at the file's end, past %d events the pipeline never took", lines-reports)
	}
}

// A save while the sources run records a followed file's position only
// past events the saved state holds: those queued but not yet taken are
// taken first, so that a crash right after the save skips none of them.
func TestSaveTakesTheEventsReadBeforeThePosition(t *testing.T) {
	h := newHarness(t, sourcesConfig, map[string]any{"Files": []string{"f"}})
	path := filepath.Join(h.dir, "f.jsonl")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	const lines = 20
	var st store.State
	var size int64
	h.d.call(func() { // the pipeline takes nothing meanwhile
		for i := range lines {
			appendLine(t, path, ev(fmt.Sprintf("m%02d", i), "state.has_leader", "m00"))
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		size = info.Size()
		waitFor(t, "the source to read every line", func() bool { return h.d.sources.positions.get(path).Offset == size })
		st = h.d.saver.current() // what a save now would write
	})
	// The pipeline's loop may hold one event it received before the test
	// held the pipeline: it takes it the moment the pipeline is free.
	if pos, reports := st.Files[path].Offset, len(st.Views["f"].Reports); pos == size && reports < lines-1 {
		t.Errorf("position at the file's end, past %d events the state lacks", lines-reports)
	}
}
