package benchdoc

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestReplaceRewritesOnlyItsSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "intro\n<!-- a:begin -->\nold\n<!-- a:end -->\nmiddle\n<!-- b:begin -->\nkept\n<!-- b:end -->\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(path, "a", "new"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "intro\n<!-- a:begin -->\nnew\n<!-- a:end -->\nmiddle\n<!-- b:begin -->\nkept\n<!-- b:end -->\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := Replace(path, "missing", "x"); err == nil {
		t.Error("a missing section was not reported")
	}
}

var (
	generatedSection = regexp.MustCompile(`(?s)<!-- ([\w-]+):begin -->.*?<!-- ([\w-]+):end -->`)
	codeBlock        = regexp.MustCompile("(?s)```.*?```")
	codeSpan         = regexp.MustCompile("`[^`\n]*`")
	percentileName   = regexp.MustCompile(`\bp(50|90|99)\b`)
	digit            = regexp.MustCompile(`[0-9]`)
)

// TestBenchmarksReport holds BENCHMARKS.md to what makes it true after any
// `make bench`: short, and every figure inside a section a bench program
// rewrites. Commands (code) may carry their parameters; the prose around
// the sections names no number at all, so that none can go stale.
func TestBenchmarksReport(t *testing.T) {
	data, err := os.ReadFile("../../BENCHMARKS.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > MaxReportBytes {
		t.Errorf("BENCHMARKS.md is %d bytes, more than %d", len(data), MaxReportBytes)
	}
	for _, m := range generatedSection.FindAllStringSubmatch(string(data), -1) {
		if m[1] != m[2] {
			t.Errorf("section %s ends with the marker of %s", m[1], m[2])
		}
	}
	prose := generatedSection.ReplaceAllString(string(data), "")
	prose = codeBlock.ReplaceAllString(prose, "")
	prose = codeSpan.ReplaceAllString(prose, "")
	prose = percentileName.ReplaceAllString(prose, "")
	for i, line := range strings.Split(prose, "\n") {
		if digit.MatchString(line) {
			t.Errorf("a figure outside the generated sections (prose line %d): %s", i+1, line)
		}
	}
}
