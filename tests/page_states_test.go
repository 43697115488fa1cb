package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/api"
	"github.com/leaderhook/leaderhook/web"
)

// TestPageShowsMembersRulesAndRetries opens / on a daemon fed a scripted
// past: a member presumed down and its followers, a rule held back by its
// cooldown, one muted, one firing whose delivery is retried against a
// receiver that answers 500 (and echoes what it was sent). The page shows
// each, with its suppressions' reasons, and none of the action's secrets;
// zoomed to 15 minutes, the last outage's bar still spans its interval.
func TestPageShowsMembersRulesAndRetries(t *testing.T) {
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/ok" {
			return
		}
		w.WriteHeader(500) // retried; the answer echoes the request
		fmt.Fprintf(w, "cannot take %s %s %s %s", r.URL, r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"), body)
	}))
	defer hooks.Close()
	secrets := []string{"qtok-0123456789abc", "upass-0123456789", "apikey-0123456789", "bearer-0123456789", "whsec_c3RhdGVzLXBhZ2UtdGVzdC1rZXk="}
	t.Setenv("FLAKY_TOKEN", secrets[3])
	dir := t.TempDir()
	listen := freePort(t)
	config := filepath.Join(dir, "rules.yaml")
	// The window opens at midnight for a day: always open.
	err := os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: %q}
state_dir: %s/state
max_clock_skew: 2h
clusters:
  - {name: ziti-prod, stabilize: 0s, members: [ctrl1, ctrl2, ctrl3], source: {type: events, http: true}}
  - {name: etcd-eu, stabilize: 0s, members: [e1, e2, e3], source: {type: events, http: true}}
windows:
  always: {schedule: "0 0 * * *", duration: 24h}
actions:
  pager: {type: webhook, url: "%s/ok"}
  flaky:
    type: webhook
    url: "http://hook:%s@%s/hook?token=%s"
    secret: %s
    headers: {X-Api-Key: %q, Authorization: "Bearer ${FLAKY_TOKEN}"}
    retry: {max_attempts: 1000, initial_backoff: 500ms, max_backoff: 500ms}
rules:
  - name: leader-changed
    when: type == "state.has_leader" && previous_leader_id != "" && leader_id != previous_leader_id
    actions: [pager]
    cooldown: 2h
  - name: members-missing
    when: members_up < members_total
    clusters: [ziti-prod]
    mute: [always]
    actions: [pager]
  - name: leader-lost
    when: type == "state.is_leaderless"
    clusters: [etcd-eu]
    actions: [flaky]
