package detector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// PollSource polls every member's status endpoint and reports each
// member's answer as an event when it changes. An unreachable member, or
// one that answers an error, reports no leader: it does not agree, so a
// leader is announced only when a majority of members report it.
type PollSource struct {
	Cluster  string
	Members  []string // status URLs
	Preset   Preset
	Interval time.Duration // default 1s, with ±10% jitter
	Timeout  time.Duration // per poll; default interval/2
	Client   *http.Client
	Now      func() time.Time
	Log      *slog.Logger
}

// Run polls until ctx ends.
func (s *PollSource) Run(ctx context.Context, out chan<- event.Event) error {
	p := s.newPoller()
	// Start at a random point of the first interval, so that a daemon
	// with many clusters spreads its polls instead of firing them at once.
	if err := sleep(ctx, time.Duration(rand.Float64()*float64(p.interval))); err != nil {
		return err
	}
	for {
		at, reports := p.pollAll(ctx)
		if err := p.send(ctx, out, at, reports); err != nil {
			return err
		}
		jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(p.interval))
		if err := sleep(ctx, p.interval+jitter); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// poller is a PollSource at work: its settings with defaults applied, and
// what it remembers from one round of polls to the next.
type poller struct {
	cluster           string
	members           []string // status URLs
	preset            Preset
	interval, timeout time.Duration
	client            *http.Client
	now               func() time.Time
	log               *slog.Logger

	names     []string // each member's name; its URL until it first answers
	failing   []string // each member's last poll error, "" when it answers
	last      []string // each member's last report sent
	announced []string // membership last sent
}

func (s *PollSource) newPoller() *poller {
	p := &poller{
		cluster: s.Cluster, members: s.Members, preset: s.Preset,
		interval: s.Interval, timeout: s.Timeout, client: s.Client, now: s.Now, log: s.Log,
		names:   slices.Clone(s.Members),
		failing: make([]string, len(s.Members)),
		last:    make([]string, len(s.Members)),
	}
	if p.interval <= 0 {
		p.interval = time.Second
	}
	if p.timeout <= 0 {
		p.timeout = p.interval / 2
	}
	if p.client == nil {
		p.client = &http.Client{}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// pollAll polls every member at once and returns when they answered, and
// what: a member that fails reports no leader under its last known name.
func (p *poller) pollAll(ctx context.Context) (time.Time, []Report) {
	reports := make([]Report, len(p.members))
	errs := make([]error, len(p.members))
	var wg sync.WaitGroup
	pollCtx, cancel := context.WithTimeout(ctx, p.timeout)
	for i, m := range p.members {
		wg.Go(func() { reports[i], errs[i] = p.preset.Poll(pollCtx, p.client, m) })
	}
	wg.Wait()
	cancel()
	at := p.now()
	for i, err := range errs {
		if err != nil {
			p.failed(i, err)
			reports[i] = Report{Self: p.names[i]}
			continue
		}
		if p.failing[i] != "" {
			p.log.Info("member poll answers again", "cluster", p.cluster, "member", p.members[i])
			p.failing[i] = ""
		}
		if reports[i].Self != "" {
			p.names[i] = reports[i].Self
		}
		reports[i].Self = p.names[i]
	}
	return at, reports
}

// failed logs a member's failure once, not at every poll.
func (p *poller) failed(i int, err error) {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = fmt.Sprintf("no answer within %s (source.timeout)", p.timeout)
	}
	if msg != p.failing[i] {
		p.log.Warn("member poll failed; counted as not agreeing", "cluster", p.cluster, "member", p.members[i], "err", msg)
		p.failing[i] = msg
	}
}

// send sends the membership if it changed, then each report that changed.
func (p *poller) send(ctx context.Context, out chan<- event.Event, at time.Time, reports []Report) error {
	// The membership is the members' names, or their URLs until they
	// first answer. It is announced before the reports that use a new
	// name, so that the view replaces a member known by its URL
	// instead of counting it as one more member that follows nobody.
	if members := memberNames(p.names); !slices.Equal(members, p.announced) {
		p.announced = members
		ev := event.Event{Type: event.MembersChanged, Time: at, Cluster: p.cluster, Peers: members, Index: uint64(at.UnixNano())}
		if err := sendEvent(ctx, out, ev); err != nil {
			return err
		}
	}
	for i, r := range reports {
		key := r.Self + "\x00" + r.Leader
		if key == p.last[i] {
			continue
		}
		p.last[i] = key
		ev := event.Event{Source: r.Self, Time: at, Type: event.Leaderless, Cluster: p.cluster}
		if r.Leader != "" {
			ev.Type, ev.LeaderID = event.HasLeader, r.Leader
		}
		if err := sendEvent(ctx, out, ev); err != nil {
			return err
		}
	}
	return nil
}

func sendEvent(ctx context.Context, out chan<- event.Event, ev event.Event) error {
	select {
	case out <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// memberNames returns names sorted, without repeats.
func memberNames(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
