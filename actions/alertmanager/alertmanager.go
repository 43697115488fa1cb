// Package alertmanager posts notifications to Prometheus Alertmanagers as
// a client does (POST /api/v2/alerts), so that operators keep their
// routing, grouping, inhibition and silences. The alert of a rule on a
// cluster has the labels alertname (the rule), cluster and the
// notification's labels (the cluster's, the rule's over them); its
// annotations come from templates.
//
// Keeping an alert active: Alertmanager ends an alert at its endsAt, or,
// without one, resolve_timeout after it last heard of it. As Prometheus
// does, every post of a firing alert carries an endsAt four refresh
// periods ahead, and the action posts the alerts it keeps open again every
// refresh period (a goroutine the dispatcher starts and stops, see
// actions.Background). So an alert stays active while its rule fires
// whatever the Alertmanager's resolve_timeout, and ends by itself four
// refreshes after leaderhook stops, rather than firing for ever. Refreshes
// that fail are logged (rate-limited): no delivery reports them. The open
// alerts are kept in the action's memory under state_dir, so that a
// restart goes on refreshing them. A resolve posts the alert with endsAt
// now, and forgets it once every Alertmanager took it (the refreshes post
// it again meanwhile), or once it would have ended by itself. A scheduled
// rule's firing, which no resolve follows, is posted once and not kept
// open: it ends four refreshes later. A firing under labels a reload
// changed ends the alert posted under the old ones (see kept).
//
// An alert goes to every configured Alertmanager at once (they deduplicate
// between themselves); a delivery succeeds when one accepts it. When none
// does, it is retried unless every one refused it for good (4xx).
package alertmanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/event"
)

// leaseRefreshes is how many refresh periods ahead a firing alert's endsAt
// lies: three refreshes may fail before the alert ends.
const leaseRefreshes = 4

// Alert is an alert as POST /api/v2/alerts takes it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Action is an Alertmanager action.
type Action struct {
	name        string
	cfg         Config
	timeout     time.Duration
	client      *http.Client
	annotations map[string]*template.Template
	generator   string // server.external_url
	secrets     actions.Redactor
	memory      *actions.Memory // the open alerts, by cluster and rule
	now         func() time.Time
	log         *slog.Logger

	postMu    sync.Mutex    // a resolve and a refresh of one alert never cross
	refreshes refreshHealth // under postMu

	bgMu sync.Mutex
	stop chan struct{} // nil: the refresher is not running
	done chan struct{}
}

// New builds the action; templates are parsed once, here. The open
// alerts are read from the action's memory under opts.StateDir.
func New(name string, spec actions.Spec, opts actions.Options) (*Action, error) {
	spec, cfg, err := actions.ConfigOf[Config](spec, actions.HTTPDelivery)
	if err != nil {
		return nil, fmt.Errorf("action %s: %w", name, err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("action %s: %s", name, actions.Redact(errs[0].Error(), spec.Secrets()...))
	}
	client := opts.Client
	if client == nil {
		client = webhook.DefaultClient()
	}
	a := &Action{name: name, cfg: cfg, timeout: spec.Timeout, client: client, generator: opts.ExternalURL,
		secrets: actions.NewRedactor(spec.Secrets()...), annotations: map[string]*template.Template{}, now: time.Now, log: opts.Log}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Annotations) == 0 {
		a.annotations = defaultAnnotations
	}
	for name, text := range cfg.Annotations {
		t, err := actions.ParseTemplate("annotations."+name, text)
		if err != nil {
			return nil, fmt.Errorf("action %s: %s", a.name, a.redact(err.Error()))
		}
		a.annotations[name] = t
	}
	// A memory that cannot be read starts empty: the action works, and
	// alerts it had open end at their endsAt.
	a.memory, _ = actions.OpenMemory(opts.StateDir, name)
	return a, nil
}

// defaultAnnotations are the annotations of an action that sets none, and
// what one of these names falls back to when its template fails.
var defaultAnnotations = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for name, text := range map[string]string{
		"summary":     `{{ .Cluster }}: {{ .Summary }}`,
		"description": `Rule {{ .Rule }} {{ .Status }} on cluster {{ .Cluster }}: {{ .Summary }}. Leader: {{ default "none" .LeaderID }}; previous leader: {{ default "none" .PreviousLeaderID }}; members up: {{ .MembersUp }} of {{ .MembersTotal }}.`,
	} {
		m[name] = template.Must(actions.ParseTemplate("annotations."+name, text))
	}
	return m
}()

