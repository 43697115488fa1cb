package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/pipeline"
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

// holdingReceiver fails every request until holdNext is called; it then
// holds the next one until release is closed, and takes it.
type holdingReceiver struct {
	receiver
	mu      sync.Mutex
	hold    bool
	held    chan struct{} // closed once a request is held
	release chan struct{}
}

func newHoldingReceiver() *holdingReceiver {
	return &holdingReceiver{receiver: receiver{failing: true}, held: make(chan struct{}), release: make(chan struct{})}
}

func (r *holdingReceiver) holdNext() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = true
}

func (r *holdingReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	hold := r.hold
	r.hold = false
	r.mu.Unlock()
	if hold {
		r.setFailing(false)
		close(r.held)
		<-r.release
	}
	r.receiver.ServeHTTP(w, req)
}

// A firing's delivery that succeeds while the daemon drains at a stop
// still opens its rule's verification: the state saved at the stop must
// not await a delivery the journal has ended, or after the restart the
// verification waits for good and verify_failed never goes out.
func TestDeliveryEndedInTheDrainOpensItsVerification(t *testing.T) {
	recv := newHoldingReceiver()
	h := verifyHarness(t, recv)
	h.start(Options{DrainTimeout: time.Minute})
	h.loseLeader()
	waitFor(t, "the firing's verification", func() bool { return awaitsDelivery(h) })
	recv.holdNext()
	waitFor(t, "an attempt in flight", func() bool { return isClosed(recv.held) })
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	waitFor(t, "the decisions to stop", func() bool { return errors.Is(h.d.driver.Call(func() {}), pipeline.ErrNotRunning) })
	close(recv.release) // the attempt succeeds in the drain
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recv.deliveries(), func(d delivery) bool { return d.status == "firing" }) {
		t.Fatal("the firing was not delivered in the drain")
	}
	h.start(Options{})
	if awaitsDelivery(h) {
		t.Error("after the restart the verification awaits a delivery that ended in the drain")
	}
	waitFor(t, "verify_failed (no leader came within verify.within)", func() bool {
		return slices.ContainsFunc(recv.deliveries(), func(d delivery) bool { return d.status == "verify_failed" })
	})
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// A kill -9 after a firing's delivery ended, before the state was saved
// with its end: the restart must not let the verification await it for
// good, or verify_failed never goes out. An end the flight recorder has
// is taken again; one it lost (the kill came before its line, or the
// recorder is off) opens the verification's window at the restart.
func TestDeliveryEndReachesTheVerificationAfterACrash(t *testing.T) {
	cases := []struct {
		name     string
		settings string // top-level config keys
		lost     bool   // the recording loses the end
		logged   string // at the restart
	}{
		{"end recorded", "", false, "a delivery's end recorded before the last stop reaches its rule's verification"},
		{"end not recorded yet", "", true, "a delivery's end was lost at the last stop"},
		{"recorder off", "flight_recorder_bytes: 0", true, "a delivery's end was lost at the last stop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			recv := &receiver{failing: true}
			h := verifyHarness(t, recv)
			h.write(map[string]any{"HA": tc.settings})
			h.start(Options{})
			h.loseLeader()
			statePath := filepath.Join(h.dir, "state", "state.log")
			var awaiting []byte
			waitFor(t, "a saved state awaiting the delivery", func() bool {
				awaiting, _ = os.ReadFile(statePath)
				return awaitsDelivery(h) && bytes.Contains(awaiting, []byte(`"awaiting"`))
			})
			recv.setFailing(false)
			waitFor(t, "the delivery's end", func() bool { return !awaitsDelivery(h) })
			if err := h.stop(); err != nil {
				t.Fatal(err)
			}
			// As a kill -9 before the save that followed the end leaves it.
			if err := os.WriteFile(statePath, awaiting, 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.lost {
				dropRecordedEnds(t, filepath.Join(h.dir, "state", InputsFile))
			}
			log := &bufferLog{}
			h.start(Options{Log: log.logger()})
			if awaitsDelivery(h) {
				t.Error("after the restart the verification awaits a delivery the journal has ended")
			}
			if !strings.Contains(log.String(), tc.logged) {
				t.Errorf("the restart's log does not say %q:\n%s", tc.logged, log.String())
			}
			waitFor(t, "verify_failed (no leader came within verify.within)", func() bool {
				return slices.ContainsFunc(recv.deliveries(), func(d delivery) bool { return d.status == "verify_failed" })
			})
		})
	}
}

// dropRecordedEnds removes the delivery ends from the flight recording at
// path, if there is one.
func dropRecordedEnds(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var kept []byte
	for line := range bytes.Lines(data) {
		if !bytes.Contains(line, []byte(`"eventType":"delivered"`)) {
			kept = append(kept, line...)
		}
	}
	if err := os.WriteFile(path, kept, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A firing's delivery still pending at a stop is resumed after the start,
// and its verification keeps waiting for it.
func TestPendingDeliveryKeepsItsVerificationAcrossARestart(t *testing.T) {
	recv := &receiver{failing: true}
	h := verifyHarness(t, recv)
	h.start(Options{})
	h.loseLeader()
	waitFor(t, "the firing's verification", func() bool { return awaitsDelivery(h) })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start(Options{})
	if !awaitsDelivery(h) {
		t.Fatal("after the restart the verification no longer awaits the pending delivery")
	}
	recv.setFailing(false)
	waitFor(t, "verify_failed (no leader came within verify.within)", func() bool {
		return slices.ContainsFunc(recv.deliveries(), func(d delivery) bool { return d.status == "verify_failed" })
	})
}
