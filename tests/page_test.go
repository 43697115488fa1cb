package tests

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// -screenshots writes the pictures of the README (docs/live-page.png,
// docs/incident-report.png) instead of into the test's directory.
var screenshots = flag.Bool("screenshots", false, "write the README's screenshots into docs/")

// screenshotPath is where a test's screenshot goes.
func screenshotPath(t *testing.T, name string) string {
	if *screenshots {
		return filepath.Join("..", "docs", name)
	}
	return filepath.Join(t.TempDir(), name)
}

func pageConfig(t *testing.T, dir, listen, hook string) string {
	t.Helper()
	path := filepath.Join(dir, "rules.yaml")
	// max_clock_skew lets the scripted events keep their past timestamps.
	cfg := fmt.Sprintf(`server: {listen: %q}
state_dir: %s/state
audit_log: %s/audit.jsonl
max_clock_skew: 2h
clusters:
  - name: ziti-prod
    stabilize: 0s
    members: [ctrl1, ctrl2, ctrl3]
    source: {type: events, http: true}
  - name: etcd-eu
    stabilize: 0s
    members: [e1, e2, e3]
    source: {type: events, http: true}
  - name: consul-us
    stabilize: 0s
    members: [c1, c2, c3]
    source: {type: events, http: true}
actions:
  pager:
    type: webhook
    url: %s/hook
    retry: {max_attempts: 5, initial_backoff: 300ms, max_backoff: 300ms}
  ticket:
    type: webhook
    url: http://127.0.0.1:9/tickets
    retry: {max_attempts: 2, initial_backoff: 200ms}
rules:
  - name: leader-lost
    when: type == "state.is_leaderless"
    actions: [pager]
    on_resolve: [pager]
  - name: leader-changed
    when: type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id
    actions: [pager, ticket]
    cooldown: 30m
`, listen, dir, dir, hook)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// follow posts, at one instant, each member's report of the leader it
// follows ("" for none).
func follow(t *testing.T, base, cluster string, at time.Time, follows ...string) {
	t.Helper()
	var lines []string
	for i := 0; i+1 < len(follows); i += 2 {
		typ, extra := "state.is_leaderless", ""
		if follows[i+1] != "" {
			typ, extra = "state.has_leader", fmt.Sprintf(`,"leaderId":%q`, follows[i+1])
		}
		lines = append(lines, fmt.Sprintf(`{"namespace":"cluster","event_src_id":%q,"timestamp":%q,"eventType":%q%s}`,
			follows[i], at.UTC().Format(time.RFC3339Nano), typ, extra))
	}
	postEvents(t, base, cluster, lines...)
}

// postEvents posts lines of events to a cluster, again while the daemon
// asks to (503: a daemon just started may not decide yet).
func postEvents(t *testing.T, base, cluster string, lines ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := post(t, base+"/v1/events?cluster="+cluster, "", strings.Join(lines, "\n"))
		switch {
		case code == 202:
			return
		case code != 503 || time.Now().After(deadline):
			t.Fatalf("posting events: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond) // what Retry-After asks, shortened
	}
}

// scriptIncidents feeds the last forty minutes of three clusters: leader
// changes, a restart blip that is no outage, a change suppressed by a
// cooldown.
func scriptIncidents(t *testing.T, base string) {
	t.Helper()
	ago := func(m float64) time.Time { return time.Now().Add(-time.Duration(m * float64(time.Minute))) }
	follow(t, base, "ziti-prod", ago(40), "ctrl1", "ctrl1", "ctrl2", "ctrl1", "ctrl3", "ctrl1")
	follow(t, base, "etcd-eu", ago(40), "e1", "e2", "e2", "e2", "e3", "e2")
	follow(t, base, "consul-us", ago(40), "c1", "c1", "c2", "c1", "c3", "c1")
	follow(t, base, "ziti-prod", ago(30), "ctrl2", "", "ctrl3", "")
	follow(t, base, "ziti-prod", ago(29.3), "ctrl1", "ctrl2", "ctrl2", "ctrl2", "ctrl3", "ctrl2")
	follow(t, base, "etcd-eu", ago(25), "e1", "", "e3", "")
	follow(t, base, "etcd-eu", ago(24.6), "e1", "e1", "e2", "e1", "e3", "e1")
	follow(t, base, "ziti-prod", ago(20), "ctrl3", "")
	follow(t, base, "ziti-prod", ago(19.95), "ctrl3", "ctrl2")
	follow(t, base, "ziti-prod", ago(12), "ctrl1", "", "ctrl2", "", "ctrl3", "")
	follow(t, base, "ziti-prod", ago(11), "ctrl1", "ctrl3", "ctrl2", "ctrl3", "ctrl3", "ctrl3")
}

// historyStates reads the state changes of a cluster from GET /v1/history.
func historyStates(t *testing.T, base, cluster string) []map[string]any {
	t.Helper()
	_, body := get(t, base+"/v1/history")
	var w struct {
		States []map[string]any `json:"states"`
	}
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, s := range w.States {
		if s["cluster"] == cluster {
			out = append(out, s)
		}
	}
	return out
}

// TestLivePage opens / on a daemon fed a scripted incident, and follows a
// leader loss live: the cluster shows no leader, the outage bar spans the
// outage's interval, the firing's marker carries its rule and delivery;
// then the daemon restarts and the page comes back with its history.
func TestLivePage(t *testing.T) {
	rcv := &receiver{}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	dir := t.TempDir()
	listen := freePort(t)
	config := pageConfig(t, dir, listen, hook.URL)
	d := startDaemon(t, config)
	base := "http://" + listen
	scriptIncidents(t, base)
	b := newBrowser(t)
	b.navigate(t, base+"/")
	b.waitJS(t, "the page's first update", `document.body.dataset.ready === "1"`)
	eval[bool](t, b, `document.querySelector('[data-span="1h"]').click(), true`)

	rcv.mu.Lock()
	rcv.failures = 1 // the live firing's first attempt fails
	rcv.mu.Unlock()
	follow(t, base, "ziti-prod", time.Now(), "ctrl1", "", "ctrl2", "", "ctrl3", "")
	b.waitJS(t, "the cluster to show no leader", `document.querySelector('[data-cluster="ziti-prod"] .leader.none')?.textContent.startsWith("no leader since")`)
	b.waitJS(t, "an outage bar still open", `document.querySelector('[data-lane="ziti-prod"] rect.seg.outage[data-stop=""]')`)
	checkFiringMarker(t, b)
	b.waitJS(t, "the failed deliveries", `document.querySelectorAll("#deliveries tr.delivery.failed").length === 2`)
	b.screenshot(t, screenshotPath(t, "live-page.png"))
	follow(t, base, "ziti-prod", time.Now(), "ctrl1", "ctrl1", "ctrl2", "ctrl1", "ctrl3", "ctrl1")
	checkOutageBar(t, b, base)
	checkWeekView(t, b)
	b.noErrors(t)

	seen := len(b.messages(0))
	d.stop(t)
	b.waitJS(t, "the page to say the daemon does not answer", `document.body.dataset.connected === "0"`)
	startDaemon(t, config)
	b.waitJS(t, "the page to reconnect", `document.body.dataset.connected === "1"`)
	checkOutageBar(t, b, base) // from the history kept in state_dir
	if errs := b.errorsFrom(seen, "network"); len(errs) > 0 {
		t.Errorf("errors on the console across the restart:\n%s", strings.Join(errs, "\n"))
	}
}

// checkOutageBar finds the bar of the last outage, from its true start to
// the new leader, where the axis puts those instants.
func checkOutageBar(t *testing.T, b *browser, base string) {
	t.Helper()
	states := historyStates(t, base, "ziti-prod")
	if len(states) < 2 {
		t.Fatalf("history holds %d states of ziti-prod", len(states))
	}
	loss, back := states[len(states)-2], states[len(states)-1]
	if loss["type"] != "state.is_leaderless" || back["type"] != "state.has_leader" {
		t.Fatalf("the last states are not a loss and a leader: %v %v", loss, back)
	}
	bar := fmt.Sprintf(`document.querySelector('[data-lane="ziti-prod"] rect.seg.outage[data-start=%q][data-stop=%q]')`, loss["since"], back["time"])
	b.waitJS(t, "the outage bar from its start to the new leader", bar)
	placed := eval[bool](t, b, `(() => {
		const bar = `+bar+`, chart = document.querySelector("#timeline").dataset;
		const x = (iso) => Number(chart.plotX) + (Date.parse(iso) - Date.parse(chart.from)) / (Date.parse(chart.to) - Date.parse(chart.from)) * Number(chart.plotWidth);
		const x1 = x(bar.dataset.start), x2 = x(bar.dataset.stop);
		return Math.abs(Number(bar.getAttribute("x")) - x1) < 1 && Math.abs(Number(bar.getAttribute("width")) - Math.max(x2 - x1, 1)) < 1;
	})()`)
	if !placed {
		t.Error("the outage bar is not where the axis puts its start and end")
	}
}

// checkFiringMarker finds the marker of the live firing and its details:
// the rule, and its delivery's outcome after a failed attempt.
func checkFiringMarker(t *testing.T, b *browser) {
	t.Helper()
	marker := `[...document.querySelectorAll('[data-lane="ziti-prod"] .marker.fired[data-rule="leader-lost"]')].pop()`
	b.waitJS(t, "the firing's delivery in its marker", marker+`?.getAttribute("aria-label").includes("pager: delivered, 2 attempts")`)
	tip := eval[string](t, b, `(() => { `+marker+`.dispatchEvent(new MouseEvent("click", {bubbles: true})); return document.querySelector("#tip").textContent; })()`)
	for _, want := range []string{"rule leader-lost", "fired at", "→ pager", "delivered, 2 attempts", "HTTP 200", "last error"} {
		if !strings.Contains(tip, want) {
			t.Errorf("the marker's details lack %q: %s", want, tip)
		}
	}
	if strings.Contains(tip, "next attempt") {
		t.Errorf("a delivery done shows a next attempt: %s", tip)
	}
}

// checkWeekView zooms out to a week, which the page loads as an overview:
// the outage is there, and the live firing's mark, whose details are read
// when it is clicked. Back to an hour, the page has every entry again.
func checkWeekView(t *testing.T, b *browser) {
	t.Helper()
	eval[bool](t, b, `document.querySelector('[data-span="7d"]').click(), true`)
	b.waitJS(t, "the week's overview", `Date.parse(document.body.dataset.loadedFrom) <= Date.now() - 6.5 * 864e5`)
	b.waitJS(t, "the outage in the overview", `document.querySelector('[data-lane="ziti-prod"] rect.seg.outage[data-stop]:not([data-stop=""])')`)
	mark := `[...document.querySelectorAll('[data-lane="ziti-prod"] .marker.fired[data-count]')].pop()`
	b.waitJS(t, "the firing's mark", mark)
	eval[bool](t, b, mark+`.dispatchEvent(new MouseEvent("click", {bubbles: true})), true`)
	b.waitJS(t, "the mark's details", `document.querySelector("#tip").textContent.includes("delivered, 2 attempts")`)
	tip := eval[string](t, b, `document.querySelector("#tip").textContent`)
	for _, want := range []string{"rule leader-lost", "fired at", "→ pager", "HTTP 200", "last error"} {
		if !strings.Contains(tip, want) {
			t.Errorf("the mark's details lack %q: %s", want, tip)
		}
	}
	eval[bool](t, b, `document.querySelector('[data-span="1h"]').click(), true`)
	b.waitJS(t, "every entry of the hour again", `document.querySelector('[data-lane="ziti-prod"] .marker.fired[data-rule="leader-lost"]:not([data-count])')`)
}

// TestLivePagePannedBeyondTheLongestWindow pans the week's view back
// further than GET /v1/history answers (31 days): the page keeps
// updating the clusters, and does not say that leaderhook does not
// answer.
func TestLivePagePannedBeyondTheLongestWindow(t *testing.T) {
	hook := httptest.NewServer(&receiver{})
	defer hook.Close()
	dir := t.TempDir()
	listen := freePort(t)
	startDaemon(t, pageConfig(t, dir, listen, hook.URL))
	base := "http://" + listen
	b := newBrowser(t)
	b.navigate(t, base+"/")
	b.waitJS(t, "the page's first update", `document.body.dataset.ready === "1"`)
	eval[bool](t, b, `document.querySelector('[data-span="7d"]').click(), true`)
	for range 8 { // half a week each
		eval[bool](t, b, `document.querySelector('[data-pan="-0.5"]').click(), true`)
	}
	polls := eval[string](t, b, `document.body.dataset.polls`)
	follow(t, base, "ziti-prod", time.Now(), "ctrl1", "", "ctrl2", "", "ctrl3", "")
	b.waitJS(t, "the cluster to show no leader", `document.querySelector('[data-cluster="ziti-prod"] .leader.none')`)
	b.waitJS(t, "two more updates", `Number(document.body.dataset.polls) >= `+polls+` + 2`)
	if connected := eval[string](t, b, `document.body.dataset.connected`); connected != "1" {
		t.Errorf("the page says leaderhook does not answer: %s", eval[string](t, b, `document.querySelector("#status").textContent`))
	}
}

// TestLivePageSaysAHungDaemonDoesNotAnswer stops the daemon without
// ending it (a hung process, or a network that drops packets): its
// connections stay open and unanswered, no request fails, and the page
// must not go on saying "live" over what it showed last. It says so, and
// comes back once the daemon answers again.
func TestLivePageSaysAHungDaemonDoesNotAnswer(t *testing.T) {
	hook := httptest.NewServer(&receiver{})
	defer hook.Close()
	dir := t.TempDir()
	listen := freePort(t)
	d := startDaemon(t, pageConfig(t, dir, listen, hook.URL))
	b := newBrowser(t)
	b.navigate(t, "http://"+listen+"/")
	b.waitJS(t, "the page's first update", `document.body.dataset.ready === "1" && document.body.dataset.connected === "1"`)
	seen := len(b.messages(0))
	if err := d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer d.cmd.Process.Signal(syscall.SIGCONT)
	b.waitJS(t, "the page to say the daemon does not answer", `document.body.dataset.connected === "0"`)
	if status := eval[string](t, b, `document.querySelector("#status").textContent`); !strings.Contains(status, "does not answer") || !strings.Contains(status, "what is shown is as of ") {
		t.Errorf("the page's status: %q", status)
	}
	d.cmd.Process.Signal(syscall.SIGCONT)
	b.waitJS(t, "the page to say it is live again", `document.body.dataset.connected === "1"`)
	if errs := b.errorsFrom(seen, "network"); len(errs) > 0 {
		t.Errorf("errors on the console:\n%s", strings.Join(errs, "\n"))
	}
}

// TestLivePageLanesFollowAReload reloads a config that replaces a cluster
// with another, as many clusters as before: the timeline's lanes are the
// clusters of the config now, as the cards are, though no history came
// with the change.
func TestLivePageLanesFollowAReload(t *testing.T) {
	hook := httptest.NewServer(&receiver{})
	defer hook.Close()
	dir := t.TempDir()
	listen := freePort(t)
	config := pageConfig(t, dir, listen, hook.URL)
	startDaemon(t, config)
	base := "http://" + listen
	b := newBrowser(t)
	b.navigate(t, base+"/")
	b.waitJS(t, "the lane of consul-us", `document.querySelector('[data-lane="consul-us"]')`)
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(strings.Replace(string(data), "name: consul-us", "name: consul-eu", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, base+"/-/reload", "", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	b.waitJS(t, "the card of consul-eu", `document.querySelector('[data-cluster="consul-eu"]')`)
	b.waitJS(t, "the lanes of the reloaded config", `(() => {
		const lanes = [...document.querySelectorAll("#timeline [data-lane]")].map((l) => l.dataset.lane).sort().join(" ");
		return lanes === "consul-eu etcd-eu ziti-prod";
	})()`)
	b.noErrors(t)
}

// TestLivePageLeftOpenKeepsOnlyItsWindow: a page left open (a wall
// display) adds what comes after each poll to what it loaded; once what
// it holds begins a span before the view needs, it loads its window
// again rather than keep every entry since it opened. Being open for
// days is made by moving the start of what it loaded back.
func TestLivePageLeftOpenKeepsOnlyItsWindow(t *testing.T) {
	hook := httptest.NewServer(&receiver{})
	defer hook.Close()
	dir := t.TempDir()
	listen := freePort(t)
	startDaemon(t, pageConfig(t, dir, listen, hook.URL))
	b := newBrowser(t)
	b.navigate(t, "http://"+listen+"/")
	b.waitJS(t, "the page's first update", `document.body.dataset.ready === "1"`)
	polls := eval[string](t, b, `live.loadedFrom -= 3 * LH.DAY, document.body.dataset.polls`)
	b.waitJS(t, "two more updates", `Number(document.body.dataset.polls) >= `+polls+` + 2`)
	if from := eval[string](t, b, `document.body.dataset.loadedFrom`); !eval[bool](t, b, `Date.parse(document.body.dataset.loadedFrom) >= Date.now() - 7 * LH.HOUR`) {
		t.Errorf("a page following the last 6 hours holds what came since %s", from)
	}
	b.noErrors(t)
}
