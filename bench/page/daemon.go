package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

// start runs `leaderhook run` and returns its address once it runs.
func start(bin, config string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "run", "-c", config, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	listen := regexp.MustCompile(`"listen":"([^"]+)"`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if m := listen.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "leaderhook running") {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		return cmd, "http://" + addr, nil
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		return nil, "", fmt.Errorf("leaderhook did not start")
	}
}

// postLeaders tells every cluster its members follow its first member.
func postLeaders(base string, names []string) error {
	for _, n := range names {
		if err := post(base, n, "state.has_leader", n+"-1"); err != nil {
			return err
		}
	}
	return nil
}

// post posts one event of each of a cluster's three members, again while
// leaderhook answers 503 (a daemon just started may not decide yet).
func post(base, cluster, typ, leader string) error {
	var err error
	for range 50 {
		if err = postOnce(base, cluster, typ, leader); err == nil || !strings.Contains(err.Error(), "503") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func postOnce(base, cluster, typ, leader string) error {
	var body bytes.Buffer
	for i := 1; i <= 3; i++ {
		extra := ""
		if leader != "" {
			extra = fmt.Sprintf(`,"leaderId":%q`, leader)
		}
		fmt.Fprintf(&body, `{"namespace":"cluster","event_src_id":"%s-%d","timestamp":%q,"eventType":%q%s}`+"\n", cluster, i, time.Now().UTC().Format(time.RFC3339Nano), typ, extra)
	}
	resp, err := http.Post(base+"/v1/events?cluster="+cluster, "application/json", &body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		answer, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("posting events: %s %s", resp.Status, answer)
	}
	return nil
}

// pageKB is the weight of the page: its HTML, style and scripts.
func pageKB(base string) float64 {
	n := 0
	for _, p := range []string{"/", "/ui/style.css", "/ui/timeline.js", "/ui/chart.js", "/ui/live.js"} {
		n += len(fetch(base+p, false))
	}
	return float64(n) / 1e3
}

// answerKB is the size of GET /v1/history for a span, as the page gets it.
func answerKB(base string, span time.Duration) float64 {
	from := time.Now().Add(-span).UTC().Format(time.RFC3339)
	return float64(len(fetch(base+"/v1/history?from="+from, true))) / 1e3
}

func fetch(url string, gzipped bool) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	if gzipped {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

func dirMB(dir string) float64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return float64(n) / 1e6
}

// report writes the results and the section of BENCHMARKS.md.
func report(o options, r results) error {
	fmt.Printf("%+v\n", r)
	if err := benchdoc.WriteJSON(o.out, r); err != nil {
		return err
	}
	if o.md == "" {
		return nil
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	table := fmt.Sprintf(`%s

| %d clusters, %d days of history (%.0f MB) | last 6 h | all %d days |
|---|---|---|
| page shown | **%.2f s** | **%.2f s** |
| a redraw | %.0f ms | %.0f ms |
| JS heap | %.0f MB | %.0f MB |

Page %.0f kB; event to page %.1f s; daemon RSS %.0f MB, peak %.0f MB. Targets (shown ≤ 2 s, zoomed ≤ 10 s, redraw ≤ 250 ms, page ≤ 300 kB): %s.`,
		benchdoc.Header(benchdoc.Machine(), time.Now()), o.clusters, o.days, r.HistoryMB, o.days,
		r.LoadS, r.ZoomS, r.RenderMS, r.RenderWeekMS, r.HeapMB, r.HeapWeekMB,
		r.PageKB, r.LiveS, r.DaemonRSSMB, r.DaemonPeakMB, verdict(r.LoadTargetMet && r.WeightInTarget))
	return benchdoc.Replace(o.md, "page", table)
}
