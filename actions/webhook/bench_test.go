package webhook_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/dispatch"
)

// receiverStamps answers 200 and reports when each request arrived.
func receiverStamps(b *testing.B) (*httptest.Server, chan time.Time) {
	got := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- time.Now()
	}))
	b.Cleanup(srv.Close)
	return srv, got
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDispatchWebhook measures one firing from Submit to the signed
// webhook arriving at a receiver on loopback, one at a time.
func BenchmarkDispatchWebhook(b *testing.B) {
	srv, got := receiverStamps(b)
	spec := actions.Spec{Type: webhook.Name, Config: webhook.Config{URL: srv.URL, Secret: secret}}.Defaults(webhook.Kind.Delivery)
	a, err := webhook.New("hook", spec, nil)
	if err != nil {
		b.Fatal(err)
	}
	d := dispatch.New(dispatch.Options{Targets: map[string]dispatch.Target{"hook": {Action: a, Spec: spec}}})
	n := notification()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n.FiredAt = start // each firing its own decision, with its own delivery id
		d.Submit(n, []string{"hook"})
		lat = append(lat, (<-got).Sub(start))
	}
	b.StopTimer()
	report(b, lat)
}

// BenchmarkBarePost is the floor for the same receiver: a plain http.Post
// of the same payload, with no queue, signing or audit.
func BenchmarkBarePost(b *testing.B) {
	srv, got := receiverStamps(b)
	n := notification()
	body, _ := n.Payload()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, (<-got).Sub(start))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.StopTimer()
	report(b, lat)
}
