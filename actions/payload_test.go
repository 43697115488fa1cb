package actions

import (
	"encoding/json"
	"maps"
	"reflect"
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
		PreviousLeaderID: "ctrl1", Leaderless: true, LeaderlessFor: 30500 * time.Millisecond, Seq: 7, Term: 12,
	}
}

// withContext is a resolve with every context field set, as the
// on_failure action of a pagerduty action gets it.
func withContext() Notification {
	return Notification{Rule: "changed", Status: StatusResolved, Cluster: "c", LeaderID: "e1", PreviousLeaderID: "e1",
		FiredAt: time.Date(2026, 3, 1, 19, 9, 3, 0, time.UTC), StateSince: time.Date(2026, 3, 1, 19, 3, 43, 0, time.UTC),
		LastOutage: 3 * time.Second, Lasted: 2 * time.Minute,
		Failure: Failure{Action: "page", Kind: "pagerduty", Where: "https://pd.example/", Error: "POST https://pd.example/: answered 500", Attempts: 5}}
}

func TestPayload(t *testing.T) {
	resolved := Notification{Rule: "r", Status: StatusResolved, Cluster: "c", LeaderID: "ctrl2", DryRun: true,
		FiredAt: time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("CET", 3600))}
	escaped := Notification{Rule: "<b>&amp;</b>", Status: StatusFiring, Cluster: "tab\tnl\n\x00 \\ \"q\"",
		Labels: map[string]string{"<": "\xff", "a": "é ✓ 𝄞"}, FiredAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Event:    map[string]any{"s": []any{"sep\u2028", 1.5, true, nil}, "m": map[string]any{"k<": 2.0, "b": "x"}, "n": 1e21, "neg": -0.000001},
		LeaderID: "bad \xff\xfe", PreviousLeaderID: "sep\u2028\u2029"}
	cases := []struct {
		name string
		n    Notification
		want string
	}{
		{"firing", firing(), `{"version":"1","delivery_id":"01J9Z8Q4M6T3V5X7Y9A1B2C3D4","rule":"leaderless-30s","status":"firing",` +
			`"cluster":"ziti-prod","labels":{"env":"prod","team":"core"},"fired_at":"2026-03-01T12:00:30.000000500Z",` +
			`"event":{"eventType":"state.is_leaderless","index":42,"members":["ctrl1","ctrl2","ctrl3"],"namespace":"cluster","timestamp":"2026-03-01T12:00:00Z"},` +
			`"state":{"leader_id":"","previous_leader_id":"ctrl1","leaderless":true,"leaderless_for_ms":30500,"members_up":0,"members_total":0,"quorum_margin":0,"unreachable":[],"watcher_isolated":false,"change_kind":"","leaders":[],"split_brain":false,"term":12,"seq":7,"since":"","last_outage_ms":0},` +
			`"summary":"no leader for 31s (was ctrl1)","lasted_ms":0,"held_by":""}`},
		{"escaping", escaped, `{"version":"1","delivery_id":"","rule":"\u003cb\u003e\u0026amp;\u003c/b\u003e","status":"firing",` +
			`"cluster":"tab\tnl\n\u0000 \\ \"q\"","labels":{"\u003c":"\ufffd","a":"é ✓ 𝄞"},"fired_at":"2026-03-01T12:00:00.000000000Z",` +
			`"event":{"m":{"b":"x","k\u003c":2},"n":1e+21,"neg":-0.000001,"s":["sep\u2028",1.5,true,null]},` +
			`"state":{"leader_id":"bad \ufffd\ufffd","previous_leader_id":"sep\u2028\u2029","leaderless":false,"leaderless_for_ms":0,"members_up":0,"members_total":0,"quorum_margin":0,"unreachable":[],"watcher_isolated":false,"change_kind":"","leaders":[],"split_brain":false,"term":0,"seq":0,"since":"","last_outage_ms":0},` +
			`"summary":"leader bad \ufffd\ufffd (was sep\u2028\u2029)","lasted_ms":0,"held_by":""}`},
		{"no labels, no event", resolved, `{"version":"1","delivery_id":"","rule":"r","status":"resolved","cluster":"c",` +
			`"labels":{},"fired_at":"2026-03-01T13:00:00.000000000+01:00","event":{},` +
			`"state":{"leader_id":"ctrl2","previous_leader_id":"","leaderless":false,"leaderless_for_ms":0,"members_up":0,"members_total":0,"quorum_margin":0,"unreachable":[],"watcher_isolated":false,"change_kind":"","leaders":[],"split_brain":false,"term":0,"seq":0,"since":"","last_outage_ms":0},` +
			`"summary":"leader ctrl2","lasted_ms":0,"held_by":""}`},
		{"context", withContext(), `{"version":"1","delivery_id":"","rule":"changed","status":"resolved","cluster":"c",` +
			`"labels":{},"fired_at":"2026-03-01T19:09:03.000000000Z","event":{},` +
			`"state":{"leader_id":"e1","previous_leader_id":"e1","leaderless":false,"leaderless_for_ms":0,"members_up":0,"members_total":0,"quorum_margin":0,"unreachable":[],"watcher_isolated":false,"change_kind":"","leaders":[],"split_brain":false,"term":0,"seq":0,"since":"2026-03-01T19:03:43.000000000Z","last_outage_ms":3000},` +
			`"summary":"page failed for good after 5 attempts (POST https://pd.example/: answered 500): e1 back after 3s; the firing lasted 2m","lasted_ms":120000,"held_by":"",` +
			`"failure":{"action":"page","kind":"pagerduty","where":"https://pd.example/","error":"POST https://pd.example/: answered 500","attempts":5}}`},
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
			"LEADERHOOK_LEADERLESS_SECONDS=30", // 30.5s: whole seconds, for [ -ge ]
			"LEADERHOOK_FIRED_AT=2026-03-01T12:00:30.000000500Z",
			"LEADERHOOK_DELIVERY_ID=01J9Z8Q4M6T3V5X7Y9A1B2C3D4",
			"LEADERHOOK_DRY_RUN=false",
			"LEADERHOOK_SEQ=7",
			"LEADERHOOK_TERM=12",
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
			"LEADERHOOK_SEQ=0",
			"LEADERHOOK_TERM=",
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
	want := []string{"cluster", "delivery_id", "event", "fired_at", "held_by", "labels", "lasted_ms", "rule", "state", "status", "summary", "version"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
}

// FuzzPayload: whatever the strings hold, the payload is valid JSON and
// reads back as the notification's fields (invalid UTF-8 as U+FFFD).
func FuzzPayload(f *testing.F) {
	f.Add("ctrl1", "env", "prod", "<b>&\u2028\xff", int64(30500))
	f.Fuzz(func(t *testing.T, s, key, value, other string, ms int64) {
		n := Notification{DeliveryID: other, Rule: s, Status: value, Cluster: key, LeaderID: s, PreviousLeaderID: other,
			Labels: map[string]string{key: value, other: s}, Event: map[string]any{key: s, value: other, "n": float64(ms)},
			FiredAt: time.Unix(0, ms).UTC(), Leaderless: ms%2 == 0, LeaderlessFor: time.Duration(ms)}
		data, err := n.Payload()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(data) {
			t.Fatalf("not valid JSON: %s", data)
		}
		var got payload
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if got.Summary != readBack(n.Summary()) {
			t.Errorf("summary %q, want %q", got.Summary, n.Summary())
		}
		got.Summary = ""
		firedAt, err := time.Parse(time.RFC3339Nano, got.FiredAt)
		if err != nil || !firedAt.Equal(n.FiredAt) {
			t.Errorf("fired_at %q (%v), want %v", got.FiredAt, err, n.FiredAt)
		}
		want := payload{Version: PayloadVersion, DeliveryID: readBack(other), Rule: readBack(s), Status: readBack(value),
			Cluster: readBack(key), Labels: map[string]string{}, FiredAt: got.FiredAt, Event: map[string]any{},
			State: payloadState{LeaderID: readBack(s), PreviousLeaderID: readBack(other), Leaderless: n.Leaderless, LeaderlessForMS: n.LeaderlessFor.Milliseconds(),
				Unreachable: []string{}, Leaders: []string{}}}
		// Keys that differ only in invalid UTF-8 read back as one: the last
		// in sorted order wins, as the encoder writes them sorted.
		for _, k := range slices.Sorted(maps.Keys(n.Labels)) {
			want.Labels[readBack(k)] = readBack(n.Labels[k])
		}
		for _, k := range slices.Sorted(maps.Keys(n.Event)) {
			v := n.Event[k]
			if s, ok := v.(string); ok {
				v = readBack(s)
			}
			want.Event[readBack(k)] = v
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read back\n got: %+v\nwant: %+v", got, want)
		}
	})
}

// readBack is s as a JSON decoder reads it back: encoding/json writes each
// byte of invalid UTF-8 as U+FFFD, as a conversion to runes does.
func readBack(s string) string { return string([]rune(s)) }

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
