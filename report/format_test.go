package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestFormats writes figures as text and as JSON and compares them with
// testdata/*.golden (go test ./report -update rewrites them).
func TestFormats(t *testing.T) {
	states := []event.Event{
		baseline(lost("2s", "0s", "")), leader("3s", "n1", ""),
		lost("102s", "100s", "n1"), leader("130.5s", "n2", "n1"),
		leader("140s", "n3", "n2"), leader("150s", "n1", "n3"),
		lost("3h2s", "3h", "n1"),
	}
	h := Histories(states, nil)[0]
	whole := Period{From: at("0s"), To: at("3h1m")}
	quiet := Period{From: at("1h"), To: at("2h")} // nothing happened: no elections
	figs := []Figures{h.Figures(whole, Flapping{Changes: 3, Window: 10 * time.Minute}), h.Figures(quiet, Flapping{Changes: 3, Window: 10 * time.Minute})}
	plus1 := time.FixedZone("+01", 3600)
	for _, c := range []struct {
		golden string
		write  func(w *bytes.Buffer) error
	}{
		{"text.golden", func(w *bytes.Buffer) error { return WriteText(w, figs, plus1) }},
		{"json.golden", func(w *bytes.Buffer) error { return WriteJSON(w, figs, plus1) }},
	} {
		var buf bytes.Buffer
		if err := c.write(&buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", c.golden)
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs (go test ./report -update rewrites it); got:\n%s", path, buf.String())
		}
	}
}

func TestPercent(t *testing.T) {
	cases := []struct {
		a       float64
		outages int
		want    string
	}{
		{1, 0, "100 %"},
		{0.99996, 1, "99.99 %"}, // never rounded up to 100
		{0.9998, 1, "99.98 %"},
		{0, 1, "0.00 %"},
		{1, 1, "99.99 %"},         // an outage of no length
		{1 - 1e-14, 1, "99.99 %"}, // too short to tell from 1 in floating point
	}
	for _, c := range cases {
		if got := percent(c.a, c.outages); got != c.want {
			t.Errorf("percent(%v, %d outages) = %q, want %q", c.a, c.outages, got, c.want)
		}
	}
}

// TestNoHundredPercentWithAnOutage: a loss at the last instant of a closed
// period (an outage of no length) or one of 100ns in 30 days is an outage
// listed; the availability shown is not 100 %.
func TestNoHundredPercentWithAnOutage(t *testing.T) {
	for _, length := range []time.Duration{0, 100 * time.Nanosecond} {
		p := Period{From: t0, To: t0.Add(30 * 24 * time.Hour), Closed: true}
		h := History{Cluster: "c", Watched: t0, Losses: []Loss{{Start: p.To.Add(-length), KnownStart: true}}}
		f := h.Figures(p, Flapping{})
		if len(f.Outages) != 1 {
			t.Fatalf("outages %v, want the loss at %v", f.Outages, p.To.Add(-length))
		}
		var b bytes.Buffer
		if err := WriteText(&b, []Figures{f}, time.UTC); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "availability  100") || !strings.Contains(b.String(), "availability  99.99 %") {
			t.Errorf("an outage of %v in 30 days:\n%s", length, b.String())
		}
	}
}
