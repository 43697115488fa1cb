// Package web holds the live page of `leaderhook run` and the incident
// report of `leaderhook replay --format html`: plain HTML, CSS and
// JavaScript written for them, embedded in the binary, loading nothing
// from elsewhere.
package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"path"
)

//go:embed assets
var assets embed.FS

// types of the files the page loads.
var types = map[string]string{
	"style.css":   "text/css; charset=utf-8",
	"timeline.js": "text/javascript; charset=utf-8",
	"chart.js":    "text/javascript; charset=utf-8",
	"live.js":     "text/javascript; charset=utf-8",
}

// Handler serves the live page at / and its files under /ui/.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "live.html"
		contentType := "text/html; charset=utf-8"
		if r.URL.Path != "/" {
			name = path.Base(r.URL.Path)
			contentType = types[name]
		}
		data, err := assets.ReadFile("assets/" + name)
		if contentType == "" || err != nil {
			notFound(w, r.URL.Path)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(data)
	})
}

// notFound answers a path the page does not have in JSON, as the API
// answers its other errors.
func notFound(w http.ResponseWriter, path string) {
	body, _ := json.Marshal(map[string]string{"error": "no such file of the web page: " + path}) // a map of strings encodes
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	w.Write(append(body, '\n'))
}

// WriteReport writes an incident report: the page, its style and scripts
// inline, and data (JSON from encoding/json, which escapes <, > and &, so
// that it cannot end its script element) for them to draw.
func WriteReport(w io.Writer, title string, data []byte) error {
	var parts [4][]byte
	for i, name := range []string{"style.css", "timeline.js", "chart.js", "report.js"} {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		parts[i] = b
	}
	err := reportPage.Execute(w, map[string]any{"Title": title, "CSS": template.CSS(parts[0]),
		"JS": template.JS(string(parts[1]) + "\n" + string(parts[2]) + "\n" + string(parts[3])), "Data": template.JS(data)})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

var reportPage = template.Must(template.ParseFS(assets, "assets/report.html"))