`, listen, dir, hooks.URL, secrets[1], strings.TrimPrefix(hooks.URL, "http://"), secrets[0], secrets[4], secrets[2])), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	startDaemon(t, config)
	base := "http://" + listen
	ago := func(m float64) time.Time { return time.Now().Add(-time.Duration(m * float64(time.Minute))) }
	follow(t, base, "ziti-prod", ago(40), "ctrl1", "ctrl1", "ctrl2", "ctrl1", "ctrl3", "ctrl1")
	follow(t, base, "etcd-eu", ago(40), "e1", "e1", "e2", "e1", "e3", "e1")
	follow(t, base, "ziti-prod", ago(30), "ctrl1", "", "ctrl2", "", "ctrl3", "")
	follow(t, base, "ziti-prod", ago(29), "ctrl1", "ctrl2", "ctrl2", "ctrl2", "ctrl3", "ctrl2") // leader-changed fires
	follow(t, base, "ziti-prod", ago(9), "ctrl1", "", "ctrl2", "", "ctrl3", "")
	follow(t, base, "ziti-prod", ago(8), "ctrl1", "ctrl3", "ctrl2", "ctrl3", "ctrl3", "ctrl3") // held back by the cooldown
	postEvents(t, base, "ziti-prod", fmt.Sprintf(`{"namespace":"cluster","event_src_id":"ctrl1","timestamp":%q,"eventType":"member.down","reason":"connection refused"}`,
		ago(5).UTC().Format(time.RFC3339Nano))) // members-missing, muted
	follow(t, base, "etcd-eu", ago(3), "e1", "", "e2", "", "e3", "") // leader-lost fires, to flaky

	b := newBrowser(t)
	b.navigate(t, base+"/")
	b.waitJS(t, "the page's first update", `document.body.dataset.ready === "1"`)
	spanIs := func(minutes int) string {
		return fmt.Sprintf(`(() => { const c = document.querySelector("#timeline").dataset; return Math.abs(Date.parse(c.to) - Date.parse(c.from) - %d * 60000) < 1000; })()`, minutes)
	}
	b.waitJS(t, "a view of the last 6 hours by default", spanIs(6*60))

	// Each member's own view.
	member := func(id string) string {
		return fmt.Sprintf(`document.querySelector('[data-cluster="ziti-prod"] tr.member[data-member=%q]')`, id)
	}
	b.waitJS(t, "ctrl1 presumed down", member("ctrl1")+`?.classList.contains("bad") && `+member("ctrl1")+`.querySelector("td.health").textContent === "presumed down (connection refused)"`)
	cells := eval[[]string](t, b, `[...`+member("ctrl2")+`.cells].map((c) => c.textContent)`)
	if len(cells) != 4 || cells[1] != "follows ctrl3" || !regexp.MustCompile(`^(7|8|9)m \d\ds ago$`).MatchString(cells[2]) || cells[3] != "up" {
		t.Errorf("ctrl2's row: %q, want it to follow ctrl3, heard from 8 minutes ago, up", cells)
	}
	if got := eval[string](t, b, member("ctrl1")+`.cells[1].textContent`); got != "follows no leader" {
		t.Errorf("ctrl1, presumed down, %q", got)
	}
	if got := eval[string](t, b, `document.querySelector('[data-cluster="ziti-prod"] .leader').textContent`); !strings.HasPrefix(got, "leader ctrl3 for ") {
		t.Errorf("ziti-prod's leader: %q", got)
	}

	// The rules' states.
	ruleRow := func(cluster, name string) string {
		return fmt.Sprintf(`document.querySelector('#rules tr.rule[data-cluster=%q][data-rule=%q]')`, cluster, name)
	}
	state := func(cluster, name string) string {
		return ruleRow(cluster, name) + `?.querySelector(".rule-state").textContent`
	}
	b.waitJS(t, "the rules' states", state("ziti-prod", "leader-changed")+`?.startsWith("in cooldown until ") && `+
		state("ziti-prod", "members-missing")+`?.startsWith("muted until ") && `+state("etcd-eu", "leader-lost")+`?.startsWith("firing since ")`)
	rule := ruleViews(t, base)
	for _, want := range []struct{ cluster, rule, state, lastFired string }{
		{"ziti-prod", "leader-changed", "in cooldown until " + clockOf(t, rule("ziti-prod", "leader-changed")["held_until"]) + " UTC (in 1h ", rule("ziti-prod", "leader-changed")["last_fired"]},
		{"ziti-prod", "members-missing", "muted until 00:00:00.000 UTC (in ", ""},
		{"etcd-eu", "leader-lost", "firing since " + clockOf(t, rule("etcd-eu", "leader-lost")["since"]) + " UTC", rule("etcd-eu", "leader-lost")["last_fired"]},
		{"etcd-eu", "leader-changed", "ok", ""},
	} {
		row := ruleRow(want.cluster, want.rule)
		if got := eval[string](t, b, row+`.querySelector(".rule-state").textContent`); !strings.HasPrefix(got, want.state) {
			t.Errorf("%s of %s: state %q, want %q…", want.rule, want.cluster, got, want.state)
		}
		last := eval[string](t, b, row+`.cells[3].textContent`)
		switch {
		case want.lastFired == "" && last != "never":
			t.Errorf("%s of %s: last fired %q, never fired", want.rule, want.cluster, last)
		case want.lastFired != "" && !strings.HasPrefix(last, dateTimeOf(t, want.lastFired)+" ("):
			t.Errorf("%s of %s: last fired %q, want %s", want.rule, want.cluster, last, dateTimeOf(t, want.lastFired))
		}
	}
	if !eval[bool](t, b, ruleRow("etcd-eu", "leader-lost")+`.classList.contains("firing")`) {
		t.Error("the firing rule's row is not marked firing")
	}

	// The suppressions, with their reasons, in the timeline.
	// One is pointed at, the other clicked.
	for _, s := range []struct{ rule, reason, event string }{{"leader-changed", "cooldown", "mouseover"}, {"members-missing", "muted", "click"}} {
		marker := fmt.Sprintf(`document.querySelector('[data-lane="ziti-prod"] .marker.suppressed[data-rule=%q]')`, s.rule)
		b.waitJS(t, "the marker of "+s.rule+"'s suppression", marker+`?.getAttribute("aria-label").includes("suppressed (`+s.reason+`)")`)
		tip := eval[string](t, b, `(() => {
			`+marker+`.dispatchEvent(new MouseEvent("`+s.event+`", {bubbles: true}));
			const tip = document.querySelector("#tip");
			return tip.hidden ? "" : tip.textContent;
		})()`)
		for _, want := range []string{"rule " + s.rule, "suppressed (" + s.reason + ") at", "pager: not run"} {
			if !strings.Contains(tip, want) {
				t.Errorf("the details of %s's suppression lack %q: %s", s.rule, want, tip)
			}
		}
	}
	if n := eval[int](t, b, `document.querySelectorAll('[data-lane="ziti-prod"] .marker.fired[data-rule="leader-changed"]').length`); n != 1 {
		t.Errorf("%d markers of leader-changed firing, want 1 (the second change was held back)", n)
	}

	// The delivery to the receiver that answers 500, retried.
	retrying := `[...document.querySelectorAll("#deliveries tr.delivery.retrying")].find((r) => r.cells[1].textContent === "etcd-eu")`
	b.waitJS(t, "the delivery retried, with its attempts, last error and next attempt", `(() => {
		const r = `+retrying+`;
		return r && r.cells[2].textContent === "leader-lost (firing)" && r.cells[3].textContent === "flaky" && r.cells[4].textContent === "retrying" &&
			Number(r.cells[5].textContent) >= 2 && r.cells[6].textContent.includes("answered 500") && / UTC \(in /.test(r.cells[7].textContent);
	})()`)
	lastError := eval[string](t, b, retrying+`.cells[6].textContent`)
	marker := `document.querySelector('[data-lane="etcd-eu"] .marker.fired[data-rule="leader-lost"]')`
	tip := eval[string](t, b, `(() => { `+marker+`.dispatchEvent(new MouseEvent("click", {bubbles: true})); return document.querySelector("#tip").textContent; })()`)
	if !regexp.MustCompile(`→ flakyretrying, \d+ attempts, HTTP 500; last error: POST .*answered 500.*; next attempt \d\d:`).MatchString(tip) {
		t.Errorf("the firing's details do not show its delivery retrying: %s", tip)
	}
	if !strings.Contains(lastError, "REDACTED") || !strings.Contains(lastError, "cannot take") {
		t.Errorf("the last error does not show the receiver's answer redacted: %q", lastError)
	}
	shown := eval[string](t, b, `(() => {
		let text = document.documentElement.outerHTML;
		for (const m of document.querySelectorAll(".marker, .seg")) {
			m.dispatchEvent(new MouseEvent("click", {bubbles: true}));
			text += document.querySelector("#tip").outerHTML;
		}
		return text;
	})()`)
	for _, u := range b.loaded() {
		_, body := get(t, u)
		shown += body
	}
	for _, s := range secrets {
		if strings.Contains(shown, s) {
			t.Errorf("the page shows the secret %s", s)
		}
	}

	// Zoomed to 15 minutes, the last outage still spans its interval.
	eval[bool](t, b, `document.querySelector('[data-span="15m"]').click(), true`)
	b.waitJS(t, "a view of 15 minutes", spanIs(15))
	checkOutageBar(t, b, base)
	if w := eval[float64](t, b, `Number(document.querySelector('[data-lane="ziti-prod"] rect.seg.outage[data-stop]:not([data-stop=""])').getAttribute("width"))`); w < 40 {
		t.Errorf("zoomed to 15 minutes, the minute's outage is %.1f pixels wide", w)
	}
	b.noErrors(t)
}

// ruleViews reads GET /v1/state: the fields of a cluster's rule, as text.
func ruleViews(t *testing.T, base string) func(cluster, rule string) map[string]string {
	t.Helper()
	_, body := get(t, base+"/v1/state")
	var st struct {
		Clusters []struct {
			Name  string
			Rules []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return func(cluster, rule string) map[string]string {
		for _, c := range st.Clusters {
			for _, r := range c.Rules {
				if c.Name == cluster && r["name"] == rule {
					out := map[string]string{}
					for k, v := range r {
						out[k] = fmt.Sprint(v)
					}
					return out
				}
			}
		}
		t.Fatalf("no rule %s of %s in %s", rule, cluster, body)
		return nil
	}
}

// clockOf and dateTimeOf write a time as the page does.
func clockOf(t *testing.T, iso string) string {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC().Format("15:04:05.000")
}

func dateTimeOf(t *testing.T, iso string) string {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPageShowsASplitBrain: a cluster whose lead is claimed twice keeps
// its leader, and the page says so and says the split, since when and who
// claims the lead, among the clusters in trouble, and draws no outage for
// it; once one leader is claimed again, the split goes.
func TestPageShowsASplitBrain(t *testing.T) {
	base := startSplitBrainDaemon(t, "  - {name: aaa-fine, stabilize: 0s, members: [f1, f2, f3], source: {type: events, http: true}}\n")
	follow(t, base, "aaa-fine", time.Now(), "f1", "f1", "f2", "f1") // f3 never heard from
	follow(t, base, "ziti", time.Now(), "a", "a", "b", "a", "c", "a")
	follow(t, base, "ziti", time.Now(), "c", "c")
	b := newBrowser(t)
	b.navigate(t, base+"/")
	card := `document.querySelector('[data-cluster="ziti"]')`
	b.waitJS(t, "the split brain on the cluster's card", card+`?.querySelector(".split")`)
	split := eval[string](t, b, card+`.querySelector(".split").textContent`)
	if !regexp.MustCompile(`^split brain since \d\d:\d\d:\d\d\.\d{3} UTC \(.+\): a, c claim the lead$`).MatchString(split) {
		t.Errorf("the card says %q", split)
	}
	if got := eval[string](t, b, card+`.querySelector(".leader").textContent`); !strings.HasPrefix(got, "leader a for ") {
		t.Errorf("the majority still follows a: the card says %q", got)
	}
	if !eval[bool](t, b, card+`.classList.contains("bad") && document.querySelector("#clusters .card").dataset.cluster === "ziti"`) {
		t.Error("the cluster in split brain is not marked, or not first among the cards")
	}
	if got := eval[string](t, b, `document.querySelector("#cluster-count").textContent`); !strings.Contains(got, "1 in split brain") {
		t.Errorf("the page's head says %q", got)
	}
	if n := eval[int](t, b, `document.querySelectorAll('[data-lane="ziti"] rect.seg.outage').length`); n != 0 {
		t.Errorf("the split brain is drawn as %d outages", n)
	}
	// A member never heard from counts as up, but the page does not say
	// it is: no one has seen it.
	f3 := `document.querySelector('[data-cluster="aaa-fine"] tr.member[data-member="f3"]')`
	if cells := eval[[]string](t, b, `[...`+f3+`.cells].map((c) => c.textContent)`); len(cells) != 4 || cells[2] != "not heard from" || cells[3] != "presumed up" {
		t.Errorf("f3's row: %q, want it not heard from, presumed up", cells)
	}
	if got := eval[string](t, b, `document.querySelector('[data-cluster="aaa-fine"] tr.member[data-member="f1"] td.health').textContent`); got != "up" {
		t.Errorf("f1, which reported, is %q", got)
	}
	follow(t, base, "ziti", time.Now(), "c", "a")
	b.waitJS(t, "the split brain to go from the card", card+` && !`+card+`.querySelector(".split") && !`+card+`.classList.contains("bad")`)
	b.noErrors(t)
}

// TestTimelineShowsASplitBrain: after the fact, the timeline shows when
// the lead was claimed twice and by whom: a band over the leader's bar,
// from the split's true start to its end, whose tip names the claimants,
// in the window of the last hours and in the week's overview.
func TestTimelineShowsASplitBrain(t *testing.T) {
	base := startSplitBrainDaemon(t, "")
	follow(t, base, "ziti", time.Now(), "a", "a", "b", "a", "c", "a")
	follow(t, base, "ziti", time.Now(), "c", "c")
	b := newBrowser(t)
	b.navigate(t, base+"/")
	band := `document.querySelector('[data-lane="ziti"] rect.split')`
	b.waitJS(t, "the split brain's band, open", band+`?.dataset.stop === ""`)
	follow(t, base, "ziti", time.Now(), "c", "a")
	b.waitJS(t, "the split brain's band, ended", band+`?.dataset.stop`)
	var hist struct {
		Splits []struct{ Type, Time, Since string }
	}
	if _, body := get(t, base+"/v1/history"); json.Unmarshal([]byte(body), &hist) != nil {
		t.Fatalf("GET /v1/history: %s", body)
	}
	if len(hist.Splits) != 2 || hist.Splits[0].Type != "state.split_brain" || hist.Splits[1].Type != "state.split_brain_resolved" {
		t.Fatalf("GET /v1/history has splits %+v, want a start and its end", hist.Splits)
	}
	for _, view := range []string{"6h", "7d"} {
		eval[bool](t, b, `document.querySelector('[data-span="`+view+`"]').click(), true`)
		if view == "7d" {
			b.waitJS(t, "the week's overview", `Date.parse(document.body.dataset.loadedFrom) <= Date.now() - 6.5 * 864e5`)
		}
		b.waitJS(t, view+": the band", band)
		if got := eval[[]string](t, b, `[`+band+`.dataset.start, `+band+`.dataset.stop]`); got[0] != hist.Splits[0].Since || got[1] != hist.Splits[1].Time {
			t.Errorf("%s: the band runs %v, want from the split's true start %s to its end %s", view, got, hist.Splits[0].Since, hist.Splits[1].Time)
		}
		tip := eval[string](t, b, `(() => { `+band+`.dispatchEvent(new MouseEvent("click", {bubbles: true})); return document.querySelector("#tip").textContent; })()`)
		if !strings.Contains(tip, "split brain") || !strings.Contains(tip, "a, c claim the lead") {
			t.Errorf("%s: the band's tip says %q", view, tip)
		}
		if n := eval[int](t, b, `document.querySelectorAll('[data-lane="ziti"] rect.seg.outage').length`); n != 0 {
			t.Errorf("%s: the split brain is drawn as %d outages", view, n)
		}
	}
	b.noErrors(t)
}

// TestPageShowsTheStateWhenTheHistoryFails: GET /v1/history fails (the
// disk of state_dir does not read) while GET /v1/state answers. The page
// still shows the clusters as they are now, and says that its timeline
// is not updated, rather than that leaderhook does not answer.
func TestPageShowsTheStateWhenTheHistoryFails(t *testing.T) {
	since := time.Now().Add(-time.Minute).UTC()
	srv := &api.Server{
		State: func(context.Context) (any, error) {
			return map[string]any{"time": time.Now().UTC(), "queue_depth": 0, "clusters": []any{map[string]any{
				"name": "ziti", "known": true, "has_leader": false, "leader_id": "", "previous_leader_id": "c1", "since": since,
				"members_up": 1, "members_total": 3, "quorum_margin": -1, "members": []any{}, "rules": []any{}}}}, nil
		},
		History: func(context.Context, api.HistoryQuery) (any, error) {
			return nil, errors.New("history: read state/history/seg-1.jsonl: input/output error")
		},
		Page: web.Handler(),
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	b := newBrowser(t)
	b.navigate(t, ts.URL+"/")
	b.waitJS(t, "the cluster without a leader", `document.querySelector('[data-cluster="ziti"] .leader.none')?.textContent.startsWith("no leader since `+since.Format("15:04:05.000")+` UTC")`)
	status := eval[string](t, b, `document.querySelector("#status").textContent`)
	if !strings.Contains(status, "timeline not updated") || !strings.Contains(status, "HTTP 503") || strings.Contains(status, "does not answer") {
		t.Errorf("the page's status: %q", status)
	}
}

// startSplitBrainDaemon starts a daemon watching ziti (members a, b, c,
// split brain after 200ms) after the clusters given, and returns its API.
func startSplitBrainDaemon(t *testing.T, clusters string) string {
	dir := t.TempDir()
	listen := freePort(t)
	config := filepath.Join(dir, "rules.yaml")
	err := os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: %q}
state_dir: %s/state
clusters:
%s  - {name: ziti, stabilize: 0s, split_brain_after: 200ms, members: [a, b, c], source: {type: events, http: true}}
`, listen, dir, clusters)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	startDaemon(t, config)
	return "http://" + listen
}
