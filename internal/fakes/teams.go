package fakes

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Teams is a Teams Workflows webhook ("When a Teams webhook request is
// received", posting cards to a channel): it takes a message whose
// attachments hold Adaptive Cards, checks each card's envelope and
// elements, and answers 202 Accepted; a wrong signature gets 401, a
// MessageCard or a malformed card 400, and while RateLimit says so 429.
type Teams struct {
	*httptest.Server
	// Sig is the signature the URL must carry (its `sig` query value).
	Sig         string
	mu          sync.Mutex
	cards       []map[string]any
	refused     []string
	rateLimited int
}

// NewTeams starts a fake Workflows webhook on 127.0.0.1; its URL is
// WebhookURL().
func NewTeams() *Teams {
	t := &Teams{Sig: "Zm9vYmFyYmF6cXV4c2lnbmF0dXJl"}
	t.Server = httptest.NewServer(http.HandlerFunc(t.serve))
	return t
}

// WebhookURL is the URL a workflow gives, signature included.
func (t *Teams) WebhookURL() string {
	return t.URL + "/workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + t.Sig
}

// RateLimit answers the next n requests 429 with Retry-After: 1.
func (t *Teams) RateLimit(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rateLimited = n
}

// Cards returns the cards accepted so far.
func (t *Teams) Cards() []map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.cards)
}

// Refused returns why requests were refused.
func (t *Teams) Refused() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.refused)
}

func (t *Teams) serve(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.URL.Query().Get("sig") != t.Sig {
		t.refused = append(t.refused, "signature")
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "DirectApiAuthorizationRequired", "message": "The request must be authenticated."}})
		return
	}
	if t.rateLimited > 0 {
		t.rateLimited--
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]string{"code": "WorkflowTriggeredTooManyTimes", "message": "Rate limit is exceeded."}})
		return
	}
	cards, err := parseTeamsMessage(r)
	if err != nil {
		t.refused = append(t.refused, err.Error())
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "InvalidRequestContent", "message": err.Error()}})
		return
	}
	t.cards = append(t.cards, cards...)
	w.WriteHeader(http.StatusAccepted)
}

// parseTeamsMessage checks the message envelope and each card.
func parseTeamsMessage(r *http.Request) ([]map[string]any, error) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return nil, fmt.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(body) > 28<<10 {
		return nil, fmt.Errorf("message of %d bytes, over Teams' 28 KB", len(body))
	}
	var msg struct {
		Type        string `json:"type"`
		Context     string `json:"@context"`
		Attachments []struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if msg.Type != "message" || msg.Context != "" || len(msg.Attachments) == 0 {
		return nil, fmt.Errorf("not a message with attachments (type %q, @context %q: MessageCard is not supported)", msg.Type, msg.Context)
	}
	var cards []map[string]any
	for i, a := range msg.Attachments {
		if a.ContentType != "application/vnd.microsoft.card.adaptive" {
			return nil, fmt.Errorf("attachments[%d].contentType %q", i, a.ContentType)
		}
		if err := checkCard(a.Content); err != nil {
			return nil, fmt.Errorf("attachments[%d].content: %w", i, err)
		}
		cards = append(cards, a.Content)
	}
	return cards, nil
}

func checkCard(c map[string]any) error {
	if c["type"] != "AdaptiveCard" || c["$schema"] != "http://adaptivecards.io/schemas/adaptive-card.json" {
		return fmt.Errorf("type %v, $schema %v", c["type"], c["$schema"])
	}
	version, _ := c["version"].(string)
	major, minor, ok := strings.Cut(version, ".")
	m, err := strconv.Atoi(minor)
	if !ok || major != "1" || err != nil || m > 5 {
		return fmt.Errorf("version %q: Teams renders 1.0 to 1.5", version)
	}
	body, _ := c["body"].([]any)
	if len(body) == 0 {
		return fmt.Errorf("no body")
	}
	for _, e := range body {
		if err := checkElement(e, m); err != nil {
			return err
		}
	}
	actions, _ := c["actions"].([]any)
	for _, a := range actions {
		act, _ := a.(map[string]any)
		u, _ := act["url"].(string)
		if parsed, err := url.Parse(u); act["type"] != "Action.OpenUrl" || err != nil || !parsed.IsAbs() {
			return fmt.Errorf("action %v", act)
		}
	}
	return nil
}

// checkElement checks the elements leaderhook's cards use, by the schema
// of the card's version (minor: 1.minor).
func checkElement(e any, minor int) error {
	el, _ := e.(map[string]any)
	switch el["type"] {
	case "TextBlock":
		if s, ok := el["text"].(string); !ok || s == "" {
			return fmt.Errorf("TextBlock without text")
		}
		if c, ok := el["color"]; ok && !slices.Contains([]any{"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"}, c) {
			return fmt.Errorf("TextBlock color %v", c)
		}
	case "FactSet":
		facts, _ := el["facts"].([]any)
		for _, f := range facts {
			fact, _ := f.(map[string]any)
			if _, ok := fact["title"].(string); !ok {
				return fmt.Errorf("fact without title")
			}
			if _, ok := fact["value"].(string); !ok {
				return fmt.Errorf("fact without value")
			}
		}
	case "Container":
		if s, ok := el["style"]; ok && !slices.Contains([]any{"default", "emphasis", "good", "attention", "warning", "accent"}, s) {
			return fmt.Errorf("Container style %v", s)
		}
		if _, bleed := el["bleed"]; bleed && minor < 2 {
			return fmt.Errorf("bleed needs version 1.2")
		}
		items, _ := el["items"].([]any)
		for _, it := range items {
			if err := checkElement(it, minor); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("element type %v", el["type"])
	}
	return nil
}
