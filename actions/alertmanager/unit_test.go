package alertmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/alertmanager"
)

// recorder answers status to POST /api/v2/alerts and keeps what it got.
type recorder struct {
	mu     sync.Mutex
	status int
	posts  [][]alertmanager.Alert
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var alerts []alertmanager.Alert
	if req.URL.Path != "/api/v2/alerts" || json.NewDecoder(req.Body).Decode(&alerts) != nil {
		http.Error(w, `"bad request"`, http.StatusBadRequest)
		return
	}
	r.posts = append(r.posts, alerts)
	w.WriteHeader(r.status)
}

func (r *recorder) setStatus(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.posts)
}

// started is an action posting to rec, keeping its memory in dir.
func started(t *testing.T, rec *recorder, dir string) *alertmanager.Action {
	t.Helper()
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{srv.URL}, Refresh: time.Hour}}
	a, err := alertmanager.New("am", spec, actions.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func firing() *actions.Notification {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &actions.Notification{Rule: "r", Status: actions.StatusFiring, Cluster: "c", Episode: at, FiredAt: at}
}

// A delivery fails when no Alertmanager accepts it: for good only when
// every one refused it for good.
func TestDeliveryNeedsOneAlertmanager(t *testing.T) {
	refusing, failing := &recorder{status: 400}, &recorder{status: 503}
	r, f := httptest.NewServer(refusing), httptest.NewServer(failing)
	defer r.Close()
	defer f.Close()
	build := func(urls ...string) *alertmanager.Action {
		a, err := alertmanager.New("am", actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: urls}}, actions.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if _, err := build(r.URL, r.URL).Run(context.Background(), firing()); !actions.IsPermanent(err) {
		t.Errorf("all refused: %v", err)
	}
	if _, err := build(r.URL, f.URL).Run(context.Background(), firing()); err == nil || actions.IsPermanent(err) {
		t.Errorf("one unavailable: %v", err)
	}
	// Every Alertmanager gets the alert, and one that takes it is enough.
	one, two := &recorder{status: 200}, &recorder{status: 200}
	o, w := httptest.NewServer(one), httptest.NewServer(two)
	defer o.Close()
	defer w.Close()
	if out, err := build(o.URL, f.URL, w.URL).Run(context.Background(), firing()); err != nil || !strings.Contains(out.Detail, "accepted by 2 of 3") {
		t.Errorf("two of three: %+v %v", out, err)
	}
	if one.count() != 1 || two.count() != 1 {
		t.Errorf("posts: %d and %d, want one each", one.count(), two.count())
	}
}

// hungAndHealthy serves two Alertmanagers: the first answers no post
// (it holds each until the client gives up), the second takes every one.
func hungAndHealthy(t *testing.T) (urls []string, healthy *recorder) {
	t.Helper()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) }) // before hung.Close, which waits for the handler
	healthy = &recorder{status: 200}
	h := httptest.NewServer(healthy)
	t.Cleanup(h.Close)
	return []string{hung.URL, h.URL}, healthy
}

