package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// receiver is the webhook receiver of every node: it stamps each request
// as it arrives and answers 200.
type receiver struct {
	url string
	srv *http.Server

	mu       sync.Mutex
	arrivals []arrival
}

// arrival is one request the receiver got.
type arrival struct {
	at                 time.Time
	rule, status, body string
}

func startReceiver() (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	r := &receiver{url: "http://" + l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", r.take)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *receiver) take(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(req.Body)
	var p struct {
		Rule   string `json:"rule"`
		Status string `json:"status"`
	}
	json.Unmarshal(body, &p)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.arrivals = append(r.arrivals, arrival{at: at, rule: p.Rule, status: p.Status, body: string(body)})
}

// firstFiring returns when the first request for a firing of rule whose
// payload holds marker arrived.
func (r *receiver) firstFiring(rule, marker string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.arrivals {
		if a.rule == rule && a.status == "firing" && strings.Contains(a.body, marker) {
			return a.at, true
		}
	}
	return time.Time{}, false
}

func (r *receiver) close() { r.srv.Close() }
