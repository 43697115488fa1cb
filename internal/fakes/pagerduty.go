// Package fakes holds stand-ins for the services actions deliver to, for
// tests: each checks what it is sent against the service's documented API
// and answers as the service does, errors included.
package fakes

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// PagerDutyEvent is an event the fake PagerDuty accepted.
type PagerDutyEvent struct {
	Change      bool // sent to /v2/change/enqueue
	RoutingKey  string
	EventAction string
	DedupKey    string
	Summary     string
	Source      string
	Severity    string
	Details     map[string]any
}

// PagerDuty is an Events API v2 endpoint: POST /v2/enqueue (alerts) and
// /v2/change/enqueue (changes). It refuses with 400 and the reasons what
// the API would refuse, and answers 429 while RateLimit says so.
type PagerDuty struct {
	*httptest.Server
	mu       sync.Mutex
	accepted []PagerDutyEvent
	refused  []string
	open     map[string]bool // dedup keys of open alerts
	keys     map[string]bool // integration keys it knows; nil: any
	// RateLimited answers the next requests 429, with Retry-After when
	// RetryAfter is set.
	rateLimited int
	retryAfter  string
}

// NewPagerDuty starts a fake PagerDuty on 127.0.0.1.
func NewPagerDuty() *PagerDuty {
	p := &PagerDuty{open: map[string]bool{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// Keys makes the fake know only these integration keys: events with
// another are refused, as PagerDuty refuses an unknown routing key.
func (p *PagerDuty) Keys(keys ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = map[string]bool{}
	for _, k := range keys {
		p.keys[k] = true
	}
}

// RateLimit makes the next n requests answer 429 Too Many Requests, with
// the Retry-After header retryAfter unless it is "".
func (p *PagerDuty) RateLimit(n int, retryAfter string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rateLimited, p.retryAfter = n, retryAfter
}

// Accepted returns the events accepted so far.
func (p *PagerDuty) Accepted() []PagerDutyEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.accepted)
}

// Refused returns why events were refused so far.
func (p *PagerDuty) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refused)
}

// Open reports whether the alert of a dedup key is open.
func (p *PagerDuty) Open(dedupKey string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open[dedupKey]
}

func (p *PagerDuty) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rateLimited > 0 {
		p.rateLimited--
		if p.retryAfter != "" {
			w.Header().Set("Retry-After", p.retryAfter)
		}
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."})
		return
	}
	ev, errs := parsePagerDutyEvent(r)
	if len(errs) == 0 && p.keys != nil && !p.keys[ev.RoutingKey] {
		errs = []string{"Invalid routing key"}
	}
	if len(errs) > 0 {
		p.refused = append(p.refused, strings.Join(errs, "; "))
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
		return
	}
	p.accepted = append(p.accepted, ev)
	switch ev.EventAction {
	case "trigger":
		p.open[ev.DedupKey] = true
	case "resolve":
		delete(p.open, ev.DedupKey)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

// pagerDutyWire is the JSON of an event, strictly decoded.
type pagerDutyWire struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Client      string `json:"client"`
	ClientURL   string `json:"client_url"`
	Payload     *struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		Component     string         `json:"component"`
		Group         string         `json:"group"`
		Class         string         `json:"class"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
	Links []map[string]string `json:"links"`
}

// parsePagerDutyEvent checks a request as the Events API v2 documents it.
func parsePagerDutyEvent(r *http.Request) (PagerDutyEvent, []string) {
	change := r.URL.Path == "/v2/change/enqueue"
	switch {
	case r.Method != http.MethodPost:
		return PagerDutyEvent{}, []string{"method " + r.Method + ", want POST"}
	case !change && r.URL.Path != "/v2/enqueue":
		return PagerDutyEvent{}, []string{"path " + r.URL.Path}
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		return PagerDutyEvent{}, []string{"Content-Type " + r.Header.Get("Content-Type")}
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 512<<10+1))
	if len(body) > 512<<10 {
		return PagerDutyEvent{}, []string{"payload over 512 KB"}
	}
	var w pagerDutyWire
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return PagerDutyEvent{}, []string{"invalid JSON: " + err.Error()}
	}
	errs := checkPagerDuty(&w, change)
	ev := PagerDutyEvent{Change: change, RoutingKey: w.RoutingKey, EventAction: w.EventAction, DedupKey: w.DedupKey}
	if w.Payload != nil {
		ev.Summary, ev.Source, ev.Severity, ev.Details = w.Payload.Summary, w.Payload.Source, w.Payload.Severity, w.Payload.CustomDetails
	}
	return ev, errs
}

func checkPagerDuty(w *pagerDutyWire, change bool) []string {
	var errs []string
	if len(w.RoutingKey) != 32 {
		errs = append(errs, "Length of 'routing_key' is incorrect (should be 32 characters)")
	}
	if utf8.RuneCountInString(w.DedupKey) > 255 {
		errs = append(errs, "'dedup_key' is too long")
	}
	if change {
		if w.EventAction != "" || w.DedupKey != "" {
			errs = append(errs, "a change event has no event_action nor dedup_key")
		}
		return append(errs, checkPayload(w, false)...)
	}
	switch w.EventAction {
	case "trigger":
		errs = append(errs, checkPayload(w, true)...)
	case "acknowledge", "resolve":
		if w.DedupKey == "" {
			errs = append(errs, "'dedup_key' is missing")
		}
	default:
		errs = append(errs, fmt.Sprintf("'event_action' is invalid (%q)", w.EventAction))
	}
	return errs
}

func checkPayload(w *pagerDutyWire, alert bool) []string {
	p := w.Payload
	if p == nil {
		return []string{"'payload' is missing"}
	}
	var errs []string
	if p.Summary == "" {
		errs = append(errs, "'payload.summary' is missing")
	}
	if utf8.RuneCountInString(p.Summary) > 1024 {
		errs = append(errs, "'payload.summary' is over 1024 characters ("+strconv.Itoa(utf8.RuneCountInString(p.Summary))+")")
	}
	if p.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil {
			errs = append(errs, "'payload.timestamp' is not ISO 8601")
		}
	}
	if !alert {
		return errs
	}
	if p.Source == "" {
		errs = append(errs, "'payload.source' is missing")
	}
	if !slices.Contains([]string{"critical", "error", "warning", "info"}, p.Severity) {
		errs = append(errs, fmt.Sprintf("'payload.severity' is invalid (%q)", p.Severity))
	}
	return errs
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
