package main

import (
	"fmt"
	"io"
	"time"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/dispatch"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
	"github.com/leaderhook/leaderhook/rules"
	"github.com/leaderhook/leaderhook/timeline"
)

// incidentReport is the incident report of `replay --format html`; a nil one
// (other formats) does nothing.
type incidentReport struct {
	html    *timeline.HTML
	cluster string
}

func newReport(cfg *config.Config, cluster string, o replayOptions) *incidentReport {
	if o.format != "html" {
		return nil
	}
	var stabilize time.Duration
	for _, c := range cfg.Clusters {
		if c.Name == cluster {
			stabilize = c.StabilizePeriod()
		}
	}
	return &incidentReport{html: timeline.NewHTML(cluster, stabilize, o.execute), cluster: cluster}
}

func (r *incidentReport) state(ev event.Event) {
	if r != nil {
		r.html.State(ev)
	}
}

func (r *incidentReport) outcome(o rules.Outcome) {
	if r != nil {
		r.html.Outcome(o)
	}
}

// members keeps what the members reported, after each event.
func (r *incidentReport) members(at time.Time, driver *pipeline.Driver) {
	if r == nil {
		return
	}
	if v := driver.View(r.cluster); v != nil {
		r.html.Members(at, v.State())
	}
}

// auditor is what keeps the deliveries' outcomes of --execute, or nil.
func (r *incidentReport) auditor() dispatch.Auditor {
	if r == nil {
		return nil
	}
	return r.html
}

func (r *incidentReport) write(w io.Writer, end time.Time) error {
	if r == nil {
		return nil
	}
	title := fmt.Sprintf("Incident report: %s", event.Printable(r.cluster))
	return r.html.Write(w, title, end)
}

// auditors hands each record to several auditors.
type auditors []dispatch.Auditor

func (a auditors) Record(r dispatch.Record) {
	for _, x := range a {
		x.Record(r)
	}
}
