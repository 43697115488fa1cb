package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestSendPolitelyResendsAfterRetryAfter(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	accepted, refusals := sendPolitely(srv.Client(), srv.URL, "{}", time.Now().Add(time.Minute))
	if !accepted || refusals != 2 || calls.Load() != 3 {
		t.Errorf("accepted %v after %d refusals and %d requests, want true after 2 and 3", accepted, refusals, calls.Load())
	}
}

func TestSendPolitelyGivesUpAtTheDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	start := time.Now()
	accepted, refusals := sendPolitely(srv.Client(), srv.URL, "{}", start.Add(100*time.Millisecond))
	if accepted || refusals != 1 || time.Since(start) > 500*time.Millisecond {
		t.Errorf("accepted %v after %d refusals in %s, want false after 1, without waiting", accepted, refusals, time.Since(start))
	}
}

func TestRetryAfterIsCapped(t *testing.T) {
	for header, want := range map[string]time.Duration{
		"0":   0,
		"1":   time.Second,
		"120": maxRetryWait,
		"":    maxRetryWait,
		"-3":  0,
	} {
		if got := retryAfter(header); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", header, got, want)
		}
	}
}