// Build returns the alert of a notification, active for four refresh
// periods from a firing or its post if later, ended at a resolve, and notes when an annotation
// template failed on it and the default was put in its place, or, for an
// annotation without one, it was left out (see actions.RenderMessage).
// Labels are not templates: they route the alert, and never fall back.
func (a *Action) Build(n *actions.Notification) (al Alert, notes string) {
	al = Alert{Labels: alertLabels(n), Annotations: map[string]string{}, StartsAt: n.Episode, GeneratorURL: a.generator}
	if al.StartsAt.IsZero() {
		al.StartsAt = n.FiredAt
	}
	var noted []string
	for _, name := range slices.Sorted(maps.Keys(a.annotations)) {
		t, def := a.annotations[name], ""
		if d := defaultAnnotations[name]; d != nil && d != t {
			def, _ = actions.RenderMessage(a.name, d, n, "", true)
		}
		// An annotation may be blank, as Alertmanager takes it.
		text, note := actions.RenderMessage(a.name, t, n, def, true)
		if note == "" || def != "" {
			al.Annotations[name] = text
		}
		noted = append(noted, note)
	}
	// From the post, not the decision: a firing delivered late (retried,
	// resumed after a restart) must not reach Alertmanager already ended.
	al.EndsAt = later(n.FiredAt, a.now()).Add(a.lease())
	if n.Status == actions.StatusResolved {
		al.EndsAt = n.FiredAt
	}
	return al, actions.JoinNotes(noted...)
}

func (a *Action) lease() time.Duration { return leaseRefreshes * a.cfg.Refresh }

func later(t, u time.Time) time.Time {
	if u.After(t) {
		return u
	}
	return t
}

// alertLabels are the notification's labels under valid names, then
// alertname and cluster. A label already validly named wins over one
// renamed into the same name (a rule's, always valid, over a cluster's
// app.kubernetes.io/name, say), and renamed ones are taken in order, so
// that a clash always ends the same way.
func alertLabels(n *actions.Notification) map[string]string {
	labels := make(map[string]string, len(n.Labels)+2)
	for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
		if !validLabelName(k) {
			labels[labelName(k)] = n.Labels[k]
		}
	}
	for k, v := range n.Labels {
		if validLabelName(k) {
			labels[k] = v
		}
	}
	labels["alertname"], labels["cluster"] = n.Rule, n.Cluster
	return labels
}

// labelName makes a label's name a valid Prometheus label name.
func labelName(s string) string {
	if validLabelName(s) {
		return s
	}
	b := []rune(s)
	for i, c := range b {
		// A leading digit is kept, and prefixed below.
		if !validLabelName(string(c)) && !('0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || '0' <= b[0] && b[0] <= '9' {
		return "_" + string(b)
	}
	return string(b)
}

// alertKey names an open alert in the memory.
func alertKey(n *actions.Notification) string { return n.Cluster + "\x00" + n.Rule }

// kept is what the memory holds of a rule's alert on a cluster: the alert
// open, and those posted under labels a reload has since replaced. To
// Alertmanager those are other alerts: each post carries their end until
// one is accepted, so a failed post or a restart does not leave them
// active until their endsAt. Resolved, when set: the alert is the
// resolve's, ended, first tried at that time, and some Alertmanager has
// not taken it yet; Settled lists those that took it or refused it for
// good (urlID), so that the refreshes post it until every one is done
// with it, or the alert ended by itself.
type kept struct {
	Alert
	Ending   []Alert   `json:"ending,omitempty"`
	Resolved time.Time `json:"resolved,omitzero"`
	Settled  []string  `json:"settled,omitempty"`
}

// urlID names an Alertmanager in the memory without its URL, which may
// hold a secret.
func urlID(u string) string {
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:8])
}

// settle adds to k.Settled the Alertmanagers that took k's resolve or
// refused it for good, as errs (in the order of the URLs) say. It reports
// whether it added one, and whether every one is done with it now.
func (a *Action) settle(k *kept, errs []error) (changed, all bool) {
	for i, err := range errs {
		id := urlID(a.cfg.URLs[i])
		if (err == nil || actions.IsPermanent(err)) && !slices.Contains(k.Settled, id) {
			k.Settled, changed = append(k.Settled, id), true
		}
	}
	all = !slices.ContainsFunc(a.cfg.URLs, func(u string) bool { return !slices.Contains(k.Settled, urlID(u)) })
	return changed, all
}

// settleResolve notes which Alertmanagers are done with the resolve kept
// as k, as the answers errs to its post say, and forgets it once all are.
func (a *Action) settleResolve(key string, k kept, errs []error) {
	changed, all := a.settle(&k, errs)
	switch {
	case all:
		_ = a.memory.Delete(key)
	case changed:
		_ = a.memory.Put(key, k, a.now())
	}
}

