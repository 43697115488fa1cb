// Package web holds the live page of `leaderhook run` and the incident
// report of `leaderhook replay --format html`: plain HTML, CSS and
// JavaScript written for them, embedded in the binary, loading nothing
// from elsewhere.
package web

import (
	"embed"
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
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(data)
	})
}
