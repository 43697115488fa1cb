package history

import (
	"testing"
	"time"
)

// A quiet cluster's state and open split brain, whose own entries were
// in a segment since dropped (by the size bound while a busy cluster
// filled the store, or by a max_age shorter than the window viewed),
// survive as the checkpoints of the later segments: a window that began
// before them still holds them, in its states and splits, with
// ?cluster= and in an overview, each once.
func TestHistoryKeepsAQuietClusterWhoseEntriesWerePruned(t *testing.T) {
	tests := []struct {
		name     string
		maxAge   time.Duration
		maxBytes int64
		every    time.Duration
		busy     int
	}{
		{"size", 7 * 24 * time.Hour, 64 << 10, time.Second, 5000},
		{"age", time.Hour, 1 << 30, time.Minute, 3 * 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &fakeClock{now: t0}
			s := open(t, dir, clk, tt.maxAge, tt.maxBytes)
			s.AddWait(state(t0, "b", "m1"))
			s.AddWait(split(t0, "b", "m1", "m2"))
			at := t0
			for i := range tt.busy {
				at = t0.Add(time.Duration(i+1) * tt.every)
				clk.set(at)
				s.AddWait(outcome(at, i))
			}
			s.Close()
			if w, _ := s.Query(t0, at, Filter{}); !w.KeptFrom.After(t0) {
				t.Fatalf("nothing was pruned: kept from %v", w.KeptFrom)
			}
			from := at.Add(-6 * time.Hour)
			for _, f := range []Filter{{}, {Cluster: "b"}, {Step: time.Minute}} {
				w, err := s.Query(from, at, f)
				if err != nil {
					t.Fatal(err)
				}
				states := clusterStates(w.States, "b")
				if f.Step > 0 {
					states = nil
					for _, sp := range w.Spans {
						if sp.Cluster == "b" {
							states = append(states, State{LeaderID: sp.LeaderID})
						}
					}
				}
				if len(states) != 1 || states[0].LeaderID != "m1" {
					t.Errorf("filter %+v: cluster b's states (or spans) %+v, want its leader m1 once", f, states)
				}
				if splits := clusterSplits(w.Splits, "b"); len(splits) != 1 || !splits[0].open() {
					t.Errorf("filter %+v: cluster b's splits %+v, want its open split brain once", f, splits)
				}
			}
		})
	}
}

func clusterStates(states []State, cluster string) []State {
	var out []State
	for _, st := range states {
		if st.Cluster == cluster {
			out = append(out, st)
		}
	}
	return out
}

func clusterSplits(splits []Split, cluster string) []Split {
	var out []Split
	for _, sp := range splits {
		if sp.Cluster == cluster {
			out = append(out, sp)
		}
	}
	return out
}