// Run posts the alert once to every Alertmanager. A firing is kept open
// (and refreshed); a resolve ends it.
func (a *Action) Run(ctx context.Context, n *actions.Notification) (actions.Outcome, error) {
	al, notes := a.Build(n)
	out, err := a.deliver(ctx, n, al)
	return out.Noted(a.redact(notes)), err
}

// deliver posts al, kept open or ending the alert.
func (a *Action) deliver(ctx context.Context, n *actions.Notification, al Alert) (actions.Outcome, error) {
	a.postMu.Lock()
	defer a.postMu.Unlock()
	key := alertKey(n)
	var k kept
	open := a.memory.Get(key, &k)
	if n.Status == actions.StatusResolved {
		return a.resolve(ctx, key, al, k, open)
	}
	if n.Episode.IsZero() {
		// A scheduled rule's firing: no resolve follows it, so it is not
		// kept open, and ends at its endsAt, a lease after the post. One
		// an earlier version kept open is let go too.
		out, err := a.post(ctx, []Alert{al})
		if err == nil && open {
			_ = a.memory.Delete(key)
		}
		return out, err
	}
	if open {
		ended := k.Alert
		if k.Resolved.IsZero() {
			ended.EndsAt = n.FiredAt
			if k.StartsAt.Before(al.StartsAt) {
				al.StartsAt = k.StartsAt // a repeat of an alert still open
			}
		}
		// A pending resolve under the same labels is overtaken by this firing.
		if k.Labels != nil && !maps.Equal(k.Labels, al.Labels) {
			k.Ending = append(k.Ending, ended)
		}
	}
	k.Alert, k.Resolved, k.Settled = al, time.Time{}, nil
	_ = a.memory.Put(key, k, a.now()) // not kept: the alert ends at its endsAt
	return a.postKept(ctx, key, k)
}

// resolve ends the alert that is open, labels and startsAt as posted: a
// reload may have changed the labels since. The delivery succeeds once
// an Alertmanager took the end; the alert is forgotten only once every
// one took it (see settle), so that the dispatcher's retry, and the
// refreshes meanwhile, post the same end, to the one of an HA pair that
// missed it too. A refusal for good settles it: it would be refused
// again, and the alert ends at its endsAt at worst.
func (a *Action) resolve(ctx context.Context, key string, al Alert, k kept, open bool) (actions.Outcome, error) {
	if open {
		al.StartsAt = k.StartsAt
		if k.Labels != nil {
			al.Labels = k.Labels
		}
	}
	if k.Resolved.IsZero() {
		k.Resolved = a.now()
	}
	k.Alert = al
	_ = a.memory.Put(key, k, a.now()) // not written down: after a restart the dispatcher's retry ends it
	outs, errs := a.postEach(ctx, append([]Alert{al}, k.Ending...))
	a.settleResolve(key, k, errs)
	return verdict(outs, errs)
}

// postKept posts k's alert and the ends it carries; the ends are
// forgotten once an Alertmanager has taken them.
func (a *Action) postKept(ctx context.Context, key string, k kept) (actions.Outcome, error) {
	out, err := a.post(ctx, append([]Alert{k.Alert}, k.Ending...))
	if err == nil && len(k.Ending) > 0 {
		k.Ending = nil
		_ = a.memory.Put(key, k, a.now())
	}
	return out, err
}

// post sends alerts to every Alertmanager at once, and succeeds when one
// accepts.
func (a *Action) post(ctx context.Context, alerts []Alert) (actions.Outcome, error) {
	return verdict(a.postEach(ctx, alerts))
}

// postEach sends alerts to every Alertmanager at once, each within the
// timeout, and returns their answers in the order of the URLs. They are
// the members of one cluster: one that hangs must not keep the alert from
// the others.
func (a *Action) postEach(ctx context.Context, alerts []Alert) ([]actions.Outcome, []error) {
	outs := make([]actions.Outcome, len(a.cfg.URLs))
	errs := make([]error, len(a.cfg.URLs))
	body, err := json.Marshal(alerts)
	if err != nil {
		for i := range errs {
			errs[i] = actions.Permanent(fmt.Errorf("encode alerts: %w", err))
		}
		return outs, errs
	}
	if dl, ok := ctx.Deadline(); a.timeout > 0 && (!ok || time.Until(dl) > a.timeout) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	var wg sync.WaitGroup
	for i, base := range a.cfg.URLs {
		wg.Go(func() { outs[i], errs[i] = a.postTo(ctx, base, body) })
	}
	wg.Wait()
	return outs, errs
}

