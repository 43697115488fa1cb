// Package benchdoc lets the benchmark programs rewrite their own tables in
// BENCHMARKS.md and README.md, so that the documents show what the last
// `make bench` measured and nothing copied by hand.
package benchdoc

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// MaxReportBytes bounds BENCHMARKS.md, generated sections included: it is
// a report to read, not a diary (the test of this package holds it to it).
const MaxReportBytes = 10_000

// Replace puts text between the lines "<!-- name:begin -->" and
// "<!-- name:end -->" of the file at path.
func Replace(path, name, text string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the document: %w", err)
	}
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s section", path, begin, end)
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	s = s[:i+len(begin)] + "\n" + text + s[j:]
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return fmt.Errorf("writing the %s section: %w", name, err)
	}
	return nil
}

// Header is the first line of a generated section: when it was measured
// and on which machine (as Machine describes it), so that no figure in it
// needs a date elsewhere. The command that measured it is the one the
// section shows above it.
func Header(machine string, when time.Time) string {
	return fmt.Sprintf("Measured on %s; %s.", when.UTC().Format("2006-01-02"), machine)
}

// Machine describes the machine: cores, CPU model, memory and OS.
func Machine() string {
	cpu, cores := "unknown CPU", 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") && cpu == "unknown CPU" {
				// "Intel(R) Xeon(R)": the marks say nothing of the machine.
				cpu = strings.NewReplacer("(R)", "", "(TM)", "").Replace(strings.TrimSpace(strings.SplitN(l, ":", 2)[1]))
			}
		}
		cores = strings.Count(string(data), "processor\t:")
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
	}
	osName := "Linux"
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	return fmt.Sprintf("%d cores, %s%s, %s", cores, cpu, mem, osName)
}

// WriteJSON writes v, indented, to path: the machine-readable result file
// of a bench program.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}

// ReadJSON reads into v a result file that WriteJSON wrote: to rewrite a
// report from a run without running it again.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading results: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("reading results %s: %w", path, err)
	}
	return nil
}
