package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
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
)

// The secret of the Standard Webhooks reference vector.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// verifier checks Standard Webhooks signatures as a receiver would, written
// from the specification and independent of the code under test:
//
//   - the key is the base64 after "whsec_", or the secret's bytes;
//   - the signed content is "<webhook-id>.<webhook-timestamp>.<body>";
//   - webhook-signature is a space-separated list of "v1,<base64 HMAC-SHA256>";
//   - the timestamp must be within tolerance of the receiver's clock.
type verifier struct {
	key       []byte
	tolerance time.Duration
}

func newVerifier(t *testing.T, secret string) verifier {
	t.Helper()
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			t.Fatal(err)
		}
		return verifier{key: key, tolerance: 5 * time.Minute}
	}
	return verifier{key: []byte(secret), tolerance: 5 * time.Minute}
}

// verify returns the message's timestamp, or an error.
func (v verifier) verify(h http.Header, body []byte, now time.Time) (time.Time, error) {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return time.Time{}, errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("webhook-timestamp is not unix seconds")
	}
	at := time.Unix(sec, 0)
	if now.Sub(at).Abs() > v.tolerance {
		return at, errors.New("webhook-timestamp is outside the tolerance")
	}
	mac := hmac.New(sha256.New, v.key)
	io.WriteString(mac, id)
	io.WriteString(mac, ".")
	io.WriteString(mac, ts)
	io.WriteString(mac, ".")
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return at, nil
		}
	}
	return at, errors.New("no v1 signature matches")
}

func notification() actions.Notification {
	return actions.Notification{DeliveryID: "msg_test1", Rule: "leaderless-30s", Status: actions.StatusFiring,
		Cluster: "ziti-prod", FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC), PreviousLeaderID: "ctrl1",
		Leaderless: true, LeaderlessFor: 30 * time.Second, Labels: map[string]string{"env": "prod"}}
}

type received struct {
	method string
	path   string
	header http.Header
	body   []byte
	at     time.Time
}

// reply is one answer of a test receiver.
type reply struct {
	code   int
	header map[string]string
	body   string
}

// receiver answers with the given replies in turn, then 200.
func receiver(t *testing.T, replies ...reply) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		i := len(got)
		got = append(got, received{r.Method, r.URL.Path, r.Header.Clone(), body, time.Now()})
		mu.Unlock()
		rep := reply{code: 200}
		if i < len(replies) {
			rep = replies[i]
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.code)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func newAction(t *testing.T, cfg webhook.Config) *webhook.Action {
	t.Helper()
	return newActionSpec(t, actions.Spec{Config: cfg})
}

