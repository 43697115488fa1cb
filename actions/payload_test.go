package actions

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func firing() Notification {
	return Notification{
		DeliveryID: "01J9Z8Q4M6T3V5X7Y9A1B2C3D4", Rule: "leaderless-30s", Status: StatusFiring, Cluster: "ziti-prod",
		Labels:    map[string]string{"env": "prod", "team": "core"},
		FiredAt:   time.Date(2026, 3, 1, 12, 0, 30, 500, time.UTC),
		EventType: "state.is_leaderless",
		Event: map[string]any{"namespace": "cluster", "eventType": "state.is_leaderless", "timestamp": "2026-03-01T12:00:00Z",
			"members": []any{"ctrl1", "ctrl2", "ctrl3"}, "index": 42.0},
		PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30500 * time.Millisecond,
	}
}

func TestPayload(t *testing.T) {
	resolved := Notification{Rule: "r", Status: StatusResolved, Cluster: "c", LeaderID: "ctrl2", DryRun: true,
		FiredAt: time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600))}
	cases := []struct {
		name string
		n    Notification
		want string
	}{
		{"firing", firing(), `{"version":"1","delivery_id":"01J9Z8Q4M6T3V5X7Y9A1B2C3D4","rule":"leaderless-30s","status":"firing",` +
			`"cluster":"ziti-prod","labels":{"env":"prod","team":"core"},"fired_at":"2026-03-01T12:00:30.000000500Z",` +
			`"event":{"eventType":"state.is_leaderless","index":42,"members":["ctrl1","ctrl2","ctrl3"],"namespace":"cluster","timestamp":"2026-03-01T12:00:00Z"},` +
			`"state":{"leader_id":"","previous_leader_id":"ctrl1","leaderless":true,"leaderless_for_ms":30500}}`},
		{"no labels, no event", resolved, `{"version":"1","delivery_id":"","rule":"r","status":"resolved","cluster":"c",` +
			`"labels":{},"fired_at":"2026-03-01T13:00:00.000000000+01:00","event":{},` +
			`"state":{"leader_id":"ctrl2","previous_leader_id":"","leaderless":false,"leaderless_for_ms":0}}`},
	}
	for _, tc := range cases {
		got, err := tc.n.Payload()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.name, got, tc.want)
		}
	}
}

func TestPayloadError(t *testing.T) {
	n := Notification{Event: map[string]any{"bad": func() {}}}
	if _, err := n.Payload(); err == nil {
		t.Error("want an error for an event that cannot be JSON")
	}
}

func TestEnviron(t *testing.T) {
	cases := []struct {
		name string
		n    Notification
		want []string
	}{
		{"firing", firing(), []string{
			"LEADERHOOK_RULE=leaderless-30s",
			"LEADERHOOK_STATUS=firing",
			"LEADERHOOK_CLUSTER=ziti-prod",
			"LEADERHOOK_EVENT_TYPE=state.is_leaderless",
			"LEADERHOOK_LEADER_ID=",
			"LEADERHOOK_PREVIOUS_LEADER_ID=ctrl1",
			"LEADERHOOK_LEADERLESS_SECONDS=30.5",
			"LEADERHOOK_FIRED_AT=2026-03-01T12:00:30.000000500Z",
			"LEADERHOOK_DELIVERY_ID=01J9Z8Q4M6T3V5X7Y9A1B2C3D4",
			"LEADERHOOK_DRY_RUN=false",
		}},
		{"whole seconds, dry run", Notification{Status: StatusResolved, LeaderlessFor: 30 * time.Second, DryRun: true}, []string{
			"LEADERHOOK_RULE=",
			"LEADERHOOK_STATUS=resolved",
			"LEADERHOOK_CLUSTER=",
			"LEADERHOOK_EVENT_TYPE=",
			"LEADERHOOK_LEADER_ID=",
			"LEADERHOOK_PREVIOUS_LEADER_ID=",
			"LEADERHOOK_LEADERLESS_SECONDS=30",
			"LEADERHOOK_FIRED_AT=0001-01-01T00:00:00.000000000Z",
			"LEADERHOOK_DELIVERY_ID=",
			"LEADERHOOK_DRY_RUN=true",
		}},
	}
	for _, tc := range cases {
		if got := tc.n.Environ(); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got: %q\nwant: %q", tc.name, got, tc.want)
		}
	}
}

