package detector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/leaderhook/leaderhook/event"
)

// PollSource polls each member's status endpoint on its own schedule, so
// that a slow member delays only itself, and reports what each member
// says when it changes. A member that gives no answer is evidence of a
// kind:
//
//   - nothing listens at its address (connection refused): its process is
//     gone, reported at once as member.down;
//   - no answer in time, an error, a 5xx: its state is not known; its last
//     report stands for Grace, then it is reported as member.unknown.
//
// Besides polling, the source holds a connection open to each member
// (Watch): when it breaks and a new one is refused, the member is down at
// once, without waiting for the next poll. After any member goes down or
// its report changes, every member is polled at once and then every
// FastInterval until a majority agrees on a leader again.
//
// The first round's reports go out together once every member has been
// polled once (answered or failed), after the whole membership and dated
// then: the view's first verdict is made from every member, not from the
// few polled first, and a member down at start counts as a member down.
type PollSource struct {
	Cluster  string
	Members  []string // status URLs
	Preset   Preset
	Interval time.Duration // default 1s, with ±10% jitter
	// Timeout bounds one poll; default 2×Interval, at least 1s: a busy
	// member that answers late is not a lost member.
	Timeout time.Duration
	// Grace is how long a member may give no answer before it is reported
	// unknown; default 3×Interval, at least 1s.
	Grace time.Duration
	// FastInterval is the time between polls while the cluster changes;
	// default 100ms (at most Interval).
	FastInterval time.Duration
	Watch        bool // hold a connection to each member
	Client       *http.Client
	Dialer       Dialer // for Watch; default net.Dialer
	Now          func() time.Time
	Log          *slog.Logger
}

// Run polls until ctx ends.
func (s *PollSource) Run(ctx context.Context, out chan<- event.Event) error {
	return s.newCluster(out).run(ctx, s)
}

func (c *polledCluster) run(ctx context.Context, s *PollSource) error {
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Go(func() { c.poll(ctx, m) })
		if s.Watch {
			wg.Go(func() { c.watch(ctx, m) })
		}
	}
	wg.Wait()
	return ctx.Err()
}

// polledCluster is a PollSource at work: its settings with defaults
// applied, and what it knows of each member.
type polledCluster struct {
	name           string
	preset         Preset
	interval, fast time.Duration
	timeout, grace time.Duration
	client         *http.Client
	tls            *tls.Config // the polls' TLS settings, for the watch; nil without
	dialer         Dialer
	now            func() time.Time
	log            *slog.Logger
	out            chan<- event.Event
	members        []*polledMember
	mu             sync.Mutex    // over what follows, and the members' state
	announced      []string      // membership last sent
	lastIndex      uint64        // of the membership last sent
	fastUntil      time.Time     // poll every fast interval until then
	kick           chan struct{} // closed to have every member polled at once
	kicked         time.Time     // when a changed report last had every member polled

	// sendMu orders the sends, so that the first round's reports go out
	// before any later one; it is taken before mu, never under it.
	sendMu   sync.Mutex
	unpolled int           // members not polled once yet; under sendMu
	held     []event.Event // reports of the first round until it ends; under sendMu
}

// polledMember is what the source knows of one member.
type polledMember struct {
	url      string
	shown    string    // its URL with any password hidden: for names, logs and errors
	name     string    // its name; its shown URL until it first answers
	last     string    // its last report sent ("" before any)
	leader   string    // whom it last said it follows
	failing  time.Time // since when it gives no answer; zero when it answers
	reported string    // "down" or "unknown" once reported so; "" otherwise
	logged   string    // the last failure logged
	polled   bool      // polled once at least; under sendMu
}

func (s *PollSource) newCluster(out chan<- event.Event) *polledCluster {
	c := &polledCluster{name: s.Cluster, preset: s.Preset, interval: s.Interval, timeout: s.Timeout, grace: s.Grace,
		fast: s.FastInterval, client: s.Client, dialer: s.Dialer, now: s.Now, log: s.Log, out: out, kick: make(chan struct{})}
	c.defaults()
	// A copy, through Clone: the transport writes to its own settings on
	// its first request (shared by other sources, it may be under way), and
	// Clone waits for that.
	if t, ok := c.client.Transport.(*http.Transport); ok {
		c.tls = t.Clone().TLSClientConfig
	}
	for _, u := range s.Members {
		shown := MemberName(u)
		c.members = append(c.members, &polledMember{url: u, shown: shown, name: shown})
	}
	c.unpolled = len(c.members)
	return c
}