func newActionSpec(t *testing.T, spec actions.Spec) *webhook.Action {
	t.Helper()
	spec.Type = webhook.Name
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := webhook.New("hook", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The reference vector of the Standard Webhooks specification.
func TestSignReferenceVector(t *testing.T) {
	got := webhook.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	// A secret without the whsec_ prefix is its own key.
	mac := hmac.New(sha256.New, []byte("raw secret"))
	io.WriteString(mac, "msg_1.1614265330.body")
	if got, want := webhook.Sign("raw secret", "msg_1", time.Unix(1614265330, 0), []byte("body")),
		"v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("raw secret: Sign = %s, want %s", got, want)
	}
}

// Two attempts of one delivery, a 500 then a 200: the same webhook-id on
// both, each signed with its own fresh timestamp, verified as a receiver
// would; with a whsec_ secret and with a raw one.
func TestFiveHundredThenOKSameIDSignedEachTime(t *testing.T) {
	for _, sec := range []string{secret, "a raw secret, used as bytes"} {
		srv, got := receiver(t, reply{code: 500, body: "try later"})
		a := newAction(t, webhook.Config{URL: srv.URL + "/hook?token=abc", Secret: sec})
		n := notification()

		start := time.Now()
		out, err := a.Run(context.Background(), &n)
		if err == nil || actions.IsPermanent(err) || out.HTTPStatus != 500 || out.Detail != "try later" {
			t.Fatalf("first attempt: %+v %v, want a retryable error with status 500", out, err)
		}
		if _, ok := actions.RetryAfter(err); ok {
			t.Errorf("a 500 without Retry-After asks to wait: %v", err)
		}
		out, err = a.Run(context.Background(), &n)
		if err != nil || out.HTTPStatus != 200 {
			t.Fatalf("second attempt: %+v %v", out, err)
		}
		end := time.Now()

		reqs := got()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		v := newVerifier(t, sec)
		for i, r := range reqs {
			if id := r.header.Get("webhook-id"); id != n.DeliveryID {
				t.Errorf("attempt %d: webhook-id %q, want the delivery id %q", i+1, id, n.DeliveryID)
			}
			at, err := v.verify(r.header, r.body, r.at)
			if err != nil {
				t.Errorf("attempt %d (secret %.8s…): %v", i+1, sec, err)
			}
			// Fresh: the second of this attempt, not of the first one or of the firing.
			if at.Before(start.Truncate(time.Second)) || at.After(end) {
				t.Errorf("attempt %d: webhook-timestamp %v not within the test's [%v, %v]", i+1, at, start, end)
			}
			var p map[string]any
			if err := json.Unmarshal(r.body, &p); err != nil || p["delivery_id"] != n.DeliveryID || p["rule"] != "leaderless-30s" {
				t.Errorf("attempt %d: payload %s", i+1, r.body)
			}
			if r.header.Get("Content-Type") != "application/json" || r.header.Get("User-Agent") != "leaderhook/1" || r.method != "POST" {
				t.Errorf("attempt %d: %s with headers %v", i+1, r.method, r.header)
			}
		}
		// The body of an attempt is bound to its signature.
		tampered := append([]byte(nil), reqs[0].body...)
		tampered[len(tampered)-1] = ' '
		if _, err := v.verify(reqs[0].header, tampered, reqs[0].at); err == nil {
			t.Error("the verifier accepts a tampered body")
		}
	}
}

func TestUnsignedStillSendsWebhookID(t *testing.T) {
	srv, got := receiver(t)
	a := newAction(t, webhook.Config{URL: srv.URL})
	n := notification()
	if _, err := a.Run(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	h := got()[0].header
	if h.Get("webhook-id") != "msg_test1" || h.Get("webhook-signature") != "" || h.Get("webhook-timestamp") != "" {
		t.Errorf("headers without a secret: %v", h)
	}
}

func TestClassification(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	far := time.Now().Add(365 * 24 * time.Hour).UTC().Format(http.TimeFormat)
	cases := []struct {
		reply     reply
		ok        bool
		permanent bool
		after     time.Duration // 0: no RetryAfterError
	}{
		{reply{code: 200}, true, false, 0},
		{reply{code: 201}, true, false, 0},
		{reply{code: 204}, true, false, 0},
		{reply{code: 500}, false, false, 0},
		{reply{code: 502}, false, false, 0},
		{reply{code: 503, header: map[string]string{"Retry-After": "7"}}, false, false, 7 * time.Second},
		{reply{code: 429, header: map[string]string{"Retry-After": "2"}}, false, false, 2 * time.Second},
		{reply{code: 429, header: map[string]string{"Retry-After": date}}, false, false, 90 * time.Second},
		{reply{code: 429}, false, false, 0},
		{reply{code: 408}, false, false, 0}, // request timeout: try again
		{reply{code: 425}, false, false, 0}, // too early: try again
		// Longer waits than MaxRetryAfter are capped, however written.
		{reply{code: 503, header: map[string]string{"Retry-After": "3600"}}, false, false, actions.MaxRetryAfter},
		{reply{code: 503, header: map[string]string{"Retry-After": "99999999999999999999999"}}, false, false, actions.MaxRetryAfter},
		{reply{code: 503, header: map[string]string{"Retry-After": far}}, false, false, actions.MaxRetryAfter},
		{reply{code: 503, header: map[string]string{"Retry-After": "-5"}}, false, false, 0},
		{reply{code: 400, header: map[string]string{"Retry-After": "2"}}, false, true, 0},
		{reply{code: 401}, false, true, 0},
		{reply{code: 404}, false, true, 0},
		{reply{code: 422}, false, true, 0},
		{reply{code: 301, header: map[string]string{"Location": "/elsewhere"}}, false, true, 0},
		{reply{code: 307, header: map[string]string{"Location": "/elsewhere"}}, false, true, 0},
	}
	for _, tc := range cases {
		srv, got := receiver(t, tc.reply)
		a := newAction(t, webhook.Config{URL: srv.URL + "/hook", Secret: secret})
		n := notification()
		out, err := a.Run(context.Background(), &n)
		name := strconv.Itoa(tc.reply.code) + " " + tc.reply.header["Retry-After"]
		if out.HTTPStatus != tc.reply.code {
			t.Errorf("%s: outcome status %d", name, out.HTTPStatus)
		}
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v", name, err)
		}
		if err != nil && actions.IsPermanent(err) != tc.permanent {
			t.Errorf("%s: permanent=%v, want %v (%v)", name, actions.IsPermanent(err), tc.permanent, err)
		}
		after, ok := actions.RetryAfter(err)
		switch {
		case tc.after == 0 && ok:
			t.Errorf("%s: asks to retry after %s", name, after)
		case tc.after > 0 && (!ok || (after-tc.after).Abs() > 2*time.Second):
			t.Errorf("%s: retry after %v (%v), want %v", name, after, ok, tc.after)
		}
		if tc.after == 2*time.Second && after != 2*time.Second {
			t.Errorf("Retry-After: 2 gave %v", after)
		}
		if tc.reply.code/100 == 3 && !strings.Contains(err.Error(), "redirects are not followed") {
			t.Errorf("%s: %v", name, err)
		}
		if reqs := got(); len(reqs) != 1 || reqs[0].path != "/hook" {
			t.Errorf("%s: %d requests (a redirect must not be followed)", name, len(reqs))
		}
	}
}

func TestNoAnswerIsRetryable(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) }) // runs first: the handler returns before Close waits for it
	a := newAction(t, webhook.Config{URL: slow.URL + "/x?token=s3cr3t"})
	n := notification()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := a.Run(ctx, &n)
	took := time.Since(start)
	if err == nil || actions.IsPermanent(err) || took > time.Second {
		t.Fatalf("a receiver that never answers: %v after %s, want a retryable error at ~200ms", err, took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("timeout error: %v", err)
	}
	if out.HTTPStatus != 0 || out.Detail == "" {
		t.Errorf("outcome %+v", out)
	}

	// spec.Timeout bounds an attempt even when the caller's context does not.
	a = newActionSpec(t, actions.Spec{Config: webhook.Config{URL: slow.URL + "/x"}, Timeout: 150 * time.Millisecond})
	start = time.Now()
	if _, err := a.Run(context.Background(), &n); err == nil || actions.IsPermanent(err) || time.Since(start) > time.Second {
		t.Errorf("spec.Timeout: %v after %s", err, time.Since(start))
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	a = newAction(t, webhook.Config{URL: "http://" + addr + "/x"})
	out, err = a.Run(context.Background(), &n)
	if err == nil || actions.IsPermanent(err) {
		t.Errorf("connection refused: %v, want a retryable error", err)
	}
	if _, ok := actions.RetryAfter(err); ok || out.HTTPStatus != 0 {
		t.Errorf("connection refused: %+v %v", out, err)
	}
}

// No error, and no outcome detail, shows the secret or the URL's
// credentials and query, whatever goes wrong.
func TestErrorsNeverShowSecrets(t *testing.T) {
	const token, password = "t0kenvalue", "passw0rd"
	sec := secret
	raw := strings.TrimPrefix(secret, "whsec_")
	leaks := []string{token, password, raw}
	check := func(what string, out actions.Outcome, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, s := range leaks {
			if strings.Contains(err.Error(), s) || strings.Contains(out.Detail, s) {
				t.Errorf("%s: shows %q: error %q, detail %q", what, s, err, out.Detail)
			}
		}
	}
	n := notification()
	// Receivers that echo what they were sent.
	echo := func(code int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(code)
			io.WriteString(w, "bad request to http://u:"+password+"@x.example/p?token="+token+" with "+sec+"\n")
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	for _, code := range []int{400, 429, 500} {
		srv := echo(code)
		u := strings.Replace(srv.URL, "http://", "http://user:"+password+"@", 1) + "/hook?token=" + token
		a := newAction(t, webhook.Config{URL: u, Secret: sec})
		out, err := a.Run(context.Background(), &n)
		check(strconv.Itoa(code), out, err)
		if !strings.Contains(err.Error(), "bad request to") {
			t.Errorf("%d: the error lacks the answer's first line: %v", code, err)
		}
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	a := newAction(t, webhook.Config{URL: "http://user:" + password + "@" + addr + "/hook?token=" + token, Secret: sec})
	out, err := a.Run(context.Background(), &n)
	check("refused", out, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err = a.Run(ctx, &n)
	check("cancelled", out, err)

	// A template that fails at run time.
	srv, _ := receiver(t)
	a = newAction(t, webhook.Config{URL: srv.URL + "/?token=" + token, Secret: sec,
		Body: `{"leader": {{ if eq .Status "resolved" }}{{ json .Event.leaderId }}{{ else }}null{{ end }}}`})
	n.Status, n.Event = actions.StatusResolved, map[string]any{}
	out, err = a.Run(context.Background(), &n)
	check("template", out, err)
}

func TestDetailIsBounded(t *testing.T) {
	big := strings.Repeat("é", 1000) // 2000 bytes
	srv, _ := receiver(t, reply{code: 500, body: big})
	a := newAction(t, webhook.Config{URL: srv.URL})
	n := notification()
	out, _ := a.Run(context.Background(), &n)
	if len(out.Detail) > 512 || len(out.Detail) < 500 || !strings.HasPrefix(big, out.Detail) {
		t.Errorf("detail of %d bytes: %q", len(out.Detail), out.Detail)
	}
}

func TestTemplatesAndHeaders(t *testing.T) {
	srv, got := receiver(t)
	a := newAction(t, webhook.Config{URL: srv.URL + "/in", Method: "put",
		Headers: map[string]string{
			"X-Cluster":    "{{ .Cluster }}",
			"X-Rule":       "{{ .Rule | upper }}",
			"Content-Type": "text/plain; charset=utf-8",
			"webhook-id":   "cannot be overridden",
		},
		Body: `{{ .Rule }} on {{ .Cluster }} ({{ .Status }}, {{ .LeaderlessFor | seconds }}s, env {{ index .Labels "env" }})`})
	n := notification()
	if _, err := a.Run(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	r := got()[0]
	if r.method != "PUT" || r.path != "/in" {
		t.Errorf("%s %s", r.method, r.path)
	}
	if string(r.body) != "leaderless-30s on ziti-prod (firing, 30s, env prod)" {
		t.Errorf("body %q", r.body)
	}
	for h, want := range map[string]string{"X-Cluster": "ziti-prod", "X-Rule": "LEADERLESS-30S",
		"Content-Type": "text/plain; charset=utf-8", "User-Agent": "leaderhook/1", "Webhook-Id": "msg_test1"} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
}

// What a header template inserts is sent with its control characters
// escaped: an id from a hostile member (a newline, a NUL) can neither add
// a header nor make the delivery fail for good, which would lose the page.
func TestHeaderInsertionsWithControlCharactersAreEscaped(t *testing.T) {
	for _, tc := range []struct{ leader, want string }{
		{"ctrl1\r\nX-Injected: 1", `ctrl1\r\nX-Injected: 1`},
		{"ctrl\x001", `ctrl\x001`},
		{"ctrl\x1b[2J\t1", `ctrl\x1b[2J\t1`},
		{"contrôleur-1", "contrôleur-1"},
	} {
		srv, got := receiver(t)
		a := newAction(t, webhook.Config{URL: srv.URL, Headers: map[string]string{"X-Previous-Leader": `was {{ .PreviousLeaderID }}`}})
		n := notification()
		n.PreviousLeaderID = tc.leader
		if _, err := a.Run(context.Background(), &n); err != nil {
			t.Errorf("previous leader %q: %v", tc.leader, err)
			continue
		}
		r := got()
		if len(r) != 1 {
			t.Fatalf("previous leader %q: %d requests", tc.leader, len(r))
		}
		if h := r[0].header.Get("X-Previous-Leader"); h != "was "+tc.want {
			t.Errorf("previous leader %q arrived as %q, want %q", tc.leader, h, "was "+tc.want)
		}
		if h := r[0].header.Get("X-Injected"); h != "" {
			t.Errorf("previous leader %q added a header", tc.leader)
		}
	}
}

func TestRenderErrorIsPermanent(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		// Valid at load (a resolve names its leader), fails on a resolve without.
		{"a missing event key", `{"leader": {{ if eq .Status "resolved" }}{{ json .Event.leaderId }}{{ else }}null{{ end }}}`},
		// index prints a missing key as "<no value>", which no receiver expects.
		{"index of a missing event key", `{"leader": "{{ index .Event "leaderId" }}"}`},
		{"in a header", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := receiver(t)
			cfg := webhook.Config{URL: srv.URL, Body: tc.body}
			if tc.body == "" {
				cfg.Headers = map[string]string{"X-Leader": `{{ index .Event "leaderId" }}`}
			}
			a := newAction(t, cfg)
			n := notification()
			n.Status = actions.StatusResolved
			n.Event = map[string]any{}
			if _, err := a.Run(context.Background(), &n); !actions.IsPermanent(err) {
				t.Errorf("render failure: %v, want a permanent error", err)
			}
			if _, err := a.Render(&n); err == nil {
				t.Error("Render of a failing template: no error")
			}
			if len(got()) != 0 {
				t.Errorf("%d requests were sent", len(got()))
			}
		})
	}
}

func TestCloudEvents(t *testing.T) {
	srv, got := receiver(t)
	a := newAction(t, webhook.Config{URL: srv.URL, Format: "cloudevents", Secret: secret})
	for _, status := range []string{actions.StatusFiring, actions.StatusResolved} {
		n := notification()
		n.Status = status
		if _, err := a.Run(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
	}
	reqs := got()
	for i, status := range []string{"firing", "resolved"} {
		r := reqs[i]
		if _, err := newVerifier(t, secret).verify(r.header, r.body, r.at); err != nil {
			t.Errorf("%s: %v", status, err)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/cloudevents+json" {
			t.Errorf("%s: Content-Type %q", status, ct)
		}
		var ce map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &ce); err != nil {
			t.Fatal(err)
		}
		str := func(k string) string {
			var s string
			if err := json.Unmarshal(ce[k], &s); err != nil {
				t.Errorf("%s: %s is not a string: %s", status, k, ce[k])
			}
			return s
		}
		for k, want := range map[string]string{"specversion": "1.0", "id": "msg_test1", "source": "leaderhook/ziti-prod",
			"type": "io.leaderhook.rule." + status, "subject": "leaderless-30s", "datacontenttype": "application/json"} {
			if got := str(k); got != want {
				t.Errorf("%s: %s = %q, want %q", status, k, got, want)
			}
		}
		at, err := time.Parse(time.RFC3339, str("time"))
		if err != nil || !at.Equal(time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)) {
			t.Errorf("%s: time %q (%v)", status, str("time"), err)
		}
		n := notification()
		n.Status = status
		want, _ := n.Payload()
		var gotData, wantData any
		json.Unmarshal(ce["data"], &gotData)
		json.Unmarshal(want, &wantData)
		if gotJSON, _ := json.Marshal(gotData); string(gotJSON) != string(mustJSON(wantData)) {
			t.Errorf("%s: data %s, want the payload %s", status, ce["data"], want)
		}
		if d, _ := gotData.(map[string]any); d["fired_at"] != str("time") {
			t.Errorf("%s: time %q differs from data.fired_at %v", status, str("time"), d["fired_at"])
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestRenderRedacts(t *testing.T) {
	a := newAction(t, webhook.Config{URL: "https://user:pw@hooks.example/x?token=t0ken", Secret: secret,
		Headers: map[string]string{"Authorization": "Bearer abcdef123", "X-Api-Key": "k3y", "X-Cluster": "{{ .Cluster }}"}})
	n := notification()
	r, err := a.Render(&n)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(r)
	for _, s := range []string{"t0ken", ":pw@", strings.TrimPrefix(secret, "whsec_"), "abcdef123", "k3y"} {
		if strings.Contains(string(all), s) {
			t.Errorf("rendering shows %q: %s", s, all)
		}
	}
	if r.Kind != "webhook" || r.Method != "POST" || !strings.HasPrefix(r.URL, "https://") || !strings.Contains(r.URL, "hooks.example/x") ||
		r.Headers["Webhook-Id"] != "msg_test1" || r.Headers["X-Cluster"] != "ziti-prod" || r.Headers["Authorization"] != "Bearer REDACTED" ||
		r.Headers["Content-Type"] != "application/json" || !strings.Contains(r.Body, `"rule":"leaderless-30s"`) {
		t.Errorf("rendering %s", all)
	}
	if _, ok := r.Headers["Webhook-Signature"]; !ok {
		t.Errorf("rendering does not say the request is signed: %s", all)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	for _, cfg := range []webhook.Config{
		{URL: "ftp://x.example/"},
		{URL: "http://x.example/", Secret: "whsec_not base64!"},
		{URL: "http://x.example/", Body: "{{ .Rule "},
		{URL: "http://x.example/", Headers: map[string]string{"X": "{{ end }}"}},
	} {
		spec := actions.Spec{Type: "webhook", Config: cfg}
		_, err := webhook.New("hook", spec, nil)
		if err == nil {
			t.Errorf("%+v: no error", spec)
		} else if strings.Contains(err.Error(), "not base64!") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

// GET and DELETE send no body and no Content-Type (a heartbeat's ping
// is a GET), unless body is set; the signature covers the empty body.
func TestMethodsWithoutBody(t *testing.T) {
	for _, c := range []struct {
		method, body, wantBody, wantType string
	}{
		{method: "GET"},
		{method: "delete"},
		{method: "GET", body: `{"ping": {{ json .Rule }}}`, wantBody: `{"ping": "leaderless-30s"}`, wantType: "application/json"},
		{method: "POST", wantBody: `"rule":"leaderless-30s"`, wantType: "application/json"},
	} {
		srv, got := receiver(t)
		a := newAction(t, webhook.Config{URL: srv.URL + "/ping", Method: c.method, Body: c.body, Secret: secret})
		n := notification()
		if _, err := a.Run(context.Background(), &n); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		r := got()[0]
		if c.wantBody == "" && len(r.body) != 0 || !strings.Contains(string(r.body), c.wantBody) {
			t.Errorf("%s: body %q, want %q", c.method, r.body, c.wantBody)
		}
		if ct := r.header.Get("Content-Type"); ct != c.wantType {
			t.Errorf("%s: Content-Type %q, want %q", c.method, ct, c.wantType)
		}
		if _, err := newVerifier(t, secret).verify(r.header, r.body, time.Now()); err != nil {
			t.Errorf("%s: %v", c.method, err)
		}
	}
}

// tlsReceiver is an HTTPS receiver whose certificate only its own client
// trusts; the handshakes that fail are not logged.
func tlsReceiver(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// A certificate that does not verify fails the same way at every attempt:
// the delivery fails for good, at once, rather than retrying as if the
// receiver had not answered.
func TestUnverifiedCertificateIsPermanent(t *testing.T) {
	srv := tlsReceiver(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, c := range []struct {
		name   string
		url    string
		client *http.Client
	}{
		// The default client trusts the system's CAs, not the test server's.
		{name: "unknown authority", url: srv.URL + "/x"},
		// The test server's certificate names 127.0.0.1, not localhost.
		{name: "another host's", url: "https://localhost:" + port + "/x", client: srv.Client()},
	} {
		a, err := webhook.New("hook", actions.Spec{Type: webhook.Name, Config: webhook.Config{URL: c.url}}, c.client)
		if err != nil {
			t.Fatal(err)
		}
		n := notification()
		_, err = a.Run(context.Background(), &n)
		if err == nil || !actions.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", c.name, err)
		} else if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: error %q does not say why", c.name, err)
		}
	}
}

// A certificate outside its validity (expired, or not yet valid on a
// machine whose clock is off until NTP syncs it) may verify later, once
// renewed or once the clock is set: the attempt is retried, saying why.
func TestCertificateOutOfValidityIsRetried(t *testing.T) {
	srv := tlsReceiver(t)
	for _, c := range []struct {
		name  string
		clock time.Duration // how far the client's clock is off
	}{
		{name: "expired", clock: 100 * 365 * 24 * time.Hour},
		{name: "not yet valid", clock: -100 * 365 * 24 * time.Hour},
	} {
		client := srv.Client()
		transport := client.Transport.(*http.Transport).Clone()
		transport.TLSClientConfig.Time = func() time.Time { return time.Now().Add(c.clock) }
		client.Transport = transport
		a, err := webhook.New("hook", actions.Spec{Type: webhook.Name, Config: webhook.Config{URL: srv.URL + "/x"}}, client)
		if err != nil {
			t.Fatal(err)
		}
		n := notification()
		_, err = a.Run(context.Background(), &n)
		if err == nil || actions.IsPermanent(err) {
			t.Errorf("%s: %v, want a retryable error", c.name, err)
		} else if !strings.Contains(err.Error(), "the receiver's certificate does not verify") {
			t.Errorf("%s: error %q does not say why", c.name, err)
		}
	}
}
