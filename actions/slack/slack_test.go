package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/slack"
)

func notification(status string) actions.Notification {
	n := actions.Notification{DeliveryID: "msg_1", Rule: "leaderless-30s", Status: status, Cluster: "ziti-prod",
		FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC), PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
	if status == actions.StatusResolved {
		n.Leaderless, n.LeaderID, n.LeaderlessFor = false, "ctrl2", 0
	}
	return n
}

// Block Kit rules for what an incoming-webhook message may hold, from
// https://api.slack.com/reference/block-kit (blocks, text objects) and
// https://api.slack.com/reference/messaging/attachments.
var (
	messageKeys    = []string{"text", "channel", "username", "icon_emoji", "icon_url", "attachments", "blocks"}
	attachmentKeys = []string{"color", "blocks", "fallback"}
	textKeys       = []string{"type", "text", "emoji", "verbatim"}
	hexColor       = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

func keysIn(t *testing.T, what string, m map[string]any, allowed []string, required ...string) {
	t.Helper()
	for k := range m {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s: unknown key %q", what, k)
		}
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: %q is required", what, k)
		}
	}
}

// textObject checks a Block Kit text object and returns its text.
func textObject(t *testing.T, what string, v any, types []string, limit int) string {
	t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: not a text object: %v", what, v)
		return ""
	}
	keysIn(t, what, obj, textKeys, "type", "text")
	typ, _ := obj["type"].(string)
	if !slices.Contains(types, typ) {
		t.Errorf("%s: type %q, want one of %v", what, typ, types)
	}
	if _, ok := obj["emoji"]; ok && typ != "plain_text" {
		t.Errorf("%s: emoji applies to plain_text only", what)
	}
	s, _ := obj["text"].(string)
	if n := utf8.RuneCountInString(s); n == 0 || n > limit {
		t.Errorf("%s: text of %d characters, want 1 to %d", what, n, limit)
	}
	return s
}

// validBlockKit checks a message against Block Kit's rules for the parts
// leaderhook uses, and the attachment's colour against the status.
func validBlockKit(t *testing.T, raw []byte, status string) map[string]any {
	t.Helper()
	var msg map[string]any
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	keysIn(t, "message", msg, messageKeys, "text", "attachments")
	if s, _ := msg["text"].(string); strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > slack.MaxText {
		t.Errorf("text (the notification's fallback) must be 1 to 40000 characters: %q", s)
	}
	atts, _ := msg["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments: %v", msg["attachments"])
	}
	att, _ := atts[0].(map[string]any)
	keysIn(t, "attachment", att, attachmentKeys, "color", "blocks")
	want := map[string]string{actions.StatusFiring: "#d00000", actions.StatusResolved: "#2eb67d"}[status]
	if c, _ := att["color"].(string); !hexColor.MatchString(c) || c != want {
		t.Errorf("color %q, want %q for %s", att["color"], want, status)
	}
	blocks, _ := att["blocks"].([]any)
	if len(blocks) == 0 || len(blocks) > 50 {
		t.Fatalf("%d blocks, want 1 to 50", len(blocks))
	}
	var types []string
	for i, b := range blocks {
		block, _ := b.(map[string]any)
		typ, _ := block["type"].(string)
		types = append(types, typ)
		switch typ {
		case "header":
			keysIn(t, "header", block, []string{"type", "text", "block_id"}, "type", "text")
			textObject(t, "header text", block["text"], []string{"plain_text"}, 150)
		case "section":
			keysIn(t, "section", block, []string{"type", "text", "fields", "block_id", "accessory"}, "type")
			fields, hasFields := block["fields"].([]any)
			if _, hasText := block["text"]; !hasText && !hasFields {
				t.Errorf("block %d: a section needs text or fields", i)
			}
			if hasFields && (len(fields) == 0 || len(fields) > 10) {
				t.Errorf("block %d: %d fields, want 1 to 10", i, len(fields))
			}
			for _, f := range fields {
				textObject(t, "field", f, []string{"plain_text", "mrkdwn"}, 2000)
			}
			if text, ok := block["text"]; ok {
				textObject(t, "section text", text, []string{"plain_text", "mrkdwn"}, 3000)
			}
		default:
			t.Errorf("block %d: type %q", i, typ)
		}
		if id, ok := block["block_id"].(string); ok && (id == "" || len(id) > 255) {
			t.Errorf("block %d: block_id %q", i, id)
		}
	}
	if !slices.Equal(types, []string{"header", "section"}) {
		t.Errorf("blocks %v, want a header and a section", types)
	}
	return msg
}

// header and fields of a valid message.
func parts(msg map[string]any) (header string, fields []string) {
	blocks := msg["attachments"].([]any)[0].(map[string]any)["blocks"].([]any)
	header = blocks[0].(map[string]any)["text"].(map[string]any)["text"].(string)
	for _, f := range blocks[1].(map[string]any)["fields"].([]any) {
		fields = append(fields, f.(map[string]any)["text"].(string))
	}
	return header, fields
}

type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	paths  []string
}

