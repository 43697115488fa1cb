package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/webhook"
	"github.com/leaderhook/leaderhook/dispatch"
)

// verify checks a Standard Webhooks signature from the spec's definition,
// independently of the code under test: HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>" with the base64 key after whsec_.
func verify(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	id, ts, sig := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Errorf("webhook-timestamp %q is not a fresh unix time", ts)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		t.Errorf("webhook-signature %q does not verify (want %q)", sig, want)
	}
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func notification() actions.Notification {
	return actions.Notification{DeliveryID: "msg_test1", Rule: "leaderless-30s", Status: actions.StatusFiring,
		Cluster: "ziti-prod", FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC), PreviousLeaderID: "ctrl1",
		Leaderless: true, LeaderlessFor: 30 * time.Second, Labels: map[string]string{"env": "prod"}}
}

type received struct {
	header http.Header
	body   []byte
}

// server answers with the given codes in turn (200 after them).
func server(t *testing.T, codes ...int) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		i := len(got)
		got = append(got, received{r.Header.Clone(), body})
		mu.Unlock()
		code := 200
		if i < len(codes) {
			code = codes[i]
		}
		if code == 429 {
			w.Header().Set("Retry-After", "2")
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func newAction(t *testing.T, spec actions.Spec) *webhook.Action {
	t.Helper()
	spec.Type = actions.KindWebhook
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := webhook.New("hook", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Through the dispatcher, as in production: a 500 is retried, the retry
// carries the same webhook-id, and both attempts are correctly signed.
func TestFiveHundredThenOKIsRetriedWithTheSameID(t *testing.T) {
	srv, got := server(t, 500)
	spec := actions.Spec{Type: actions.KindWebhook, URL: srv.URL + "/hook?token=abc", Secret: secret, Timeout: 2 * time.Second,
		Retry: actions.Retry{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}}
	d := dispatch.New(dispatch.Options{Targets: map[string]dispatch.Target{"hook": {Action: newAction(t, spec), Spec: spec.Defaults()}}})
	d.Submit(notification(), []string{"hook"})
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	id := reqs[0].header.Get("webhook-id")
	if !strings.HasPrefix(id, "msg_") || reqs[1].header.Get("webhook-id") != id {
		t.Errorf("webhook-ids %q and %q: want one msg_ id for both attempts", id, reqs[1].header.Get("webhook-id"))
	}
	for _, r := range reqs {
		verify(t, secret, r.header, r.body)
		var p map[string]any
		if err := json.Unmarshal(r.body, &p); err != nil || p["delivery_id"] != id || p["rule"] != "leaderless-30s" {
			t.Errorf("payload %s", r.body)
		}
	}
}

func TestClassification(t *testing.T) {
	cases := []struct {
		code      int
		permanent bool
		after     time.Duration
	}{
		{200, false, 0}, {204, false, 0}, {500, false, 0}, {503, false, 0}, {429, false, 2 * time.Second},
		{400, true, 0}, {401, true, 0}, {404, true, 0}, {301, true, 0},
	}
	for _, tc := range cases {
		srv, _ := server(t, tc.code)
		a := newAction(t, actions.Spec{URL: srv.URL, Secret: secret})
		n := notification()
		out, err := a.Run(context.Background(), &n)
		if out.HTTPStatus != tc.code {
			t.Errorf("%d: outcome status %d", tc.code, out.HTTPStatus)
		}
		switch {
		case tc.code < 300:
			if err != nil {
				t.Errorf("%d: %v", tc.code, err)
			}
		case actions.IsPermanent(err) != tc.permanent:
			t.Errorf("%d: permanent=%v, want %v (%v)", tc.code, actions.IsPermanent(err), tc.permanent, err)
		}
		if after, ok := actions.RetryAfter(err); tc.after > 0 && (!ok || after != tc.after) {
			t.Errorf("%d: retry after %v %v, want %v", tc.code, after, ok, tc.after)
		}
	}
}

func TestTimeoutAndRefusedAreRetryable(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	a := newAction(t, actions.Spec{URL: slow.URL + "/x?token=s3cr3t"})
	n := notification()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.Run(ctx, &n)
	if err == nil || actions.IsPermanent(err) || time.Since(start) > 2*time.Second {
		t.Errorf("a receiver that never answers: %v after %s, want a retryable error at ~200ms", err, time.Since(start))
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error shows the URL's token: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	a = newAction(t, actions.Spec{URL: "http://" + addr + "/x"})
	if _, err := a.Run(context.Background(), &n); err == nil || actions.IsPermanent(err) {
		t.Errorf("connection refused: %v, want a retryable error", err)
	}
}

func TestTemplatesHeadersAndRawSecret(t *testing.T) {
	srv, got := server(t)
	a := newAction(t, actions.Spec{URL: srv.URL, Secret: "plain-secret-bytes", Method: "put",
		Headers: map[string]string{"X-Cluster": "{{ .Cluster }}"},
		Body:    `{"text": "{{ .Rule }} on {{ .Cluster }} ({{ .Status }})"}`})
	n := notification()
	if _, err := a.Run(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if string(r.body) != `{"text": "leaderless-30s on ziti-prod (firing)"}` || r.header.Get("X-Cluster") != "ziti-prod" {
		t.Errorf("request %q %v", r.body, r.header)
	}
	mac := hmac.New(sha256.New, []byte("plain-secret-bytes"))
	mac.Write([]byte(r.header.Get("webhook-id") + "." + r.header.Get("webhook-timestamp") + "."))
	mac.Write(r.body)
	if r.header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Error("a raw secret's bytes are not the key")
	}
}

func TestCloudEvents(t *testing.T) {
	srv, got := server(t)
	a := newAction(t, actions.Spec{URL: srv.URL, Format: "cloudevents"})
	n := notification()
	if _, err := a.Run(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	var ce map[string]any
	if err := json.Unmarshal(r.body, &ce); err != nil {
		t.Fatal(err)
	}
	if r.header.Get("Content-Type") != "application/cloudevents+json" || ce["specversion"] != "1.0" || ce["id"] != "msg_test1" ||
		ce["source"] != "leaderhook/ziti-prod" || ce["type"] != "io.leaderhook.rule.firing" || ce["subject"] != "leaderless-30s" {
		t.Errorf("cloudevent %s", r.body)
	}
	if data, ok := ce["data"].(map[string]any); !ok || data["rule"] != "leaderless-30s" {
		t.Errorf("data %v", ce["data"])
	}
}

func TestRenderRedacts(t *testing.T) {
	a := newAction(t, actions.Spec{URL: "https://user:pw@hooks.example/x?token=t0ken", Secret: secret})
	n := notification()
	r, err := a.Render(&n)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(r)
	for _, s := range []string{"t0ken", ":pw@", strings.TrimPrefix(secret, "whsec_")} {
		if strings.Contains(string(all), s) {
			t.Errorf("rendering shows %q: %s", s, all)
		}
	}
	if r.Method != "POST" || r.Headers["Webhook-Id"] != "msg_test1" || !strings.Contains(r.Body, `"rule":"leaderless-30s"`) {
		t.Errorf("rendering %s", all)
	}
}

func TestRenderErrorIsPermanent(t *testing.T) {
	srv, _ := server(t)
	// Valid at load (the sample is firing), fails on a resolve.
	a := newAction(t, actions.Spec{URL: srv.URL, Body: `{{ if eq .Status "resolved" }}{{ .Event.gone }}{{ end }}`})
	n := notification()
	n.Status = actions.StatusResolved
	n.Event = map[string]any{}
	if _, err := a.Run(context.Background(), &n); !actions.IsPermanent(err) {
		var p *actions.PermanentError
		t.Errorf("render failure: %v (permanent %v)", err, errors.As(err, &p))
	}
}