// Every Alertmanager gets the alert within the timeout, whatever the
// others do: one that hangs does not keep it from one that answers.
func TestHungAlertmanagerDoesNotHoldBackTheOthers(t *testing.T) {
	urls, healthy := hungAndHealthy(t)
	spec := actions.Spec{Type: alertmanager.Name, Timeout: time.Second, Config: alertmanager.Config{URLs: urls}}
	a, err := alertmanager.New("am", spec, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Run(context.Background(), firing())
	if err != nil || !strings.Contains(out.Detail, "accepted by 1 of 2") {
		t.Errorf("run: %+v %v, want accepted by the second", out, err)
	}
	if healthy.count() != 1 {
		t.Errorf("the healthy Alertmanager got %d posts, want 1", healthy.count())
	}
}

// The alerts kept open survive a restart: the new action refreshes them
// at once, with endsAt four refreshes ahead, and forgets them at the
// resolve.
func TestOpenAlertsOutliveARestart(t *testing.T) {
	rec := &recorder{status: 200}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	dir := t.TempDir()
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{srv.URL}, Refresh: time.Hour}}
	before, _ := alertmanager.New("am", spec, actions.Options{StateDir: dir})
	if _, err := before.Run(context.Background(), firing()); err != nil {
		t.Fatal(err)
	}
	if _, err := filepath.Glob(filepath.Join(dir, "actions", "am.json")); err != nil {
		t.Fatal(err)
	}
	after, _ := alertmanager.New("am", spec, actions.Options{StateDir: dir})
	after.Start()
	defer after.Stop()
	for deadline := time.Now().Add(10 * time.Second); rec.count() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the open alert was not refreshed after the restart")
		}
	}
	rec.mu.Lock()
	refreshed := rec.posts[1][0]
	rec.mu.Unlock()
	if lease := time.Until(refreshed.EndsAt); lease < 3*time.Hour || lease > 4*time.Hour || !refreshed.StartsAt.Equal(firing().Episode) {
		t.Errorf("refreshed %+v", refreshed)
	}
	resolved := firing()
	resolved.Status, resolved.FiredAt = actions.StatusResolved, resolved.FiredAt.Add(time.Minute)
	out, err := after.Run(context.Background(), resolved)
	if err != nil {
		t.Fatal(out, err)
	}
	rec.mu.Lock()
	last := rec.posts[len(rec.posts)-1][0]
	rec.mu.Unlock()
	if !last.EndsAt.Equal(resolved.FiredAt) {
		t.Errorf("resolve posted %+v", last)
	}
}

// A firing delivered after the lease it was decided with ran out (retried
// while the Alertmanagers were down, resumed after a restart) is posted
// active, its endsAt a lease from the post: ending it at once would have
// Alertmanager resolve it, then the next refresh fire it again.
func TestLateFiringIsPostedActive(t *testing.T) {
	rec := &recorder{status: 200}
	a := started(t, rec, t.TempDir())
	n := firing() // decided long before this run
	posting := time.Now()
	if _, err := a.Run(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := lastPost(rec); time.Until(got.EndsAt) < 3*time.Hour || !got.EndsAt.After(posting) || !got.StartsAt.Equal(n.Episode) {
		t.Errorf("posted %+v at %s, want it active for the lease (4h) from the post, from %s", got, posting, n.Episode)
	}
}

// A refresh posts the open alerts together, each Alertmanager once: with
// one of an HA pair hanging, a post per alert would cost a timeout per
// alert, and with many open the round would outlast their lease on the
// Alertmanager that answers.
func TestRefreshPostsTheOpenAlertsTogether(t *testing.T) {
	urls, healthy := hungAndHealthy(t)
	spec := actions.Spec{Type: alertmanager.Name, Timeout: time.Second, Config: alertmanager.Config{URLs: urls, Refresh: time.Hour}}
	a, err := alertmanager.New("am", spec, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"r1", "r2", "r3"} {
		n := firing()
		n.Rule = rule
		if _, err := a.Run(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	a.Start() // refreshes at once
	defer a.Stop()
	for deadline := time.Now().Add(20 * time.Second); healthy.count() < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d posts, want the refresh after the three firings", healthy.count())
		}
	}
	healthy.mu.Lock()
	defer healthy.mu.Unlock()
	if refresh := healthy.posts[3]; len(refresh) != 3 {
		t.Errorf("the refresh posted %+v, want the three alerts at once", refresh)
	}
}

// URLs' credentials never show.
func TestURLCredentialsAreHidden(t *testing.T) {
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{"https://user:am-password-123@am.example/"}}}
	spec.FromEnv = nil
	a, err := alertmanager.New("am", spec, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := a.Render(firing())
	if err != nil || strings.Contains(r.URL+r.Body+a.Where(), "am-password-123") {
		t.Errorf("rendering %+v %v", r, err)
	}
}

