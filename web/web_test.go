package web

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesThePageAndItsFilesOnly(t *testing.T) {
	h := Handler()
	for path, want := range map[string]string{"/": "text/html", "/ui/style.css": "text/css", "/ui/live.js": "text/javascript",
		"/ui/chart.js": "text/javascript", "/ui/timeline.js": "text/javascript"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), want) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	for _, path := range []string{"/ui/report.html", "/ui/live.html", "/ui/../web.go", "/ui/nothing.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var answer struct{ Error string }
		// Like every other error of the API (docs/operations.md).
		if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &answer) != nil || answer.Error == "" {
			t.Errorf("%s: %d %s %q, want 404 with a JSON error", path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// A hostile id in the data cannot end the report's script element.
func TestReportDataCannotBreakOut(t *testing.T) {
	var b strings.Builder
	data := []byte(`{"title":"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"}`)
	if err := WriteReport(&b, "</title><script>alert(2)</script>", data); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>alert") {
		t.Errorf("the report runs a script from its data or title:\n%s", page[:min(len(page), 400)])
	}
	for _, remote := range []string{"src=", "href=\"http", "url(http"} {
		if strings.Contains(page, remote) {
			t.Errorf("the report refers to something outside it: %s", remote)
		}
	}
}

// The page and its files stay light.
func TestPageWeight(t *testing.T) {
	total := 0
	for _, name := range []string{"live.html", "style.css", "timeline.js", "chart.js", "live.js"} {
		data, err := assets.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(data)
	}
	if total > 300<<10 {
		t.Errorf("the page weighs %d bytes, over 300 kB", total)
	}
}
