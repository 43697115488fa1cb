package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/leaderhook/leaderhook/event"
)

// Without a token, the POST endpoints answer this host only; with one,
// anyone who sends it.
func TestAuthorized(t *testing.T) {
	for _, c := range []struct {
		token, remote, auth string
		want                int
	}{
		{"", "127.0.0.1:5000", "", 200},
		{"", "127.8.9.1:5000", "", 200},
		{"", "[::1]:5000", "", 200},
		{"", "[::ffff:127.0.0.1]:5000", "", 200},
		{"", "192.0.2.1:5000", "", 403},
		{"", "[2001:db8::1]:5000", "", 403},
		{"", "192.0.2.1:5000", "Bearer anything", 403},
		{"s3cret", "192.0.2.1:5000", "Bearer s3cret", 200},
		{"s3cret", "192.0.2.1:5000", "Bearer wrong", 401},
		{"s3cret", "127.0.0.1:5000", "", 401},
	} {
		reloads := 0
		s := &Server{Reload: func() error { reloads++; return nil }}
		s.SetLimits(Limits{Token: c.token})
		r := httptest.NewRequest("POST", "/-/reload", nil)
		r.RemoteAddr = c.remote
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != c.want || (reloads == 1) != (c.want == 200) {
			t.Errorf("token %q from %s with %q: %d (%d reloads), want %d: %s", c.token, c.remote, c.auth, w.Code, reloads, c.want, w.Body)
		}
	}
}

// Refused events are logged, with the reason, at most once a second per
// cluster; a missing ?cluster= says what is missing.
func TestRefusedEventsAreLogged(t *testing.T) {
	var logs strings.Builder
	s := &Server{
		Accepts: func(c string) bool { return c == "ziti" },
		Ingest:  func(context.Context, string, []event.Event) error { return nil },
		Log:     slog.New(slog.NewTextHandler(&logs, nil)),
	}
	post := func(query, body string) (int, string) {
		r := httptest.NewRequest("POST", "/v1/events"+query, strings.NewReader(body))
		r.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	for range 3 {
		if code, _ := post("?cluster=ziti", "{not json"); code != 400 {
			t.Fatalf("bad JSON: %d", code)
		}
	}
	if code, body := post("", "{}"); code != 404 || !strings.Contains(body, "POST /v1/events?cluster=NAME") {
		t.Errorf("no cluster: %d %s", code, body)
	}
	post("?cluster=zitti", "{}")
	l := logs.String()
	if n := strings.Count(l, `msg="events refused" cluster=ziti from=127.0.0.1:5000 reason=`); n != 1 {
		t.Errorf("%d log lines for 3 bad batches in a second, want 1:\n%s", n, l)
	}
	if n := strings.Count(l, `msg="events refused" cluster="" from=127.0.0.1:5000 reason="no cluster named`); n != 1 {
		t.Errorf("unknown clusters: %d lines, want 1 (the second within the second is not logged):\n%s", n, l)
	}
}

// A body is one event (on one line or pretty-printed), an array of them,
// or JSON lines.
func TestDecodeBatch(t *testing.T) {
	ev := `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-01-01T00:00:00Z","eventType":"state.has_leader","leaderId":"c1"}`
	pretty := "{\n  \"namespace\": \"cluster\",\n  \"event_src_id\": \"c1\",\n  \"timestamp\": \"2026-01-01T00:00:00Z\",\n  \"eventType\": \"state.is_leaderless\"\n}\n"
	for _, c := range []struct {
		name, body string
		want       int
		err        string
	}{
		{"one line", ev, 1, ""},
		{"pretty-printed", pretty, 1, ""},
		{"array", "[" + ev + "," + ev + "]", 2, ""},
		{"JSON lines", ev + "\n\n" + ev + "\n", 2, ""},
		{"a bad line", ev + "\n{\"namespace\":\"cluster\"}", 0, "line 2: "},
		{"two objects, pretty", pretty + pretty, 0, "line 7: invalid JSON: invalid character '{' after top-level value"},
		{"pretty-printed, a comma missing", strings.Replace(pretty, `Z",`, `Z"`, 1), 0,
			"line 5: invalid JSON: invalid character '\"' after object key:value pair"},
		{"pretty-printed, cut short", pretty[:40], 0, "line 3: invalid JSON: unexpected end of JSON input"},
	} {
		evs, _, err := decodeBatch([]byte(c.body))
		if len(evs) != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.HasPrefix(err.Error(), c.err)) {
			t.Errorf("%s: %d events, err %v; want %d, %q", c.name, len(evs), err, c.want, c.err)
		}
	}
}

