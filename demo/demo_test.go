package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
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

// `leaderhook demo --ha`: the group's leader killed during the outage, the
// page still arrives, once, from the leader the others elected; the
// resolve too.
func TestDemoHA(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunHA(ctx, &out, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if ids := res.IDs("leaderless-3s", "firing"); len(ids) != 1 {
		t.Errorf("page delivery ids %v, want one", ids)
	}
	if ids := res.IDs("leaderless-3s", "resolved"); len(ids) != 1 {
		t.Errorf("resolve delivery ids %v, want one", ids)
	}
	if res.Killed == "" || !res.LostAt.Before(res.KilledAt) || !res.KilledAt.Before(res.BackAt) {
		t.Fatalf("killed %q at %s; loss at %s, back at %s", res.Killed, res.KilledAt, res.LostAt, res.BackAt)
	}
	// The killed node led until it was killed; another took the lead
	// during the outage and delivered the page.
	var before, during string
	for _, l := range res.Leads {
		switch {
		case l.At.Before(res.KilledAt):
			before = l.Node
		case l.At.Before(res.BackAt) && during == "":
			during = l.Node
		}
	}
	if before != res.Killed || during == "" || during == res.Killed {
		t.Errorf("leads %v: want %s until the kill, another during the outage", res.Leads, res.Killed)
	}
	for _, d := range res.Deliveries {
		if d.Rule == "leaderless-3s" && (d.Node != during || d.At.Before(res.KilledAt) || d.Status == "firing" && d.At.After(res.BackAt)) {
			t.Errorf("delivery %+v; %s killed at %s, %s leads after it", d, res.Killed, res.KilledAt.Format(clockLayout), during)
		}
	}
	fired := 0
	for _, o := range res.Outcomes {
		if o.Rule == "leaderless-3s" && o.Kind == "fired" {
			fired++
			if o.LeaderlessFor != 3*time.Second {
				t.Errorf("leaderless-3s fired after %s", o.LeaderlessFor)
			}
		}
	}
	if fired != 1 {
		t.Errorf("leaderless-3s fired %d times", fired)
	}
	if want := "page delivered once by " + during + " after " + res.Killed + " was killed"; !strings.Contains(out.String(), want) {
		t.Errorf("no %q in:\n%s", want, out.String())
	}
}

// cancelOn is the demo's output: it cancels the demo (as Ctrl-C does) when
// the output first holds mark.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	mark   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.mark != "" && strings.Contains(c.buf.String(), c.mark) {
		c.mark = ""
		c.cancel()
	}
	return len(p), nil
}

func (c *cancelOn) String() string { c.mu.Lock(); defer c.mu.Unlock(); return c.buf.String() }

// Stopped (Ctrl-C) once the cluster has its leader, the demo ends at
// once: it neither goes on breaking the cluster nor says it does.
func TestDemoStoppedSaysNothingMore(t *testing.T) {
	for _, tc := range []struct {
		name string
		mark string // the line after which the demo is stopped
		run  func(context.Context, io.Writer) error
	}{
		{"demo", "is the leader\n", func(ctx context.Context, w io.Writer) error {
			_, err := Run(ctx, w, slog.New(slog.DiscardHandler))
			return err
		}},
		{"demo --ha", "is the raft cluster's leader\n", func(ctx context.Context, w io.Writer) error {
			_, err := RunHA(ctx, w, slog.New(slog.DiscardHandler))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &cancelOn{mark: tc.mark, cancel: cancel}
			if err := tc.run(ctx, out); !errors.Is(err, context.Canceled) {
				t.Fatalf("stopped demo: %v, want context.Canceled\n%s", err, out)
			}
			_, after, _ := strings.Cut(out.String(), tc.mark)
			if strings.Contains(after, "▶") {
				t.Errorf("steps announced after the demo was stopped:\n%s", after)
			}
		})
	}
}