func (h *hook) got() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies), slices.Clone(h.paths)
}

// newHook is an incoming webhook answering with handler (200 "ok" if nil).
func newHook(t *testing.T, handler http.HandlerFunc) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.paths = append(h.paths, r.URL.Path)
		h.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "invalid_payload")
			return
		}
		if handler == nil {
			io.WriteString(w, "ok")
			return
		}
		handler(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func newAction(t *testing.T, cfg slack.Config) *slack.Action {
	t.Helper()
	spec := actions.Spec{Type: slack.Name, Config: cfg}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := slack.New("chat", spec, actions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestMessages(t *testing.T) {
	h := newHook(t, nil)
	a := newAction(t, slack.Config{WebhookURL: h.srv.URL + "/services/T0/B0/XXXXXXXXXX", Channel: "#ops", Username: "leaderhook", IconEmoji: ":rotating_light:"})
	for _, status := range []string{actions.StatusFiring, actions.StatusResolved} {
		n := notification(status)
		if out, err := a.Run(context.Background(), &n); err != nil || out.HTTPStatus != 200 || out.Detail != "ok" {
			t.Fatalf("%s: %v %+v", status, err, out)
		}
	}
	bodies, paths := h.got()
	if paths[0] != "/services/T0/B0/XXXXXXXXXX" {
		t.Errorf("posted to %s", paths[0])
	}

	firing := validBlockKit(t, bodies[0], actions.StatusFiring)
	if firing["channel"] != "#ops" || firing["username"] != "leaderhook" || firing["icon_emoji"] != ":rotating_light:" {
		t.Errorf("channel, username, icon_emoji: %v", firing)
	}
	if firing["text"] != "🔴 [FIRING] leaderless-30s on ziti-prod: no leader for 30s (was ctrl1)" {
		t.Errorf("firing text %q", firing["text"])
	}
	header, fields := parts(firing)
	if header != "[FIRING] leaderless-30s" {
		t.Errorf("firing header %q", header)
	}
	want := []string{"*Cluster*\nziti-prod", "*Leader*\nnone", "*Previous leader*\nctrl1", "*Leaderless for*\n30s", "*Fired at*\n2026-01-01 00:00:30 UTC"}
	if !slices.Equal(fields, want) {
		t.Errorf("firing fields %q, want %q", fields, want)
	}

	resolved := validBlockKit(t, bodies[1], actions.StatusResolved)
	if resolved["text"] != "🟢 [RESOLVED] leaderless-30s on ziti-prod: leader ctrl2 (was ctrl1)" {
		t.Errorf("resolved text %q", resolved["text"])
	}
	header, fields = parts(resolved)
	if header != "[RESOLVED] leaderless-30s" || !slices.Contains(fields, "*Leader*\nctrl2") || !slices.Contains(fields, "*Leaderless for*\n—") {
		t.Errorf("resolved header %q fields %q", header, fields)
	}
}

// Whatever a notification holds, the message keeps within Block Kit's
// limits, and mrkdwn values are escaped.
func TestLimitsAndEscaping(t *testing.T) {
	a := newAction(t, slack.Config{WebhookURL: "https://hooks.slack.example/services/T0/B0/X"})
	n := notification(actions.StatusFiring)
	n.Rule = strings.Repeat("r", 400)
	n.Cluster = strings.Repeat("<&>", 1000)
	n.PreviousLeaderID = strings.Repeat("é", 3000)
	n.LeaderlessFor = 26*time.Hour + 3*time.Minute + 4*time.Second
	msg, note := a.Build(&n)
	if note != "" {
		t.Fatal(note)
	}
	raw, _ := json.Marshal(msg)
	m := validBlockKit(t, raw, actions.StatusFiring)
	header, fields := parts(m)
	if !strings.HasPrefix(header, "[FIRING] rrr") || !strings.HasSuffix(header, "…") {
		t.Errorf("a long rule's header: %q", header)
	}
	if !strings.HasPrefix(fields[0], "*Cluster*\n&lt;&amp;&gt;") || !strings.HasSuffix(fields[0], "&gt;…") {
		t.Errorf("cluster field cut inside an entity or not escaped: …%s", fields[0][len(fields[0])-20:])
	}
	if fields[3] != "*Leaderless for*\n1d2h3m4s" {
		t.Errorf("leaderless for %q", fields[3])
	}
	if strings.Contains(m["text"].(string), "<&>") {
		t.Error("the default text does not escape the cluster's name")
	}

	for d, want := range map[time.Duration]string{0: "0s", 450 * time.Millisecond: "450ms", 30 * time.Second: "30s",
		90 * time.Second: "1m30s", time.Hour: "1h", 2*time.Hour + 5*time.Second: "2h5s"} {
		if got := slack.Human(d); got != want {
			t.Errorf("Human(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCustomText(t *testing.T) {
	h := newHook(t, nil)
	a := newAction(t, slack.Config{WebhookURL: h.srv.URL + "/services/T0/B0/X", Text: "<!here> {{ .Rule }} is {{ .Status }} on {{ .Cluster }}"})
	n := notification(actions.StatusResolved)
	if _, err := a.Run(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	bodies, _ := h.got()
	msg := validBlockKit(t, bodies[0], actions.StatusResolved)
	if msg["text"] != "<!here> leaderless-30s is resolved on ziti-prod" {
		t.Errorf("text %q", msg["text"])
	}
}

// A text template that passes the sample check but fails on a real
// notification, or renders nothing, still sends the message, with the
// default text, and the audit detail says which template failed and why.
func TestFailingTextSendsTheDefault(t *testing.T) {
	for _, tc := range []struct{ name, text, why string }{
		{"fails", `<!here> {{ if eq .Status "resolved" }}{{ .Event.leaderId }}{{ end }}x`, `map has no entry for key "leaderId"`},
		{"blank", `{{ if eq .Status "firing" }}x{{ end }} `, "rendered nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHook(t, nil)
			a := newAction(t, slack.Config{WebhookURL: h.srv.URL + "/services/T0/B0/X", Text: tc.text})
			n := notification(actions.StatusResolved)
			n.Event = map[string]any{}
			out, err := a.Run(context.Background(), &n)
			if err != nil {
				t.Fatalf("%+v %v", out, err)
			}
			bodies, _ := h.got()
			if len(bodies) != 1 {
				t.Fatalf("%d messages", len(bodies))
			}
			msg := validBlockKit(t, bodies[0], actions.StatusResolved)
			if msg["text"] != "🟢 [RESOLVED] leaderless-30s on ziti-prod: leader ctrl2 (was ctrl1)" {
				t.Errorf("text %q, want the default", msg["text"])
			}
			for _, want := range []string{"action chat: template text", tc.why, "the default text sent", "ok"} {
				if !strings.Contains(out.Detail, want) {
					t.Errorf("detail %q lacks %q", out.Detail, want)
				}
			}
		})
	}
}

func TestRetryAfterAndSecretURL(t *testing.T) {
	h := newHook(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, "rate_limited")
	})
	secretURL := h.srv.URL + "/services/T000/B000/s3cr3tpath"
	a := newAction(t, slack.Config{WebhookURL: secretURL})
	n := notification(actions.StatusFiring)
	out, err := a.Run(context.Background(), &n)
	if after, ok := actions.RetryAfter(err); !ok || after != 3*time.Second || actions.IsPermanent(err) {
		t.Errorf("429: %v, want retry after 3s", err)
	}
	if out.HTTPStatus != 429 || !strings.Contains(err.Error(), "rate_limited") {
		t.Errorf("429: %+v %v", out, err)
	}
	if strings.Contains(err.Error(), "s3cr3tpath") || strings.Contains(err.Error(), "T000") {
		t.Errorf("error shows the webhook URL: %v", err)
	}
	r, err := a.Render(&n)
	if err != nil || strings.Contains(r.URL, "s3cr3tpath") || strings.Contains(r.URL, "T000") || r.Method != "POST" || r.Kind != "slack" {
		t.Errorf("render: %v %+v", err, r)
	}
	validBlockKit(t, []byte(r.Body), actions.StatusFiring)
}

func TestClassification(t *testing.T) {
	for _, tc := range []struct {
		code      int
		body      string
		permanent bool
	}{{404, "no_service", true}, {400, "invalid_payload", true}, {403, "action_prohibited", true}, {410, "channel_is_archived", true},
		{500, "rollup_error", false}, {503, "", false}} {
		h := newHook(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.code)
			io.WriteString(w, tc.body)
		})
		a := newAction(t, slack.Config{WebhookURL: h.srv.URL + "/services/T1/B1/t0k3n"})
		n := notification(actions.StatusFiring)
		out, err := a.Run(context.Background(), &n)
		if err == nil || actions.IsPermanent(err) != tc.permanent || out.HTTPStatus != tc.code || out.Detail != tc.body {
			t.Errorf("%d: %+v %v, want permanent=%v", tc.code, out, err, tc.permanent)
			continue
		}
		if !strings.Contains(err.Error(), tc.body) || strings.Contains(err.Error(), "t0k3n") {
			t.Errorf("%d: error %q", tc.code, err)
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	a := newAction(t, slack.Config{WebhookURL: "http://" + addr + "/services/T1/B1/t0k3n"})
	n := notification(actions.StatusFiring)
	out, err := a.Run(context.Background(), &n)
	if err == nil || actions.IsPermanent(err) || strings.Contains(err.Error(), "t0k3n") || strings.Contains(out.Detail, "t0k3n") {
		t.Errorf("connection refused: %+v %v, want a retryable error without the URL's path", out, err)
	}
}

func TestNewKeepsTheURLSecret(t *testing.T) {
	_, err := slack.New("chat", actions.Spec{Type: slack.Name, Config: slack.Config{WebhookURL: "ftp://hooks.example/services/T1/B1/t0k3n"}}, actions.Options{})
	if err == nil || strings.Contains(err.Error(), "t0k3n") {
		t.Errorf("bad URL: %v", err)
	}
}