// An alert's labels are the notification's under valid names, then
// alertname and cluster. A label validly named (as a rule's always is)
// wins over one renamed into the same name, whatever the map's order.
func TestAlertLabels(t *testing.T) {
	a, err := alertmanager.New("am", actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{"http://127.0.0.1:9"}}}, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"none", nil, "map[alertname:r cluster:c]"},
		{"valid names as they are", map[string]string{"severity": "critical", "env": "prod"}, "map[alertname:r cluster:c env:prod severity:critical]"},
		{"others renamed", map[string]string{"app.kubernetes.io/name": "ziti", "2fa": "on"}, "map[_2fa:on alertname:r app_kubernetes_io_name:ziti cluster:c]"},
		{"a valid name wins a clash", map[string]string{"team-name": "core", "team_name": "db", "team.name": "ops"}, "map[alertname:r cluster:c team_name:db]"},
		{"renamed ones clash in order", map[string]string{"team-name": "core", "team.name": "ops"}, "map[alertname:r cluster:c team_name:ops]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 { // map order varies between runs
				n := firing()
				n.Labels = tc.labels
				al, notes := a.Build(n)
				if got := fmt.Sprint(al.Labels); notes != "" || got != tc.want {
					t.Fatalf("labels %s (%s), want %s", got, notes, tc.want)
				}
			}
		})
	}
}

// A resolve ends the alert that is open, with the labels it was posted
// with, though a reload changed the rule's labels in between.
func TestResolveEndsTheOpenAlert(t *testing.T) {
	rec := &recorder{status: 200}
	a := started(t, rec, t.TempDir())
	n := firing()
	n.Labels = map[string]string{"severity": "critical"}
	if _, err := a.Run(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	resolved := firing()
	resolved.Status, resolved.FiredAt = actions.StatusResolved, resolved.FiredAt.Add(time.Minute)
	resolved.Labels = map[string]string{"severity": "warning"}
	if _, err := a.Run(context.Background(), resolved); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.posts) != 2 || rec.posts[1][0].Labels["severity"] != "critical" || !rec.posts[1][0].EndsAt.Equal(resolved.FiredAt) {
		t.Errorf("posts %+v, want the resolve to end the critical alert", rec.posts)
	}
}