func (c *polledCluster) defaults() {
	if c.interval <= 0 {
		c.interval = time.Second
	}
	if c.timeout <= 0 {
		c.timeout = max(2*c.interval, time.Second)
	}
	if c.grace <= 0 {
		c.grace = max(3*c.interval, time.Second)
	}
	if c.fast <= 0 {
		c.fast = 100 * time.Millisecond
	}
	c.fast = min(c.fast, c.interval)
	if c.client == nil {
		c.client = &http.Client{Transport: pollTransport, CheckRedirect: sameHostOnly}
	}
	if c.dialer == nil {
		c.dialer = defaultDialer
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
}

// poll polls one member until ctx ends: at once when kicked, every fast
// interval while the cluster changes, every interval otherwise.
func (c *polledCluster) poll(ctx context.Context, m *polledMember) {
	// Start at a random point of the first interval, so that a daemon
	// with many clusters spreads its polls instead of sending them at once.
	wait := time.Duration(rand.Float64() * float64(c.interval))
	for {
		timer := time.NewTimer(wait)
		c.mu.Lock()
		kick := c.kick
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-kick:
			timer.Stop()
		}
		report, err := c.ask(ctx, m)
		if ctx.Err() != nil {
			return
		}
		c.heard(ctx, m, report, err)
		c.polledOnce(ctx, m)
		wait = c.nextWait()
	}
}

func (c *polledCluster) ask(ctx context.Context, m *polledMember) (Report, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r, err := c.preset.Poll(ctx, c.client, m.url)
	if err != nil && m.shown != m.url {
		err = hideURL(err, m.url)
	}
	if err == nil {
		err = checkReport(r)
	}
	return r, err
}

// checkReport holds a member's answer to the limits of an event sent over
// HTTP: its ids are kept in state and history and go into every
// notification, and a member must not make them grow without bound.
func checkReport(r Report) error {
	for _, f := range []struct{ what, id string }{{"itself", r.Self}, {"its leader", r.Leader}} {
		if len(f.id) > event.MaxStringBytes {
			return fmt.Errorf("the answer names %s with an id %d bytes long, over the limit of %d", f.what, len(f.id), event.MaxStringBytes)
		}
	}
	return nil
}

// MemberName is how a polled member is named until it names itself: its
// URL, with the password of a URL that carries one (rqlite's basic auth)
// hidden, since the name is shown in /v1/state, logs and notifications.
// A URL that url.Parse refuses, or reads no user info from though it
// holds an '@' (a '/', '?' or '#' in a password ends the host early),
// has its password hidden by hand (see passwordSpan).
func MemberName(member string) string {
	u, err := url.Parse(member)
	switch {
	case err == nil && u.User != nil:
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		return member
	case err == nil && !strings.Contains(member, "@"):
		return member
	}
	from, to, ok := passwordSpan(member)
	if !ok {
		return member
	}
	return member[:from] + "xxxxx" + member[to:]
}

// passwordSpan returns where the password of a URL that does not parse
// as one with user info may lie: from the first ':' after the scheme's
// "://" to the last '@'. The '@' that ends a password cannot be told from
// one after it, so the span runs to the last, hiding too much rather than
// too little. ok is false without such a ':' and '@'.
func passwordSpan(member string) (from, to int, ok bool) {
	to = strings.LastIndex(member, "@")
	if to < 0 {
		return 0, 0, false
	}
	start := 0
	if i := strings.Index(member[:to], "://"); i >= 0 {
		start = i + len("://")
	}
	colon := strings.IndexByte(member[start:to], ':')
	if colon < 0 {
		return 0, 0, false
	}
	return start + colon + 1, to, true
}

