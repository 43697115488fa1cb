package demo

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// The demo, as `leaderhook demo` runs it, ends by itself and shows what it
// promises: a failover, an outage alert on time, its resolve, all delivered.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, &out, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("the demo took %s", d)
	}
	var fired []string
	for _, o := range res.Outcomes {
		if o.Kind == "fired" {
			fired = append(fired, o.Rule)
		}
		if o.Rule == "leaderless-3s" && o.Kind == "fired" && o.LeaderlessFor != 3*time.Second {
			t.Errorf("leaderless-3s fired after %s", o.LeaderlessFor)
		}
	}
	if !slices.Equal(fired, []string{"leader-changed", "leaderless-3s", "leader-changed"}) &&
		!slices.Equal(fired, []string{"leader-changed", "leaderless-3s"}) {
		t.Errorf("fired %v\n%s", fired, out.String())
	}
	delivered := strings.Join(res.Delivered, ",")
	for _, want := range []string{"firing leader-changed", "firing leaderless-3s", "resolved leaderless-3s"} {
		if !strings.Contains(delivered, want) {
			t.Errorf("the receiver did not get %q: %v", want, res.Delivered)
		}
	}
	if !strings.Contains(out.String(), "LEADER LOST") || !strings.Contains(out.String(), "done:") {
		t.Errorf("timeline:\n%s", out.String())
	}
}