// A firing whose labels a reload changed is, to Alertmanager, another
// alert: the one posted before ends with it, rather than at its endsAt,
// also when that post failed and is retried after a restart; once taken,
// the end is not posted again.
func TestRelabelledFiringEndsTheOldAlert(t *testing.T) {
	rec := &recorder{status: 200}
	dir := t.TempDir()
	a := started(t, rec, dir)
	n := firing()
	n.Labels = map[string]string{"severity": "critical"}
	for range 2 { // a repeat with the same labels ends nothing
		if _, err := a.Run(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	repeat := firing()
	repeat.FiredAt = repeat.FiredAt.Add(10 * time.Minute)
	repeat.Labels = map[string]string{"severity": "warning"}
	rec.setStatus(503)
	if _, err := a.Run(context.Background(), repeat); err == nil {
		t.Fatal("a post answered 503 succeeded")
	}
	rec.setStatus(200)
	a = started(t, rec, dir) // a restart
	for range 2 {            // the retry, then a repeat
		if _, err := a.Run(context.Background(), repeat); err != nil {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.posts) != 5 || len(rec.posts[1]) != 1 || len(rec.posts[3]) != 2 || len(rec.posts[4]) != 1 {
		t.Fatalf("posts %+v, want one alert, the same again, two (refused), two, then one", rec.posts)
	}
	active, ended := rec.posts[3][0], rec.posts[3][1]
	if active.Labels["severity"] != "warning" || !active.EndsAt.After(repeat.FiredAt) {
		t.Errorf("the new alert %+v, want severity warning, active", active)
	}
	if ended.Labels["severity"] != "critical" || !ended.EndsAt.Equal(repeat.FiredAt) {
		t.Errorf("the old alert %+v, want severity critical, ended at the repeat", ended)
	}
}

// failedResolve fires an alert with severity critical, fires it again in a
// later episode (it keeps its startsAt), then has its resolve answered 503
// by an action rebuilt under labels a reload changed. It returns the
// rebuilt action and the resolve.
func failedResolve(t *testing.T, rec *recorder, dir string) (*alertmanager.Action, *actions.Notification) {
	t.Helper()
	a := started(t, rec, dir)
	n := firing()
	n.Labels = map[string]string{"severity": "critical"}
	repeat := firing()
	repeat.Labels, repeat.Episode, repeat.FiredAt = n.Labels, n.Episode.Add(5*time.Minute), n.FiredAt.Add(5*time.Minute)
	for _, n := range []*actions.Notification{n, repeat} {
		if _, err := a.Run(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	resolved := firing()
	resolved.Status, resolved.Episode, resolved.FiredAt = actions.StatusResolved, repeat.Episode, repeat.FiredAt.Add(time.Minute)
	resolved.Labels = map[string]string{"severity": "warning"}
	rec.setStatus(503)
	a = started(t, rec, dir) // a reload
	if _, err := a.Run(context.Background(), resolved); err == nil || actions.IsPermanent(err) {
		t.Fatalf("a resolve answered 503: %v, want a retry", err)
	}
	rec.setStatus(200)
	return a, resolved
}

// lastPost is the first alert of the last post rec got.
func lastPost(rec *recorder) alertmanager.Alert {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.posts[len(rec.posts)-1][0]
}

// checkEnds fails unless al ends the alert first posted: its labels, its
// startsAt, endsAt the resolve's.
func checkEnds(t *testing.T, al alertmanager.Alert, resolved *actions.Notification) {
	t.Helper()
	if al.Labels["severity"] != "critical" || !al.StartsAt.Equal(firing().Episode) || !al.EndsAt.Equal(resolved.FiredAt) {
		t.Errorf("posted %+v, want the critical alert from %s, ended at %s", al, firing().Episode, resolved.FiredAt)
	}
}

// The dispatcher's retry of a resolve that failed ends the alert posted,
// labels and startsAt, not one made of the resolve's.
func TestRetriedResolveEndsTheOpenAlert(t *testing.T) {
	rec := &recorder{status: 200}
	a, resolved := failedResolve(t, rec, t.TempDir())
	if out, err := a.Run(context.Background(), resolved); err != nil {
		t.Fatal(out, err)
	}
	checkEnds(t, lastPost(rec), resolved)
}

// Until an Alertmanager takes a resolve, the refreshes post its end as it
// is, never moving it ahead, and forget it once taken.
func TestRefreshRetriesAResolveWithoutReopening(t *testing.T) {
	rec := &recorder{status: 200}
	dir := t.TempDir()
	a, resolved := failedResolve(t, rec, dir)
	posted := rec.count()
	a.Start() // refreshes at once
	defer a.Stop()
	memory, _ := actions.OpenMemory(dir, "am") // the action's own
	kept := func() int { n := 0; memory.Each(func(string, json.RawMessage) { n++ }); return n }
	for deadline := time.Now().Add(10 * time.Second); rec.count() == posted || kept() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the refresh: %d posts (%d before), %d alerts kept, want the end posted and forgotten", rec.count(), posted, kept())
		}
	}
	checkEnds(t, lastPost(rec), resolved)
}

// A firing of a new episode while a resolve is not taken yet opens a new
// alert; the old one, under other labels, ends at the resolve.
func TestFiringAfterAResolveNotTaken(t *testing.T) {
	cases := []struct {
		name   string
		labels map[string]string
		ending int // alerts ended along with the post
	}{
		{"same labels: the firing overtakes the end", map[string]string{"severity": "critical"}, 0},
		{"other labels: the end goes along", map[string]string{"severity": "warning"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{status: 200}
			a, resolved := failedResolve(t, rec, t.TempDir())
			n := firing()
			n.Labels, n.Episode, n.FiredAt = tc.labels, resolved.FiredAt.Add(time.Hour), resolved.FiredAt.Add(time.Hour)
			if out, err := a.Run(context.Background(), n); err != nil {
				t.Fatal(out, err)
			}
			rec.mu.Lock()
			post := rec.posts[len(rec.posts)-1]
			rec.mu.Unlock()
			if len(post) != 1+tc.ending || !post[0].StartsAt.Equal(n.Episode) || !post[0].EndsAt.After(n.FiredAt) {
				t.Fatalf("posted %+v, want an alert from %s, active, and %d ended", post, n.Episode, tc.ending)
			}
			if tc.ending > 0 {
				checkEnds(t, post[1], resolved)
			}
		})
	}
}

// An annotation template that passes the sample check but fails on a real
// notification still posts the alert: summary and description with their
// defaults, another annotation left out; the audit detail says which
// template failed and why.
func TestFailingAnnotationsFallBack(t *testing.T) {
	rec := &recorder{status: http.StatusOK}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	cfg := alertmanager.Config{URLs: []string{srv.URL}, Refresh: time.Hour, Annotations: map[string]string{
		"summary": "{{ .Event.leaderId }}", "runbook": `{{ index .Unreachable 2 }}`, "note": "{{ .Cluster }} is down"}}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := alertmanager.New("am", actions.Spec{Type: alertmanager.Name, Config: cfg}, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := firing()
	n.Event, n.Unreachable = map[string]any{}, []string{"a"}
	out, err := a.Run(context.Background(), n)
	if err != nil {
		t.Fatalf("%+v %v", out, err)
	}
	if got := fmt.Sprint(lastPost(rec).Annotations); got != "map[note:c is down summary:c: no leader]" {
		t.Errorf("annotations %s", got)
	}
	for _, want := range []string{"action am: template annotations.runbook failed: annotations.runbook:1:3: at <index .Unreachable 2>: error calling index: index out of range: 2: left out",
		`action am: template annotations.summary failed: annotations.summary:1:9: at <.Event.leaderId>: map has no entry for key "leaderId": the default annotations.summary sent`} {
		if !strings.Contains(out.Detail, want) {
			t.Errorf("detail %q lacks %q", out.Detail, want)
		}
	}
}

// A scheduled rule's firing has no episode, and no resolve follows it: its
// alert is posted for one lease and not refreshed, or it would stay active
// for as long as leaderhook runs.
func TestScheduledFiringIsNotRefreshed(t *testing.T) {
	rec := &recorder{status: 200}
	a := started(t, rec, t.TempDir())
	scheduled := firing()
	scheduled.Rule = "daily-report"
	// As an earlier version kept it: open, refreshed.
	if _, err := a.Run(context.Background(), scheduled); err != nil {
		t.Fatal(err)
	}
	scheduled.Episode = time.Time{}
	posting := time.Now()
	if _, err := a.Run(context.Background(), scheduled); err != nil {
		t.Fatal(err)
	}
	if got := lastPost(rec); time.Until(got.EndsAt) < 3*time.Hour || !got.EndsAt.After(posting) || !got.StartsAt.Equal(scheduled.FiredAt) {
		t.Errorf("posted %+v, want it active for the lease (4h) from the post, from its firing", got)
	}
	if _, err := a.Run(context.Background(), firing()); err != nil {
		t.Fatal(err)
	}
	a.Start() // refreshes at once
	defer a.Stop()
	for deadline := time.Now().Add(20 * time.Second); rec.count() < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d posts, want the refresh after the firings", rec.count())
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if refresh := rec.posts[3]; len(refresh) != 1 || refresh[0].Labels["alertname"] != "r" {
		t.Errorf("the refresh posted %+v, want the episode's alert alone", refresh)
	}
}

// The alerts are posted under the base URL's path, with its query: a
// token in the query (an authenticating proxy's, say) goes with every post.
func TestAlertsURLKeepsPathAndQuery(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, req.URL.RequestURI())
	}))
	defer srv.Close()
	for _, c := range []struct{ base, want string }{
		{base: "", want: "/api/v2/alerts"},
		{base: "/", want: "/api/v2/alerts"},
		{base: "/?token=x", want: "/api/v2/alerts?token=x"},
		{base: "/am/?a=b&c=d", want: "/am/api/v2/alerts?a=b&c=d"},
		{base: "/am?a=b", want: "/am/api/v2/alerts?a=b"},
	} {
		got = nil
		spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{srv.URL + c.base}}}
		a, err := alertmanager.New("am", spec, actions.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Run(context.Background(), firing()); err != nil {
			t.Errorf("%q: %v", c.base, err)
		}
		mu.Lock()
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("base %q: posted to %q, want %q", c.base, got, c.want)
		}
		mu.Unlock()
	}
}