// hideURL hides the password of a member's URL in an error that shows the
// URL (or a URL made from it), as MemberName does.
func hideURL(err error, member string) error {
	u, perr := url.Parse(member)
	if perr != nil || u.User == nil {
		// A password the URL may hold was not sent as one, and the error
		// may show parts of it anywhere (as a host, a port): it is
		// replaced whole.
		msg := fmt.Sprintf("%s cannot be polled (the error is not shown: its URL has an '@' that does not end "+
			"a user and password, and may hold a password; percent-encode a '/', '?' or '#' in the password: "+
			"%%2F, %%3F, %%23, and an '@' after the host: %%40)", MemberName(member))
		return &redactedError{msg: msg, cause: err}
	}
	shown := url.UserPassword(u.User.Username(), "xxxxx").String() + "@"
	msg := strings.ReplaceAll(err.Error(), u.User.String()+"@", shown)
	return &redactedError{msg: msg, cause: err}
}

// nextWait is the time until a member's next poll.
func (c *polledCluster) nextWait() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.fastUntil) {
		return c.fast
	}
	jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(c.interval))
	return c.interval + jitter
}

// heard handles a poll's result: a report, or a failure of one kind or
// the other.
func (c *polledCluster) heard(ctx context.Context, m *polledMember, r Report, err error) {
	at := c.now()
	switch {
	case err == nil:
		c.answered(ctx, m, r, at)
	case refused(err):
		c.down(ctx, m, at, err)
	default:
		c.unanswered(ctx, m, at, err)
		if reset(err) {
			c.hurry() // a kept connection the member had closed: ask again soon, on a new one
		}
	}
}

// answered sends a member's report if it changed, with the membership
// first if the member's name is new.
func (c *polledCluster) answered(ctx context.Context, m *polledMember, r Report, at time.Time) {
	c.mu.Lock()
	if m.reported != "" || m.logged != "" {
		c.log.Info("member poll answers again", "cluster", c.name, "member", m.shown)
	}
	m.failing, m.reported, m.logged = time.Time{}, "", ""
	if r.Self != "" {
		m.name = r.Self
	}
	events := c.membership(at)
	// A new term is news even with the same leader: a deposed leader that
	// still claims the lead shows in its term.
	key := fmt.Sprint(m.name, "\x00", r.Leader, "\x00", r.Term)
	changed := key != m.last
	// A changed report (not a first one) has every member asked at once:
	// the others' last reports, an old leader's claim among them, may be
	// an interval old. At most once a fast interval, for a member whose
	// report changes at every poll.
	kick := changed && m.last != "" && !at.Before(c.kicked.Add(c.fast))
	if changed {
		m.last, m.leader = key, r.Leader
		ev := event.Event{Source: m.name, Time: at, Type: event.Leaderless, Cluster: c.name, Term: r.Term}
		if r.Leader != "" {
			ev.Type, ev.LeaderID = event.HasLeader, r.Leader
		}
		events = append(events, ev)
		c.changing(at)
	}
	if kick {
		c.kicked = at
	}
	c.mu.Unlock()
	c.send(ctx, events...)
	if kick {
		c.kickAll()
	}
}

// down reports a member whose process is gone, at once, and has every
// member polled again: the cluster is changing.
func (c *polledCluster) down(ctx context.Context, m *polledMember, at time.Time, err error) {
	c.mu.Lock()
	c.logFailure(m, err)
	first := m.reported != "down"
	if first {
		m.reported, m.last, m.leader = "down", "", ""
		c.changing(at)
	}
	c.mu.Unlock()
	if first {
		c.send(ctx, event.Event{Source: m.name, Time: at, Type: event.MemberDown, Cluster: c.name, Reason: reason(err, c.timeout)})
		c.kickAll()
	}
}

// unanswered reports a member unknown once it has given no answer for the
// grace period; until then its last report stands.
func (c *polledCluster) unanswered(ctx context.Context, m *polledMember, at time.Time, err error) {
	c.mu.Lock()
	c.logFailure(m, err)
	if m.failing.IsZero() {
		m.failing = at
	}
	due := m.reported == "" && at.Sub(m.failing) >= c.grace
	if due {
		m.reported, m.last = "unknown", ""
	}
	c.mu.Unlock()
	if due {
		c.send(ctx, event.Event{Source: m.name, Time: at, Type: event.MemberUnknown, Cluster: c.name, Reason: reason(err, c.timeout)})
	}
}

// logFailure logs a member's failure once, not at every poll. Callers
// hold mu.
func (c *polledCluster) logFailure(m *polledMember, err error) {
	if msg := reason(err, c.timeout); msg != m.logged {
		c.log.Warn("member poll failed", "cluster", c.name, "member", m.shown, "err", msg)
		m.logged = msg
	}
}

