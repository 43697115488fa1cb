package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leaderhook/leaderhook/actions"
)

func notification(status string) actions.Notification {
	n := actions.Notification{DeliveryID: "msg_1", Rule: "leaderless-30s", Status: status, Cluster: "ziti-prod",
		FiredAt: time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC), PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30 * time.Second}
	if status == actions.StatusResolved {
		n.Leaderless, n.LeaderID, n.LeaderlessFor = false, "ctrl2", 0
	}
	return n
}

// validBlockKit checks a message against Block Kit's rules for the parts
// leaderhook uses: https://api.slack.com/reference/block-kit
func validBlockKit(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var msg map[string]any
	if err := json.Unmarshal(raw, &msg); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if s, _ := msg["text"].(string); s == "" {
		t.Error("text (the notification fallback) is required")
	}
	atts, _ := msg["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments: %v", msg["attachments"])
	}
	att := atts[0].(map[string]any)
	if c, _ := att["color"].(string); !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(c) {
		t.Errorf("color %q", att["color"])
	}
	blocks, _ := att["blocks"].([]any)
	if len(blocks) == 0 || len(blocks) > 50 {
		t.Fatalf("blocks: %d", len(blocks))
	}
	for _, b := range blocks {
		block := b.(map[string]any)
		switch block["type"] {
		case "header":
			text := block["text"].(map[string]any)
			if text["type"] != "plain_text" || len([]rune(text["text"].(string))) > 150 || text["text"] == "" {
				t.Errorf("header %v", text)
			}
		case "section":
			fields, _ := block["fields"].([]any)
			_, hasText := block["text"]
			if len(fields) == 0 && !hasText || len(fields) > 10 {
				t.Errorf("section with %d fields", len(fields))
			}
			for _, f := range fields {
				field := f.(map[string]any)
				if (field["type"] != "mrkdwn" && field["type"] != "plain_text") || len(field["text"].(string)) > 2000 || field["text"] == "" {
					t.Errorf("field %v", field)
				}
			}
		default:
			t.Errorf("block type %v", block["type"])
		}
	}
	return msg
}

func TestMessages(t *testing.T) {
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, b)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	a, err := New("chat", actions.Spec{Type: actions.KindSlack, WebhookURL: srv.URL + "/services/T/B/X", Channel: "#ops", Username: "leaderhook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{actions.StatusFiring, actions.StatusResolved} {
		n := notification(status)
		if out, err := a.Run(context.Background(), &n); err != nil || out.HTTPStatus != 200 {
			t.Fatalf("%s: %v %+v", status, err, out)
		}
	}
	firing := validBlockKit(t, bodies[0])
	resolved := validBlockKit(t, bodies[1])
	if firing["channel"] != "#ops" || firing["username"] != "leaderhook" {
		t.Errorf("channel/username: %v", firing)
	}
	if c := firing["attachments"].([]any)[0].(map[string]any)["color"]; c != ColorFiring {
		t.Errorf("firing color %v", c)
	}
	if c := resolved["attachments"].([]any)[0].(map[string]any)["color"]; c != ColorResolved {
		t.Errorf("resolved color %v", c)
	}
	for _, want := range []string{"*Cluster*\\nziti-prod", "*Leader*\\nnone", "*Previous leader*\\nctrl1", "*Leaderless for*\\n30s", "[FIRING] leaderless-30s"} {
		if !strings.Contains(string(bodies[0]), want) {
			t.Errorf("firing message lacks %q: %s", want, bodies[0])
		}
	}
	if !strings.Contains(string(bodies[1]), "*Leader*\\nctrl2") || strings.Contains(string(bodies[1]), "Leaderless for") {
		t.Errorf("resolved message: %s", bodies[1])
	}
}

func TestCustomTextAndRetryAfter(t *testing.T) {
	calls := 0
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	secretURL := srv.URL + "/services/T000/B000/s3cr3tpath"
	a, err := New("chat", actions.Spec{Type: actions.KindSlack, WebhookURL: secretURL, Text: "{{ .Rule }} is {{ .Status }}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := notification(actions.StatusFiring)
	_, err = a.Run(context.Background(), &n)
	if after, ok := actions.RetryAfter(err); !ok || after != 3*time.Second {
		t.Errorf("429: %v, want retry after 3s", err)
	}
	if strings.Contains(err.Error(), "s3cr3tpath") {
		t.Errorf("error shows the webhook URL: %v", err)
	}
	var msg map[string]any
	json.Unmarshal(body, &msg)
	if msg["text"] != "leaderless-30s is firing" {
		t.Errorf("text %v", msg["text"])
	}
	r, err := a.Render(&n)
	if err != nil || strings.Contains(r.URL, "s3cr3tpath") {
		t.Errorf("render: %v %+v", err, r)
	}
}

func TestNotFoundIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "no_service")
	}))
	defer srv.Close()
	a, _ := New("chat", actions.Spec{Type: actions.KindSlack, WebhookURL: srv.URL + "/x"}, nil)
	n := notification(actions.StatusFiring)
	if _, err := a.Run(context.Background(), &n); !actions.IsPermanent(err) {
		t.Errorf("404: %v, want permanent", err)
	}
}