// A URL is the Alertmanager's base URL: one that names the alerts endpoint
// already, or has a fragment, is refused, without being printed.
func TestValidateURLs(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{url: "http://am:9093/?token=secret-1"},
		{url: "http://am:9093/prefix/"},
		{url: "http://am:9093/api/v2/alerts?token=secret-1", want: "urls[0]: ends in /api/v2/alerts: give the Alertmanager's base URL"},
		{url: "http://am:9093/x/api/v2/alerts/", want: "urls[0]: ends in /api/v2/alerts"},
		{url: "http://am:9093/api/v2", want: "urls[0]: ends in /api/v2: give the Alertmanager's base URL"},
		{url: "http://am:9093/api/v1/", want: "urls[0]: ends in /api/v1"},
		{url: "http://am:9093/#secret-1", want: "urls[0]: has a fragment"},
	} {
		errs := alertmanager.Config{URLs: []string{c.url}}.Validate()
		var msg string
		if len(errs) > 0 {
			msg = errs.Error()
		}
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%s: unexpected %q", c.url, msg)
		case c.want != "" && !strings.Contains(msg, c.want):
			t.Errorf("%s: %q, want %q", c.url, msg, c.want)
		case strings.Contains(msg, "secret-1"):
			t.Errorf("%s: %q shows the URL", c.url, msg)
		}
	}
}