func render(t *testing.T, text string, n *Notification) (string, error) {
	t.Helper()
	tmpl, err := ParseTemplate("t", text)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	var b strings.Builder
	err = tmpl.Execute(&b, n)
	return b.String(), err
}

func TestTemplateData(t *testing.T) {
	n := firing()
	n.LeaderID = "ctrl2"
	text := "{{ .Rule }}|{{ .Status }}|{{ .Cluster }}|{{ .Labels.env }}|{{ .FiredAt.Unix }}|{{ .Event.eventType }}|" +
		"{{ .LeaderID }}|{{ .PreviousLeaderID }}|{{ .Leaderless }}|{{ .LeaderlessFor }}|{{ .EventType }}|{{ .DeliveryID }}|{{ .DryRun }}"
	want := "leaderless-30s|firing|ziti-prod|prod|1772366430|state.is_leaderless|ctrl2|ctrl1|true|30.5s|state.is_leaderless|01J9Z8Q4M6T3V5X7Y9A1B2C3D4|false"
	got, err := render(t, text, &n)
	if err != nil || got != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
}

func TestTemplateFuncs(t *testing.T) {
	n := firing()
	cases := []struct{ text, want string }{
		{`{{ json .Cluster }}`, `"ziti-prod"`},
		{`{{ json .Labels }}`, `{"env":"prod","team":"core"}`},
		{`{{ json .Event.members }}`, `["ctrl1","ctrl2","ctrl3"]`},
		{`{{ json "a\"<b>" }}`, `"a\"\u003cb\u003e"`},
		{`{{ upper .Status }}`, `FIRING`},
		{`{{ lower "ZITI" }}`, `ziti`},
		{`{{ .Event.members | join ", " }}`, `ctrl1, ctrl2, ctrl3`},
		{`{{ join "," (index .Event "absent") }}`, ``},
		{`{{ default "none" .LeaderID }}`, `none`},
		{`{{ default "none" .PreviousLeaderID }}`, `ctrl1`},
		{`{{ default "none" (index .Event "leaderId") }}`, `none`},
		{`{{ default "none" (index .Labels "region") }}`, `none`},
		{`{{ default 5 .Event.index }}`, `42`},
		{`{{ default "-" .DryRun }}`, `-`},
		{`{{ upper (default "none" .LeaderID) }}`, `NONE`},
		{`{{ ms .LeaderlessFor }}`, `30500`},
		{`{{ seconds .LeaderlessFor }}`, `30.5`},
		{`{{ rfc3339 .FiredAt }}`, `2026-03-01T12:00:30.000000500Z`},
	}
	for _, tc := range cases {
		got, err := render(t, tc.text, &n)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	n := firing()
	for _, text := range []string{
		`{{ .Labels.region }}`,  // missingkey=error: no "<no value>" in a request
		`{{ .Event.leaderId }}`, // likewise
		`{{ join "," .Labels }}`,
		`{{ .Clustr }}`,
	} {
		if got, err := render(t, text, &n); err == nil {
			t.Errorf("%s: want an error, got %q", text, got)
		}
	}
}

// TestPayloadKeys guards the contract that receivers can
// rely on: every key is present even when empty.
func TestPayloadKeys(t *testing.T) {
	data, err := (&Notification{}).Payload()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"cluster", "delivery_id", "event", "fired_at", "labels", "rule", "state", "status", "version"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
}

// payloadJSON is the payload (SPEC §8) as encoding/json writes it, the
// reference for Payload's bytes.
type payloadJSON struct {
	Version    string            `json:"version"`
	DeliveryID string            `json:"delivery_id"`
	Rule       string            `json:"rule"`
	Status     string            `json:"status"`
	Cluster    string            `json:"cluster"`
	Labels     map[string]string `json:"labels"`
	FiredAt    string            `json:"fired_at"`
	Event      map[string]any    `json:"event"`
	State      stateJSON         `json:"state"`
}

type stateJSON struct {
	LeaderID         string `json:"leader_id"`
	PreviousLeaderID string `json:"previous_leader_id"`
	Leaderless       bool   `json:"leaderless"`
	LeaderlessForMS  int64  `json:"leaderless_for_ms"`
}

// TestPayloadBytesAsEncodingJSON: Payload appends its bytes by hand; they
// must be exactly encoding/json's, whatever the strings hold (HTML, control
// characters, invalid UTF-8, U+2028) and however the maps nest.
func TestPayloadBytesAsEncodingJSON(t *testing.T) {
	odd := []string{"<script>&amp;</script>", "tab\tnew\nline\x00\x1f\b\f\r\x7f", "bad \xff utf-8", "line\u2028sep\u2029", `quote " back \ slash`, "é ✓ 𝄞", ""}
	for i, s := range odd {
		n := firing()
		n.Rule, n.Cluster, n.LeaderID = s, s+"c", "l"+s
		n.Labels = map[string]string{s: s, "z" + s: "b", "a": s}
		n.Event = map[string]any{"s": s, s: []any{s, 1.5, true, nil, map[string]any{"k" + s: 2.0, "b": "x"}}, "n": 1e21, "neg": -0.000001}
		got, err := n.Payload()
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if want := asEncodingJSON(t, &n); string(got) != want {
			t.Errorf("case %d (%q):\n got: %s\nwant: %s", i, s, got, want)
		}
	}
}

// asEncodingJSON is the payload of n as encoding/json writes it.
func asEncodingJSON(t testing.TB, n *Notification) string {
	p := payloadJSON{Version: PayloadVersion, DeliveryID: n.DeliveryID, Rule: n.Rule, Status: n.Status, Cluster: n.Cluster,
		Labels: n.Labels, FiredAt: n.FiredAt.Format("2006-01-02T15:04:05.000000000Z07:00"), Event: n.Event,
		State: stateJSON{LeaderID: n.LeaderID, PreviousLeaderID: n.PreviousLeaderID, Leaderless: n.Leaderless, LeaderlessForMS: n.LeaderlessFor.Milliseconds()}}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if p.Event == nil {
		p.Event = map[string]any{}
	}
	want, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(want)
}

// FuzzPayload holds Payload's bytes to encoding/json's for any strings.
func FuzzPayload(f *testing.F) {
	f.Add("ctrl1", "env", "prod", "<b>&\u2028\xff", int64(30500))
	f.Fuzz(func(t *testing.T, s, key, value, other string, ms int64) {
		n := Notification{DeliveryID: other, Rule: s, Status: value, Cluster: key, LeaderID: s, PreviousLeaderID: other,
			Labels: map[string]string{key: value, other: s}, Event: map[string]any{key: s, value: other, "n": float64(ms)},
			FiredAt: time.Unix(0, ms).UTC(), Leaderless: ms%2 == 0, LeaderlessFor: time.Duration(ms)}
		got, err := n.Payload()
		if err != nil {
			t.Fatal(err)
		}
		if want := asEncodingJSON(t, &n); string(got) != want {
			t.Errorf("\n got: %s\nwant: %s", got, want)
		}
	})
}

// BenchmarkPayload: the default body of one notification, as a leader
// change fires it.
func BenchmarkPayload(b *testing.B) {
	n := Notification{DeliveryID: "msg_01a22ca2-fe7c-72dd-bbe9-eecbb64bec21", Rule: "changed", Status: StatusFiring, Cluster: "c0",
		Labels: map[string]string{"env": "prod"}, FiredAt: time.Date(2026, 11, 30, 13, 26, 49, 191677750, time.UTC), EventType: "state.has_leader",
		Event: map[string]any{"cluster": "c0", "eventType": "state.has_leader", "event_src_id": "leaderhook", "leaderId": "b", "namespace": "cluster",
			"previousLeaderId": "a", "since": "2026-11-30T13:26:49.191677750Z", "timestamp": "2026-11-30T13:26:49.191677750Z"},
		LeaderID: "b", PreviousLeaderID: "a"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Payload(); err != nil {
			b.Fatal(err)
		}
	}
}