// verdict sums up the answers of the Alertmanagers, in the order of the
// URLs so that the outcome does not depend on which answered first.
func verdict(outs []actions.Outcome, errs []error) (actions.Outcome, error) {
	var accepted, last actions.Outcome
	var failed []error
	ok, permanent := false, true
	for i, err := range errs {
		if err == nil {
			if !ok {
				accepted = outs[i]
			}
			ok = true
			continue
		}
		last = outs[i]
		failed = append(failed, err)
		permanent = permanent && actions.IsPermanent(err)
	}
	switch {
	case ok:
		if len(failed) > 0 { // the audit log says which did not take it
			accepted.Detail = fmt.Sprintf("accepted by %d of %d; %v", len(errs)-len(failed), len(errs), errors.Join(failed...))
		}
		return accepted, nil
	case permanent:
		return last, actions.Permanent(errors.Join(failed...))
	}
	// Retried: a refusal for good by one is not the verdict of all.
	return last, &retryLater{msg: errors.Join(failed...).Error(), after: soonestRetryAfter(failed)}
}

// retryLater is the failure of a post that none took but one may take
// later: every Alertmanager's answer, but of their errors only the
// Retry-After the dispatcher must wait for (soonestRetryAfter), and never a
// refusal for good, which would make the failure final.
type retryLater struct {
	msg   string
	after *actions.RetryAfterError // nil: none asked for a wait
}

func (e *retryLater) Error() string { return e.msg }

func (e *retryLater) Unwrap() error {
	if e.after == nil {
		return nil
	}
	return e.after
}

// soonestRetryAfter is the wait the dispatcher must keep before one of the
// Alertmanagers may take the post: the shortest Retry-After when every one
// that may take it later asked for one, else none (one that asked nothing
// may take it at the next backoff). Refusals for good take no part.
func soonestRetryAfter(errs []error) *actions.RetryAfterError {
	var soonest *actions.RetryAfterError
	for _, err := range errs {
		if actions.IsPermanent(err) {
			continue
		}
		r, ok := errors.AsType[*actions.RetryAfterError](err)
		if !ok {
			return nil
		}
		if soonest == nil || r.After < soonest.After {
			soonest = r
		}
	}
	return soonest
}

func (a *Action) postTo(ctx context.Context, base string, body []byte) (actions.Outcome, error) {
	u := alertsURL(base)
	where := a.redact(u)
	return webhook.PostJSON(ctx, a.client, u, where, body, a.redact)
}

// alertsPath is where Alertmanager takes alerts, under its base URL.
const alertsPath = "/api/v2/alerts"

// alertsURL is the alerts endpoint under base, its query kept: a proxy's
// token may be there.
func alertsURL(base string) string {
	u, err := url.Parse(base)
	if err != nil { // refused by Validate
		return strings.TrimRight(base, "/") + alertsPath
	}
	return u.JoinPath(alertsPath).String()
}

func (a *Action) redact(s string) string { return a.secrets.Redact(s) }

// Where lists the Alertmanagers, credentials hidden.
func (a *Action) Where() string {
	where := make([]string, len(a.cfg.URLs))
	for i, u := range a.cfg.URLs {
		where[i] = a.redact(alertsURL(u))
	}
	return strings.Join(where, ", ")
}

// Render shows the alert a run would post to the first Alertmanager (the
// others get the same).
func (a *Action) Render(n *actions.Notification) (actions.Rendering, error) {
	al, notes := a.Build(n)
	body, err := json.Marshal([]Alert{al})
	if err != nil {
		return actions.Rendering{}, err
	}
	r := webhook.JSONRendering(Name, a.Where(), body, a.redact)
	r.Notes = a.redact(notes)
	return r, nil
}

// Start starts posting the open alerts every refresh period, the first
// time at once: after a restart they may be close to their endsAt.
func (a *Action) Start() {
	a.bgMu.Lock()
	defer a.bgMu.Unlock()
	if a.stop != nil {
		return
	}
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go a.refreshLoop(a.stop, a.done)
}

