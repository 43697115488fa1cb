// Command page measures the live page of `leaderhook run` in a headless
// Chromium with many clusters and days of history: how long the page
// takes to show them (and to zoom out to all of them), how long one
// redraw takes, a live change from event to page, the page's JavaScript
// heap and the daemon's memory; it writes the table of BENCHMARKS.md's
// page section.
//
//	make build && go run ./bench/page -bin ./bin/leaderhook
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/leaderhook/leaderhook/internal/procstat"
)

type options struct {
	bin      string
	clusters int
	days     int
	md, out  string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "./bin/leaderhook", "leaderhook binary")
	flag.IntVar(&o.clusters, "clusters", 1000, "clusters")
	flag.IntVar(&o.days, "days", 7, "days of history")
	flag.StringVar(&o.md, "md", "BENCHMARKS.md", "file whose page section gets the table (empty: none)")
	flag.StringVar(&o.out, "o", "bench/page/results.json", "results file")
	flag.Parse()
	r, err := measure(o)
	if err != nil {
		log.Fatal(err)
	}
	if err := report(o, r); err != nil {
		log.Fatal(err)
	}
}

// results are what one run measured.
type results struct {
	Entries        int     `json:"history_entries"`
	HistoryMB      float64 `json:"history_mb"`
	LoadS          float64 `json:"load_s"`
	ZoomS          float64 `json:"zoom_week_s"`
	RenderMS       float64 `json:"render_ms"`
	RenderWeekMS   float64 `json:"render_week_ms"`
	LiveS          float64 `json:"live_update_s"`
	HeapMB         float64 `json:"js_heap_mb"`
	HeapWeekMB     float64 `json:"js_heap_week_mb"`
	DaemonRSSMB    float64 `json:"daemon_rss_mb"`
	DaemonPeakMB   float64 `json:"daemon_peak_rss_mb"`
	PageKB         float64 `json:"page_kb"`
	AnswerKB       float64 `json:"history_6h_gzip_kb"`
	AnswerWeekKB   float64 `json:"history_week_gzip_kb"`
	LoadTargetMet  bool    `json:"load_target_met"`
	WeightInTarget bool    `json:"weight_target_met"`
}

func measure(o options) (results, error) {
	var r results
	work, err := os.MkdirTemp("", "leaderhook-bench-page")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(work)
	names := make([]string, o.clusters)
	for i := range names {
		names[i] = fmt.Sprintf("cluster-%04d", i)
	}
	if r.Entries, err = writeHistory(filepath.Join(work, "state", "history"), names, o.days, time.Now()); err != nil {
		return r, err
	}
	r.HistoryMB = dirMB(filepath.Join(work, "state", "history"))
	fmt.Printf("history: %d entries, %.1f MB\n", r.Entries, r.HistoryMB)
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	d, base, err := startDaemon(o.bin, work, names, hook.URL)
	if err != nil {
		return r, err
	}
	defer func() { d.Process.Signal(syscall.SIGTERM); d.Wait() }()
	if err := postLeaders(base, names); err != nil {
		return r, err
	}
	b, err := newBrowser(filepath.Join(work, "profile"))
	if err != nil {
		return r, err
	}
	defer b.cancel()
	if err := measurePage(b, base, names[0], &r); err != nil {
		return r, err
	}
	r.DaemonRSSMB, r.DaemonPeakMB = procstat.Memory(d.Process.Pid)
	r.PageKB = pageKB(base)
	r.AnswerKB = answerKB(base, 6*time.Hour)
	r.AnswerWeekKB = answerKB(base, time.Duration(o.days)*24*time.Hour)
	r.LoadTargetMet = r.LoadS <= 2 && r.ZoomS <= 10 && r.RenderWeekMS <= 250
	r.WeightInTarget = r.PageKB <= 300
	return r, nil
}

// measurePage loads the page, zooms out to the whole history, and follows
// a live change.
func measurePage(b *browser, base, cluster string, r *results) error {
	start := time.Now()
	if err := b.navigate(base + "/"); err != nil {
		return err
	}
	if _, err := b.waitFor("the first render", `document.body.dataset.ready === "1" && document.querySelector("#timeline").dataset.drawn`, time.Minute); err != nil {
		return err
	}
	r.LoadS = time.Since(start).Seconds()
	r.RenderMS = renderMS(b)
	r.HeapMB = b.heapMB()
	week, err := b.waitFor("the week's history", `(document.querySelector('[data-span="7d"]').click(), Date.parse(document.body.dataset.loadedFrom) <= Date.now() - 6.5 * 864e5) && document.body.dataset.renderMs`, 2*time.Minute)
	if err != nil {
		return err
	}
	r.ZoomS = week.Seconds()
	r.RenderWeekMS = renderMS(b)
	r.HeapWeekMB = b.heapMB()
	if err := post(base, cluster, "state.is_leaderless", ""); err != nil {
		return err
	}
	live, err := b.waitFor("the live change", fmt.Sprintf(`document.querySelector('[data-cluster=%q] .leader.none')`, cluster), time.Minute)
	r.LiveS = live.Seconds()
	return err
}

// renderMS is one redraw once the page has settled: the quickest of the
// next three polls' (the first may still build the lanes).
func renderMS(b *browser) float64 {
	quickest := 0.0
	for i := range 3 {
		polls, _ := eval[string](b, `document.body.dataset.polls`)
		b.waitFor("a poll", fmt.Sprintf(`document.body.dataset.polls !== %q`, polls), 10*time.Second)
		ms, _ := eval[float64](b, `Number(document.body.dataset.renderMs)`)
		if i == 0 || ms < quickest {
			quickest = ms
		}
	}
	return quickest
}

func startDaemon(bin, work string, names []string, hook string) (*exec.Cmd, string, error) {
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "server: {listen: \"127.0.0.1:0\", max_body_bytes: 1048576}\nstate_dir: %s/state\nclusters:\n", work)
	for _, n := range names {
		fmt.Fprintf(&cfg, "  - {name: %s, stabilize: 0s, members: [%s-1, %s-2, %s-3], source: {type: events, http: true}}\n", n, n, n, n)
	}
	fmt.Fprintf(&cfg, "actions:\n  pager: {type: webhook, url: %q}\nrules:\n  - {name: leader-lost, when: 'type == \"state.is_leaderless\"', actions: [pager], on_resolve: [pager]}\n", hook+"/hook")
	path := filepath.Join(work, "rules.yaml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		return nil, "", err
	}
	return start(bin, path)
}
