package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIncidentReportHTML opens the incident report of testdata/openziti-1
// in Chromium: one file that loads nothing else; the QL1 outage starts at
// its true start, 13:56:36.379; the restarting members' own "no leader"
// draws no outage of the cluster; the markers carry their rules.
func TestIncidentReportHTML(t *testing.T) {
	out, stderr, code := run(t, nil, append([]string{"replay", "-c", "../examples/rules.yaml", "--format", "html"}, openziti1...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, remote := range []string{"<script src", "<link rel=\"stylesheet\"", "url(http", "src=\"http", "href=\"http"} {
		if strings.Contains(out, remote) {
			t.Errorf("the report loads something from elsewhere: %s", remote)
		}
	}
	path := filepath.Join(t.TempDir(), "incident.html")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.navigate(t, "file://"+path)
	b.waitJS(t, "the report to be drawn", `document.body.dataset.ready === "1" && document.querySelector("#timeline").dataset.drawn`)
	checkReportOutages(t, b)
	checkRestartBlips(t, b)
	tip := eval[string](t, b, `(() => { document.querySelector('[data-lane="rule:leaderless-20s"] .marker.fired').dispatchEvent(new MouseEvent("click", {bubbles: true})); return document.querySelector("#tip").textContent; })()`)
	for _, want := range []string{"rule leaderless-20s", "fired at 13:56:56.379", "without a leader for20.0s", "→ chat", "not sent"} {
		if !strings.Contains(tip, want) {
			t.Errorf("the marker's details lack %q: %s", want, tip)
		}
	}
	b.screenshot(t, screenshotPath(t, "incident-report.png"))
	for _, u := range b.loaded() {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the report loaded %s", u)
		}
	}
	b.noErrors(t)
}

// checkReportOutages: the cluster's outages are its formation, R1, R2, R3, QL1, QL2 and
// the end of the recording, each from its true start.
func checkReportOutages(t *testing.T, b *browser) {
	t.Helper()
	starts := eval[[]string](t, b, `[...document.querySelectorAll('[data-lane="cluster"] rect.seg.outage')].map((r) => r.dataset.start)`)
	want := []string{"13:55:50.499", "13:55:57.122", "13:56:10.946", "13:56:22.758", "13:56:36.379", "13:57:19.570", "13:58:59.058"}
	if len(starts) != len(want) {
		t.Fatalf("the cluster lane has %d outages, want %d: %v", len(starts), len(want), starts)
	}
	for i, w := range want {
		if !strings.HasPrefix(starts[i], "2026-11-24T"+w) {
			t.Errorf("outage %d starts at %s, want %s", i+1, starts[i], w)
		}
	}
	summary := eval[string](t, b, `document.querySelector("#summary").textContent`)
	if !strings.Contains(summary, "No leader from 13:56:36.379 (true start, announced at 13:56:38.379 after 2.0s) to 13:57:10.398, leader ctrl3") {
		t.Errorf("the summary does not say when QL1 began and was announced:\n%s", summary)
	}
}

// checkRestartBlips: ctrl1 (13:56:05.662) and ctrl2 (13:56:31.219) said
// "no leader" as they restarted; their lanes show it, the cluster's does
// not, and the summary says why.
func checkRestartBlips(t *testing.T, b *browser) {
	t.Helper()
	for _, blip := range []struct{ member, start string }{{"ctrl1", "13:56:05.662"}, {"ctrl2", "13:56:31.219"}} {
		covered := eval[int](t, b, `(() => {
			const blip = [...document.querySelectorAll('[data-lane="member:`+blip.member+`"] rect.seg.leaderless')].find((r) => r.dataset.start.includes("T`+blip.start+`"));
			if (!blip) return -1;
			const a = Date.parse(blip.dataset.start), z = Date.parse(blip.dataset.stop);
			return [...document.querySelectorAll('[data-lane="cluster"] rect.seg.outage')].filter((o) => Date.parse(o.dataset.start) < z && a < Date.parse(o.dataset.stop)).length;
		})()`)
		switch covered {
		case -1:
			t.Errorf("%s's lane shows no 'no leader' at %s", blip.member, blip.start)
		case 0:
		default:
			t.Errorf("%s's restart at %s draws an outage of the cluster", blip.member, blip.start)
		}
	}
	summary := eval[string](t, b, `document.querySelector("#summary").textContent`)
	if !strings.Contains(summary, "ctrl1 followed no leader 13:56:05.662–13:56:05.804 (142ms): the others, a majority, followed ctrl3") {
		t.Errorf("the summary does not explain the restart blips:\n%s", summary)
	}
}