// Stop stops the refreshes and waits for the one under way.
func (a *Action) Stop() {
	a.bgMu.Lock()
	stop, done := a.stop, a.done
	a.stop, a.done = nil, nil
	a.bgMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (a *Action) refreshLoop(stop, done chan struct{}) {
	defer close(done)
	ticker := time.NewTicker(a.cfg.Refresh)
	defer ticker.Stop()
	for {
		a.refreshAll(stop)
		select {
		case <-stop:
			return
		case <-ticker.C:
		}
	}
}

// refreshBatch is how many open alerts a refresh posts at once: one
// Alertmanager that hangs costs a round a timeout per batch, not per
// alert, which with many alerts open would outlast their lease on the
// others.
const refreshBatch = 64

// refreshAll posts every open alert again with its endsAt moved ahead, and
// the ends that are not taken yet, in batches. One that fails is tried
// again at the next refresh, and logged (noteRefresh).
func (a *Action) refreshAll(stop chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var keys []string
	a.memory.Each(func(key string, _ json.RawMessage) { keys = append(keys, key) })
	var round refreshRound
	for len(keys) > 0 && ctx.Err() == nil {
		n := min(len(keys), refreshBatch)
		round.add(a.refreshKeys(ctx, keys[:n]))
		keys = keys[n:]
	}
	if ctx.Err() == nil { // a stop cut it short: no verdict on the Alertmanagers
		a.noteRefresh(round)
	}
}

// refreshRound sums up the posts of one refresh.
type refreshRound struct {
	posts, alerts, failedAlerts int
	err                         error // the first failure
}

func (r *refreshRound) add(alerts int, err error) {
	if alerts == 0 {
		return
	}
	r.posts++
	r.alerts += alerts
	if err != nil {
		r.failedAlerts += alerts
		if r.err == nil {
			r.err = err
		}
	}
}

// refreshLogEvery is how often refreshes that go on failing are logged.
const refreshLogEvery = time.Minute

// refreshHealth is how the refreshes fare, for the log: no delivery
// reports them, and while they fail the open alerts near their endsAt,
// when Alertmanager resolves them however their rules stand.
type refreshHealth struct {
	failingSince time.Time // zero while refreshes get through
	lastLogged   time.Time
	failures     int // refreshes failed since failingSince
}

// noteRefresh logs a refresh that failed, when the refreshes start
// failing and then at most every refreshLogEvery, and the first one that
// gets through after failures.
func (a *Action) noteRefresh(round refreshRound) {
	if round.posts == 0 {
		return
	}
	a.postMu.Lock()
	defer a.postMu.Unlock()
	h, now := &a.refreshes, a.now()
	if round.err == nil {
		if !h.failingSince.IsZero() {
			a.log.Info("refreshing the open alerts works again", "action", a.String(), "failing_since", h.failingSince, "failed_refreshes", h.failures)
		}
		*h = refreshHealth{}
		return
	}
	if h.failingSince.IsZero() {
		h.failingSince = now
	}
	h.failures++
	if h.failures > 1 && now.Sub(h.lastLogged) < refreshLogEvery {
		return
	}
	h.lastLogged = now
	a.log.Warn("refreshing the open alerts failed: no Alertmanager took them, and each ends at its endsAt (a lease after its last refresh taken) however its rule stands",
		"action", a.String(), "alerts", round.failedAlerts, "of", round.alerts, "failing_since", h.failingSince, "failed_refreshes", h.failures,
		"lease", a.lease(), "err", a.redact(round.err.Error()))
}

// refreshKeys posts the alerts kept under keys in one post: those open
// with their endsAt moved ahead, the resolves not taken yet as they were
// (moving their endsAt would bring the alert back), and the ends they
// carry. Once an Alertmanager took them, the ends are forgotten; so is a
// resolve once every Alertmanager took it or refused it for good (see
// settle), or whose alert Alertmanager has ended by itself since (the
// lease of the last refresh before it is over).
// It returns how many alerts it posted, and the post's error.
func (a *Action) refreshKeys(ctx context.Context, keys []string) (int, error) {
	a.postMu.Lock()
	defer a.postMu.Unlock()
	now := a.now()
	posted := map[string]kept{}
	var alerts []Alert
	for _, key := range keys {
		var k kept
		if !a.memory.Get(key, &k) { // resolved meanwhile
			continue
		}
		if !k.Resolved.IsZero() && now.After(k.Resolved.Add(a.lease())) {
			_ = a.memory.Delete(key)
			continue
		}
		if k.Resolved.IsZero() {
			k.EndsAt = now.Add(a.lease())
		}
		posted[key] = k
		alerts = append(append(alerts, k.Alert), k.Ending...)
	}
	if len(alerts) == 0 {
		return 0, nil
	}
	outs, errs := a.postEach(ctx, alerts)
	_, err := verdict(outs, errs)
	for key, k := range posted {
		if !k.Resolved.IsZero() {
			a.settleResolve(key, k, errs)
			continue
		}
		if err == nil && len(k.Ending) > 0 {
			k.Ending = nil
			_ = a.memory.Put(key, k, a.now())
		}
	}
	return len(alerts), err
}

// String names the action in logs.
func (a *Action) String() string {
	return Name + " " + a.name + " (" + event.Printable(a.Where()) + ")"
}
