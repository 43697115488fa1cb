package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

// report is one run: what was measured, every round and notification,
// and the scores.
type report struct {
	Machine  string            `json:"machine"`
	Versions map[string]string `json:"versions"`
	When     time.Time         `json:"when"`
	Duration string            `json:"duration"`
	N        int               `json:"n"`
	Rounds   []round           `json:"rounds"`
	Notes    []note            `json:"notes"`
	Scores   []score           `json:"scores"`
}

// Targets of leaderhook, in seconds (medians).
const (
	targetChangeLag = 0.2 // after etcd's survivors know the new leader
	targetLoss      = 0.3 // after the kill that lost quorum
)

// rowNames are the table's rows, by pipeline.
var rowNames = map[string]string{
	"etcd":         "etcd's survivors (reference)",
	pipeLeaderhook: "leaderhook, cookbook `etcd.yaml`",
	pipeTuned:      "Prometheus, 1 s, `for: 0s`",
	pipeMixin:      "Prometheus, etcd mixin, 30 s",
}

func (rep report) find(pipeline string) score {
	for _, s := range rep.Scores {
		if s.Pipeline == pipeline {
			return s
		}
	}
	return score{Pipeline: pipeline}
}

// section is the text between the detection markers of BENCHMARKS.md.
func (rep report) section() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s etcd %s, Prometheus %s; %d kills of each kind%s, in %s.\n\n",
		benchdoc.Header(rep.Machine, rep.When), versionNumber(rep.Versions["etcd"]),
		versionNumber(rep.Versions["prometheus"]), rep.N, rep.unquiet(), rep.Duration)
	b.WriteString("| s after the kill: min / median / max | leader killed → new leader | 2 of 3 killed → no leader | dup. | false |\n|---|---|---|---|---|\n")
	for _, s := range rep.Scores {
		dup, fal := fmt.Sprint(s.Duplicates), fmt.Sprint(s.False)
		if s.Pipeline == "etcd" {
			dup, fal = "", ""
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", rowNames[s.Pipeline], cell(s.Change), cell(s.Loss), dup, fal)
	}
	b.WriteString("\n" + rep.verdicts() + "\n")
	return b.String()
}

// unquiet says how many rounds began before every pipeline had settled.
func (rep report) unquiet() string {
	n := 0
	for _, r := range rep.Rounds {
		if !r.Quiet {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d before every pipeline settled)", n)
}

// cell is "min / median / max", and the misses.
func cell(k kindScore) string {
	if len(k.Latencies) == 0 {
		return "never"
	}
	lo, hi := k.Latencies[0], k.Latencies[0]
	for _, x := range k.Latencies {
		lo, hi = min(lo, x), max(hi, x)
	}
	text := fmt.Sprintf("%s / %s / %s", secs(lo), secs(median(k.Latencies)), secs(hi))
	if k.Missed > 0 {
		text += fmt.Sprintf(", %d missed", k.Missed)
	}
	return text
}

func secs(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// verdicts judges leaderhook against its targets.
func (rep report) verdicts() string {
	lh := rep.find(pipeLeaderhook)
	var parts []string
	judge := func(target, result string, ok bool) {
		parts = append(parts, fmt.Sprintf("%s: %s, %s", target, result, verdict(ok)))
	}
	lag := "none notified"
	if len(lh.Change.Lags) > 0 {
		lag = fmt.Sprintf("%+.2f s", median(lh.Change.Lags))
	}
	judge(fmt.Sprintf("new leader ≤ %.1f s after the survivors", targetChangeLag), lag,
		len(lh.Change.Lags) > 0 && median(lh.Change.Lags) <= targetChangeLag)
	loss := "none notified"
	if len(lh.Loss.Latencies) > 0 {
		loss = secs(median(lh.Loss.Latencies)) + " s"
	}
	judge(fmt.Sprintf("quorum loss ≤ %.1f s after the kill", targetLoss), loss,
		len(lh.Loss.Latencies) > 0 && median(lh.Loss.Latencies) <= targetLoss)
	judge(`no false "no leader" in leader kills`, fmt.Sprint(lh.FalseLoss), lh.FalseLoss == 0)
	missed := lh.Change.Missed + lh.Loss.Missed
	judge("no misses", fmt.Sprint(missed), missed == 0)
	return "Targets (leaderhook, medians): " + strings.Join(parts, "; ") + "."
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// versionNumber is the version in a --version line ("etcd Version:
// 3.4.23", "prometheus, version 2.42.0+ds (…)"), without build suffixes.
func versionNumber(line string) string {
	f := strings.Fields(strings.ReplaceAll(line, ",", " "))
	for i, w := range f {
		if strings.EqualFold(strings.TrimSuffix(w, ":"), "version") && i+1 < len(f) {
			v, _, _ := strings.Cut(f[i+1], "+")
			return v
		}
	}
	return "unknown"
}

func (rep report) write(jsonPath, mdPath string) error {
	if jsonPath != "" {
		if err := benchdoc.WriteJSON(jsonPath, rep); err != nil {
			return err
		}
	}
	if mdPath != "" {
		return benchdoc.Replace(mdPath, "detection", rep.section())
	}
	return nil
}