// throttling answers every post with status and Retry-After: after.
func throttling(t *testing.T, status int, after string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if after != "" {
			w.Header().Set("Retry-After", after)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A failed delivery asks the dispatcher to wait until one Alertmanager may
// take it: the shortest Retry-After when every one that may take it later
// asked for one, and none when one asked nothing. One taking it is enough.
func TestRetryAfterIsKept(t *testing.T) {
	for _, c := range []struct {
		name  string
		urls  []string
		after time.Duration // 0: none asked
	}{
		{name: "one", urls: []string{throttling(t, 429, "30")}, after: 30 * time.Second},
		// One may take it at the next backoff: no wait.
		{name: "beside one that asked nothing", urls: []string{throttling(t, 503, "10"), throttling(t, 429, "40"), throttling(t, 503, "")}},
		// The first that may take it: the shortest wait.
		{name: "the shortest", urls: []string{throttling(t, 503, "10"), throttling(t, 429, "40")}, after: 10 * time.Second},
		{name: "beside a refusal for good", urls: []string{throttling(t, 400, ""), throttling(t, 503, "20")}, after: 20 * time.Second},
		{name: "none asked", urls: []string{throttling(t, 503, ""), throttling(t, 502, "")}},
	} {
		spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: c.urls}}
		a, err := alertmanager.New("am", spec, actions.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Run(context.Background(), firing())
		after, asked := actions.RetryAfter(err)
		switch {
		case err == nil || actions.IsPermanent(err):
			t.Errorf("%s: %v, want a retryable error", c.name, err)
		case after != c.after || asked != (c.after > 0):
			t.Errorf("%s: retry after %s (%v), want %s; error %v", c.name, after, asked, c.after, err)
		case strings.Count(err.Error(), "answered") != len(c.urls):
			t.Errorf("%s: %v, want every Alertmanager's answer", c.name, err)
		}
	}
}

// lockedLog is a log's text, written by the refresher and read by a test.
type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), msg)
}

