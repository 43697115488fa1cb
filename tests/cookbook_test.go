package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/event"
	"github.com/leaderhook/leaderhook/pipeline"
)

// captured is a request an action sent.
type captured struct {
	method, url string
	header      http.Header
	body        []byte
}

// capture is a RoundTripper that keeps the requests and answers 200.
type capture struct {
	mu   sync.Mutex
	reqs []captured
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, captured{r.Method, r.URL.String(), r.Header.Clone(), body})
	c.mu.Unlock()
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Header: http.Header{}, Request: r}, nil
}

// cookbookFragment returns the YAML block of the cookbook whose first line
// starts with prefix, merged into the page's first complete file.
func cookbookFragment(t *testing.T, prefix string) string {
	t.Helper()
	var base string
	for _, b := range readBlocks(t, "../docs/cookbook.md") {
		if b.lang != "yaml" || foreign(b) {
			continue
		}
		if base == "" && topKeys(t, b.text)["clusters"] {
			base = b.text
		}
		if strings.HasPrefix(b.text, prefix) {
			merged, err := mergeYAML(base, b.text)
			if err != nil {
				t.Fatal(err)
			}
			return merged
		}
	}
	t.Fatalf("no block of docs/cookbook.md starts with %q", prefix)
	return ""
}

// sendFromCookbook sends a firing and a resolve through the named action
// of a cookbook block, with event data that tries to break out of the
// JSON and past the service's limits, and returns the requests.
func sendFromCookbook(t *testing.T, prefix, action string) []captured {
	t.Helper()
	cfg, _, err := config.Parse("cookbook.yaml", []byte(cookbookFragment(t, prefix)), docLookup)
	if err != nil {
		t.Fatal(err)
	}
	rec := &capture{}
	targets, err := pipeline.Targets(cfg, cfg.StateDir, &http.Client{Transport: rec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é\"<@everyone>", 600)
	for _, status := range []string{actions.StatusFiring, actions.StatusResolved} {
		n := actions.Notification{DeliveryID: "msg_cookbook", Rule: "leaderless-30s", Status: status, Cluster: cfg.Clusters[0].Name,
			FiredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), EventType: event.Leaderless, PreviousLeaderID: `ctrl"1\n` + long,
			Leaderless: status == actions.StatusFiring, LeaderlessFor: 30 * time.Second, LastOutage: 40 * time.Second, Lasted: 10 * time.Second}
		if _, err := targets[action].Action.Run(context.Background(), &n); err != nil {
			t.Fatalf("%s %s: %v", action, status, err)
		}
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d requests", len(rec.reqs))
	}
	return rec.reqs
}

// decodeStrict decodes a JSON object, refusing keys the service does not
// document.
func decodeStrict(t *testing.T, body []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%v:\n%s", err, body)
	}
}

func atMost(t *testing.T, what, s string, limit int) {
	t.Helper()
	if n := utf8.RuneCountInString(s); n > limit {
		t.Errorf("%s has %d characters, over %d", what, n, limit)
	}
}

// Discord's execute-webhook: content ≤ 2000, ≤ 10 embeds, title ≤ 256,
// description ≤ 4096, 6000 characters in all embeds, colour a 24-bit RGB.
func TestCookbookDiscord(t *testing.T) {
	for _, r := range sendFromCookbook(t, "# Discord", "chat") {
		if r.method != http.MethodPost || !strings.HasPrefix(r.url, "https://discord.com/api/webhooks/") {
			t.Errorf("%s %s", r.method, r.url)
		}
		var p struct {
			Content         string `json:"content"`
			Username        string `json:"username"`
			AvatarURL       string `json:"avatar_url"`
			AllowedMentions struct {
				Parse []string `json:"parse"`
			} `json:"allowed_mentions"`
			Embeds []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
				Color       int    `json:"color"`
				Timestamp   string `json:"timestamp"`
			} `json:"embeds"`
		}
		decodeStrict(t, r.body, &p)
		atMost(t, "content", p.Content, 2000)
		if p.Content == "" && len(p.Embeds) == 0 || len(p.Embeds) > 10 || p.AllowedMentions.Parse == nil || len(p.AllowedMentions.Parse) != 0 {
			t.Errorf("payload %s", r.body)
		}
		total := 0
		for _, e := range p.Embeds {
			atMost(t, "embed title", e.Title, 256)
			atMost(t, "embed description", e.Description, 4096)
			total += utf8.RuneCountInString(e.Title + e.Description)
			if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil || e.Color < 0 || e.Color > 0xFFFFFF {
				t.Errorf("embed %+v", e)
			}
		}
		if total > 6000 {
			t.Errorf("embeds of %d characters", total)
		}
	}
}