// What no route takes is answered in JSON like every other error: an
// unknown path 404, a known one asked with the wrong method 405 naming the
// methods it takes.
func TestUnroutedRequestsAnswerJSON(t *testing.T) {
	h := (&Server{}).Handler()
	for _, tc := range []struct {
		method, path string
		code         int
		allow, error string
	}{
		{"GET", "/v1/nothing", 404, "", "no such endpoint: /v1/nothing"},
		{"GET", "/v1/events", 405, "POST", "GET /v1/events: use POST"},
		{"PUT", "/v1/expect", 405, "POST, DELETE", "PUT /v1/expect: use POST or DELETE"},
		{"GET", "/healthz", 200, "", ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.RemoteAddr = "127.0.0.1:5000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body struct{ Error string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != tc.code || w.Header().Get("Allow") != tc.allow || body.Error != tc.error {
			t.Errorf("%s %s: %d Allow %q %q, want %d Allow %q error %q", tc.method, tc.path, w.Code, w.Header().Get("Allow"), w.Body.String(), tc.code, tc.allow, tc.error)
		}
	}
}

// Every endpoint that wants the token is named where docs/operations.md
// says which do, and every other one answers without it: an operator
// deciding who may reach server.listen reads that list.
func TestTokenEndpointsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "## Other endpoints")
	list, _, ok := strings.Cut(rest, " require\n`Authorization: Bearer")
	if !ok {
		t.Fatal("docs/operations.md's Other endpoints do not say which endpoints require `Authorization: Bearer`")
	}
	list = list[strings.LastIndex(list, "\n\n")+2:] // the paragraph of the list
	s := &Server{Group: &Group{Status: func() any { return nil }}}
	s.SetLimits(Limits{Token: "s3cret"})
	h := s.Handler()
	for _, route := range []string{"GET /metrics", "GET /healthz", "GET /readyz", "GET /v1/state", "GET /v1/history",
		"POST /v1/events", "POST /-/reload", "POST /v1/expect", "DELETE /v1/expect",
		"GET /v1/ha", "POST /v1/ha/forward", "POST /v1/ha/join", "POST /v1/ha/remove"} {
		method, path, _ := strings.Cut(route, " ")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		guarded, named := w.Code == http.StatusUnauthorized, strings.Contains(list, path+"`")
		if guarded != named {
			t.Errorf("%s: answers %d without the token, but the docs' list %s it:\n%s", route, w.Code, map[bool]string{true: "names", false: "does not name"}[named], list)
		}
	}
}

// An event leaderhook does not take is skipped and counted, and told of;
// the batch is taken and the events beside it decided. One is of an
// eventType leaderhook does not know (one a newer OpenZiti adds); one is
// of leaderhook's own state events (event_src_id "leaderhook"), which only
// replay takes, from a recording: taken from a sender, it would be
// announced as the cluster's state without the view.
func TestEventsLeaderhookDoesNotTakeAreSkippedNotRefused(t *testing.T) {
	for _, tc := range []struct{ name, line, told string }{
		{"unknown eventType", `{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-01-01T00:00:00Z","eventType":"state.new_in_ziti"}`,
			`ziti POST /v1/events from 127.0.0.1:5000:1: skipped: eventType "state.new_in_ziti"`},
		{"leaderhook's own state", `{"namespace":"cluster","event_src_id":"leaderhook","timestamp":"2026-01-01T00:00:00Z","eventType":"state.is_leaderless","cluster":"ziti"}`,
			`ziti POST /v1/events from 127.0.0.1:5000:1: skipped: event_src_id "leaderhook" marks leaderhook's own state events, taken from recordings by replay only`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []event.Event
			var skipped []string
			s := &Server{
				Accepts: func(c string) bool { return c == "ziti" },
				Ingest: func(_ context.Context, _ string, evs []event.Event) error {
					got = append(got, evs...)
					return nil
				},
				Skipped: func(cluster string, le *event.LineError) { skipped = append(skipped, cluster+" "+le.Error()) },
			}
			body := tc.line + "\n" +
				`{"namespace":"cluster","event_src_id":"c1","timestamp":"2026-01-01T00:00:01Z","eventType":"state.is_leaderless"}`
			r := httptest.NewRequest("POST", "/v1/events?cluster=ziti", strings.NewReader(body))
			r.RemoteAddr = "127.0.0.1:5000"
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			var answer map[string]int
			if err := json.Unmarshal(w.Body.Bytes(), &answer); w.Code != http.StatusAccepted || err != nil || answer["accepted"] != 1 || answer["ignored"] != 1 {
				t.Fatalf("%d %s, want 202 {accepted: 1, ignored: 1}", w.Code, w.Body)
			}
			if len(got) != 1 || got[0].Type != event.Leaderless || got[0].Source != "c1" {
				t.Errorf("decided %v, want c1's state.is_leaderless event", got)
			}
			if len(skipped) != 1 || !strings.HasPrefix(skipped[0], tc.told) {
				t.Errorf("told of %q", skipped)
			}
		})
	}
}