// manualClock is a clock a test moves.
type manualClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// Refreshes that fail are logged, since their alerts then end at their
// endsAt while the rules still fire, and no delivery reports it: when
// they start failing, then at most once a minute, and when they work
// again.
func TestRefreshFailuresAreLogged(t *testing.T) {
	const failing, recovered = "refreshing the open alerts failed", "refreshing the open alerts works again"
	rec := &recorder{status: 200}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	logs := &lockedLog{}
	clock := &manualClock{at: time.Now()}
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: []string{srv.URL + "/?token=secret-1"}, Refresh: time.Hour}}
	a, err := alertmanager.New("am", spec, actions.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a.SetNow(clock.now)
	if _, err := a.Run(context.Background(), firing()); err != nil {
		t.Fatal(err)
	}
	rec.setStatus(401)
	for i, want := range []struct{ failing, recovered int }{{1, 0}, {1, 0}, {2, 0}} {
		if i == 2 {
			clock.advance(time.Minute)
		}
		a.RefreshNow()
		if logs.count(failing) != want.failing || logs.count(recovered) != want.recovered {
			t.Fatalf("refresh %d refused: log\n%s\nwant %d failures logged", i+1, logs.buf.String(), want.failing)
		}
	}
	rec.setStatus(200)
	a.RefreshNow()
	a.RefreshNow()
	if logs.count(failing) != 2 || logs.count(recovered) != 1 || strings.Contains(logs.buf.String(), "secret-1") {
		t.Errorf("log\n%s\nwant the failures logged twice, the recovery once, the token hidden", logs.buf.String())
	}
}

// In an HA pair, a resolve one Alertmanager took and the other refused
// is kept: the refreshes post its end to both until the other takes it,
// then forget it. Until then the other would keep the alert active to
// its endsAt.
func TestResolveReachesEveryAlertmanager(t *testing.T) {
	taking, missing := &recorder{status: 200}, &recorder{status: 200}
	var urls []string
	for _, rec := range []*recorder{taking, missing} {
		srv := httptest.NewServer(rec)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	dir := t.TempDir()
	spec := actions.Spec{Type: alertmanager.Name, Config: alertmanager.Config{URLs: urls, Refresh: time.Hour}}
	a, err := alertmanager.New("am", spec, actions.Options{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background(), firing()); err != nil {
		t.Fatal(err)
	}
	missing.setStatus(503)
	resolved := firing()
	resolved.Status, resolved.FiredAt = actions.StatusResolved, resolved.FiredAt.Add(time.Minute)
	if out, err := a.Run(context.Background(), resolved); err != nil {
		t.Fatal(out, err)
	}
	memory, _ := actions.OpenMemory(dir, "am") // the action's own
	kept := func() int { n := 0; memory.Each(func(string, json.RawMessage) { n++ }); return n }
	a.RefreshNow() // refused again
	if kept() != 1 || missing.count() != 3 {
		t.Fatalf("%d alerts kept, %d posts to the one refusing, want the resolve kept and posted again", kept(), missing.count())
	}
	missing.setStatus(200)
	a.RefreshNow()
	if kept() != 0 {
		t.Errorf("%d alerts kept once both took the resolve, want none", kept())
	}
	if got := lastPost(missing); !got.EndsAt.Equal(resolved.FiredAt) {
		t.Errorf("the other got %+v, want the alert ended at %s", got, resolved.FiredAt)
	}
	posted := taking.count()
	a.RefreshNow()
	if taking.count() != posted {
		t.Errorf("a refresh after both took the resolve posted again")
	}
}