// Mattermost's incoming webhook: text (required without attachments,
// ≤ 16383 characters), channel, username.
func TestCookbookMattermost(t *testing.T) {
	for _, r := range sendFromCookbook(t, "# Mattermost", "chat") {
		var p struct {
			Text     string `json:"text"`
			Channel  string `json:"channel"`
			Username string `json:"username"`
			IconURL  string `json:"icon_url"`
		}
		decodeStrict(t, r.body, &p)
		atMost(t, "text", p.Text, 16383)
		if r.method != http.MethodPost || !strings.Contains(r.url, "/hooks/") || p.Text == "" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s %s", r.method, r.url, r.body)
		}
	}
}

// ntfy's JSON publishing: POST to the root URL, topic (1 to 64 of
// [-_A-Za-z0-9]), message, title, priority 1 to 5, tags; a message past
// 4096 bytes would become an attachment.
func TestCookbookNtfy(t *testing.T) {
	topic := regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)
	for i, r := range sendFromCookbook(t, "# ntfy", "chat") {
		var p struct {
			Topic    string   `json:"topic"`
			Message  string   `json:"message"`
			Title    string   `json:"title"`
			Priority int      `json:"priority"`
			Tags     []string `json:"tags"`
			Click    string   `json:"click"`
		}
		decodeStrict(t, r.body, &p)
		if r.method != http.MethodPost || r.url != "https://ntfy.sh" && r.url != "https://ntfy.sh/" || !topic.MatchString(p.Topic) ||
			p.Priority < 1 || p.Priority > 5 || len(p.Message) > 4096 || p.Message == "" {
			t.Errorf("%s %s %s", r.method, r.url, r.body)
		}
		if want := []int{5, 3}[i]; p.Priority != want {
			t.Errorf("priority %d, want %d", p.Priority, want)
		}
	}
}

// Telegram's sendMessage: POST /bot<token>/sendMessage with chat_id (an
// integer or a string) and text of 1 to 4096 characters; without
// parse_mode nothing in the text is markup.
func TestCookbookTelegram(t *testing.T) {
	for _, r := range sendFromCookbook(t, "# Telegram", "chat") {
		if want := fmt.Sprintf("https://api.telegram.org/bot%s/sendMessage", docEnv["TELEGRAM_BOT_TOKEN"]); r.url != want {
			t.Errorf("url %s", r.url)
		}
		var p struct {
			ChatID                any    `json:"chat_id"`
			Text                  string `json:"text"`
			ParseMode             string `json:"parse_mode"`
			DisableWebPagePreview bool   `json:"disable_web_page_preview"`
		}
		decodeStrict(t, r.body, &p)
		atMost(t, "text", p.Text, 4096)
		if p.ChatID != docEnv["TELEGRAM_CHAT_ID"] || p.Text == "" || p.ParseMode != "" {
			t.Errorf("payload %s", r.body)
		}
	}
	// The token in the URL is a secret: a dry run does not show it.
	cfg, _, _ := config.Parse("cookbook.yaml", []byte(cookbookFragment(t, "# Telegram")), docLookup)
	targets, _ := pipeline.Targets(cfg, cfg.StateDir, nil, nil)
	n := actions.Notification{Rule: "r", Status: actions.StatusFiring, Cluster: cfg.Clusters[0].Name}
	if r := pipeline.Render(targets, n, []string{"chat"})[0]; strings.Contains(r.URL, docEnv["TELEGRAM_BOT_TOKEN"]) || r.Error != "" {
		t.Errorf("dry run shows %s (%s)", r.URL, r.Error)
	}
}

// The dead man's switch pings the heartbeat URL every minute.
func TestCookbookDeadMansSwitch(t *testing.T) {
	cfg, _, err := config.Parse("cookbook.yaml", []byte(cookbookFragment(t, "# Add to any file above; the monitor")), docLookup)
	if err != nil {
		t.Fatal(err)
	}
	engine, _, err := pipeline.Engine(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 30, 0, time.UTC)
	out := engine.Observe(event.Event{Source: event.DetectorSource, Cluster: cfg.Clusters[0].Name, Time: start, Type: event.HasLeader,
		LeaderID: "a", Since: start, Baseline: true}, nil)
	out = engine.Advance(start.Add(3*time.Minute), out)
	var pings []time.Time
	for _, o := range out {
		if o.Rule == "heartbeat" && o.Kind == "fired" {
			pings = append(pings, o.Time)
		}
	}
	if len(pings) != 3 || pings[1].Sub(pings[0]) != time.Minute {
		t.Errorf("pings at %v", pings)
	}
	if a := cfg.Actions["heartbeat"]; a.Type != "webhook" {
		t.Errorf("heartbeat action %+v", a)
	}
}
