package tests

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPageShowsNoSecret: whatever the page loads (every resource, and the
// details of every marker) shows no webhook secret, no Slack URL and no
// ${VAR} value, though every action failed with errors that could quote
// them.
func TestPageShowsNoSecret(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(400) // permanent; the answer echoes the request
		fmt.Fprintf(w, "%s %s %s", r.URL, r.Header.Get("X-Routing"), body)
	}))
	defer echo.Close()
	secrets := []string{"whsec_c2VjcmV0LXBhZ2UtdGVzdC1rZXk=", "slackpath0123456789", "pd-routing-0123456789", "hdr-token-0123456789", "sh-token-0123456789"}
	t.Setenv("PD_KEY", secrets[2])
	t.Setenv("HDR_TOKEN", secrets[3])
	t.Setenv("SH_TOKEN", secrets[4])
	dir := t.TempDir()
	listen := freePort(t)
	config := filepath.Join(dir, "rules.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`server: {listen: %q}
state_dir: %s/state
clusters:
  - {name: c1, stabilize: 0s, members: [m1], source: {type: events, http: true}}
actions:
  hook:
    type: webhook
    url: "%s/h"
    secret: %s
    headers: {X-Routing: "${HDR_TOKEN}"}
    body: '{"routing_key": "${PD_KEY}"}'
  chat: {type: slack, webhook_url: "%s/services/T0/B0/%s"}
  fix: {type: shell, command: [/bin/sh, -c, 'echo "token $TOKEN"; exit 1'], env: {TOKEN: "${SH_TOKEN}"}}
rules:
  - {name: gone, when: 'type == "state.is_leaderless"', actions: [hook, chat, fix]}
`, listen, dir, echo.URL, secrets[0], echo.URL, secrets[1])), 0o644)
	startDaemon(t, config)
	base := "http://" + listen
	follow(t, base, "c1", time.Now(), "m1", "m1")
	follow(t, base, "c1", time.Now(), "m1", "")
	b := newBrowser(t)
	b.navigate(t, base+"/")
	b.waitJS(t, "the three failed deliveries", `document.querySelectorAll("#deliveries tr.delivery.failed").length === 3`)
	shown := eval[string](t, b, `(() => {
		let text = document.documentElement.outerHTML;
		for (const m of document.querySelectorAll(".marker, .seg")) {
			m.dispatchEvent(new MouseEvent("click", {bubbles: true}));
			text += document.querySelector("#tip").outerHTML;
		}
		return text;
	})()`)
	if !strings.Contains(shown, "REDACTED") {
		t.Errorf("the page shows no redacted error: were the deliveries' errors shown?\n%s", shown)
	}
	loaded := strings.Join(b.loaded(), " ")
	for _, want := range []string{"/ui/style.css", "/ui/live.js", "/v1/state", "/v1/history"} {
		if !strings.Contains(loaded, want) {
			t.Errorf("the page did not load %s (it loaded %s)", want, loaded)
		}
	}
	for _, u := range append(b.loaded(), base+"/v1/history?from="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)) {
		_, body := get(t, u)
		shown += body
	}
	for _, s := range secrets {
		if strings.Contains(shown, s) {
			t.Errorf("the page shows the secret %s", s)
		}
	}
	b.noErrors(t)
}