// changing notes that the cluster is changing: members are polled every
// fast interval until a majority agrees on a leader again. Callers hold mu.
func (c *polledCluster) changing(at time.Time) {
	if c.agreed() {
		c.fastUntil = time.Time{}
		return
	}
	c.fastUntil = at.Add(max(3*c.interval, 3*time.Second))
}

// agreed reports whether a majority of the members last said they follow
// the same leader, one not found down: survivors still naming a killed
// leader are about to elect another, and are polled fast until they have.
// Callers hold mu.
func (c *polledCluster) agreed() bool {
	votes := map[string]int{}
	down := map[string]bool{}
	for _, m := range c.members {
		if m.leader != "" && m.reported == "" {
			votes[m.leader]++
		}
		if m.reported == "down" {
			down[m.name] = true
		}
	}
	for leader, n := range votes {
		if n*2 > len(c.members) && !down[leader] {
			return true
		}
	}
	return false
}

// membership returns the members.changed event to send before a report,
// if the membership changed: the members' names, or their URLs until they
// first answer. It goes before the reports that use a new name, so that
// the view replaces a member known by its URL instead of counting it as
// one more member that follows nobody. Callers hold mu.
func (c *polledCluster) membership(at time.Time) []event.Event {
	names := c.names()
	if slices.Equal(names, c.announced) {
		return nil
	}
	return []event.Event{c.membersEvent(at, names)}
}

// names returns the members' names, sorted. Callers hold mu.
func (c *polledCluster) names() []string {
	names := make([]string, 0, len(c.members))
	for _, m := range c.members {
		names = append(names, m.name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// membersEvent returns the members.changed event of names, to be sent.
// Callers hold mu.
func (c *polledCluster) membersEvent(at time.Time, names []string) event.Event {
	c.announced = names
	c.lastIndex = max(c.lastIndex+1, uint64(at.UnixNano()))
	return event.Event{Type: event.MembersChanged, Time: at, Cluster: c.name, Peers: names, Index: c.lastIndex}
}

// send sends events, or holds them while the first round goes on.
func (c *polledCluster) send(ctx context.Context, events ...event.Event) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if c.unpolled > 0 {
		c.held = append(c.held, events...)
		return
	}
	c.deliver(ctx, events)
}

// polledOnce notes that m has been polled. After the last member's first
// poll it sends what the first round found, dated now (dated when heard,
// the first reports would bring the view's verdict due before the last),
// after the whole membership in place of those held: a member down at
// start is then one member of all, not all the members the view knows.
func (c *polledCluster) polledOnce(ctx context.Context, m *polledMember) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if m.polled {
		return
	}
	m.polled = true
	if c.unpolled--; c.unpolled > 0 {
		return
	}
	at := c.now()
	c.mu.Lock()
	events := []event.Event{c.membersEvent(at, c.names())}
	c.mu.Unlock()
	for _, ev := range c.held {
		if ev.Type != event.MembersChanged {
			ev.Time = at
			events = append(events, ev)
		}
	}
	c.held = nil
	c.deliver(ctx, events)
}

// deliver sends events in order until ctx ends. Callers hold sendMu.
func (c *polledCluster) deliver(ctx context.Context, events []event.Event) {
	for _, ev := range events {
		select {
		case c.out <- ev:
		case <-ctx.Done():
			return
		}
	}
}

// kickAll has every member polled at once.
func (c *polledCluster) kickAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.kick)
	c.kick = make(chan struct{})
}

// hurry has the next polls come after the fast interval.
func (c *polledCluster) hurry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if soon := c.now().Add(c.fast); soon.After(c.fastUntil) {
		c.fastUntil = soon
	}
}

// reason says in a few words why a member gave no answer.
func reason(err error, timeout time.Duration) string {
	switch {
	case refused(err):
		return "connection refused: nothing listens at the member's address"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s (source.timeout)", timeout)
	}
	// An event's strings are bounded: a long error (URLs, a member's
	// answer) is cut rather than the event refused.
	msg := err.Error()
	if len(msg) > event.MaxStringBytes {
		msg = strings.ToValidUTF8(msg[:event.MaxStringBytes-3], "") + "..."
	}
	return msg
}
