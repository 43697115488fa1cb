package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/leaderhook/leaderhook/rules"
)

// Descriptions documents every config key, by path: list items are written
// `[]`, map entries `*`. docs/configuration.md and the JSON Schema are made
// from it, and a test fails if a key of the Go types is missing here. The
// keys of each kind of action are documented by its package.
var Descriptions = withActionDocs(map[string]string{
	"server":                    "The HTTP API of `leaderhook run`.",
	"server.listen":             "Address of /metrics, /healthz, /readyz, /v1/state, /v1/events, /v1/expect and /-/reload. Default `127.0.0.1:9464` (loopback only).",
	"server.ingest_token":       "Bearer token required by POST /v1/events, POST and DELETE /v1/expect, POST /-/reload and, in a group, POST /v1/ha/forward, /v1/ha/join and /v1/ha/remove. Use `${ENV}` for it. Without it those answer only clients on the same host (403 to others).",
	"server.max_body_bytes":     "Largest POST /v1/events body, in bytes. Default 1 MiB.",
	"server.external_url":       "The URL where people reach leaderhook (its live page), for links in messages (teams). Empty: no link.",
	"server.tls":                "Serve the API over HTTPS (TLS 1.2 or later) on `listen`, instead of HTTP: set `cert_file` and `key_file` together. leaderhook's own calls to an API then use https: `health`, `expect` and `ha` with `-c`, and in a group a node forwarding to the leader. A reload that changes this block (or `listen`) is refused: restart to apply. A renewed certificate needs neither: its files are read again when they change.",
	"server.tls.cert_file":      "The API's certificate (PEM, its chain after it). It must name the address it is called at: with `-c`, leaderhook's commands call `listen` (at 127.0.0.1 when it listens on every interface); in a group, the others call a node at its `listen` host as written, or at `ha.advertise`'s host (else `bind`'s) when it listens on every interface.",
	"server.tls.key_file":       "Its private key (PEM).",
	"server.tls.client_ca_file": "Require a client certificate this CA signed (PEM) on every request, /metrics and /healthz included: mutual TLS. leaderhook's own calls then present `cert_file`, which must allow client use too (extended key usage clientAuth, or none). Read at start: unlike the certificate, a changed CA file takes a restart.",
	"server.tls.ca_file":        "The CA (PEM) that signed the API certificates of leaderhook's daemons, trusted by leaderhook's own calls to them (the commands with `-c`, a group's forwarding). Default: the system's CAs.",
	"state_dir":                 "Directory for the state that survives restarts: cooldowns, firing rules, cluster views (a loss still waiting out `stabilize` included: it is announced when due, dated from its start), windows of expected changes, pending deliveries, file positions. Default `./leaderhook-state`.",
	"audit_log":                 "JSON-lines file of every firing, every action attempt, and every window of expected changes declared or ended early (`leaderhook expect`). Empty: no audit log.",
	"history":                   "The history of state changes, rule outcomes and deliveries that the web page's timeline shows, kept in `state_dir/history`. The oldest part goes when either bound is reached. Applies at a start: a reload that changes it is refused.",
	"history.max_age":           "How long history is kept. Default `168h` (7 days).",
	"history.max_bytes":         "Most bytes of history kept on disk. Default 50 MiB.",
	"timezone":                  "IANA time zone of cron schedules and mute windows. Default `UTC`. At a DST change they run as cronie does: a time the clocks skip is taken at the change (a window then opens there for its full duration), one they repeat is taken once, and a schedule whose minute or hour field starts with `*` simply runs by the clock.",
	"ha":                        "Run as one node of a group of leaderhook nodes on raft (docs/ha.md). Without it, leaderhook runs alone.",
	"ha.node_id":                "This node's id: one of `peers[].id`.",
	"ha.bind":                   "Address of this node's raft transport (host:port).",
	"ha.advertise":              "Address the other nodes reach this one at, when `bind` is not reachable as it is.",
	"ha.peers":                  "Every node of the group, this one included.",
	"ha.peers[].id":             "A node's id.",
	"ha.peers[].address":        "A node's raft address (its `advertise`, or else its `bind`).",
	"ha.data_dir":               "Where this node keeps its raft log and snapshots.",
	"ha.tls":                    "Mutual TLS between the nodes: set all three or none. Without it, whoever reaches `bind` can write to the group's log: `check` warns when `bind` is reachable from other hosts.",
	"ha.tls.cert_file":          "This node's certificate (PEM, its chain after it), for both server and client auth. Signed by `ca_file`, it need not name the node's address. Read again when renewed: no restart.",
	"ha.tls.key_file":           "Its private key (PEM), read again with the certificate.",
	"ha.tls.ca_file":            "The CA that signed every node's certificate (PEM).",
	"ha.fail_open_after":        "How long a node goes without a group leader before it decides and pages alone, from its own state and sources. Default `10s`; `0s` turns fail-open off.",
	"flight_recorder_bytes":     "`leaderhook run`: the flight recorder's bound, in bytes. The daemon writes every member event it decides on, as dated, to `state_dir/inputs.jsonl` before deciding on it, with its starts and the passing of time, so that `leaderhook replay -c CONFIG state_dir/inputs.1.jsonl state_dir/inputs.jsonl` reproduces its decisions (docs/operations.md, Flight recorder). When `inputs.jsonl` reaches half the bound it becomes `inputs.1.jsonl`, replacing the older one. Default `52428800` (50 MiB); `0` turns the recorder off.",
	"max_clock_skew":            "`leaderhook run`: how far a live event's own timestamp may be from leaderhook's clock when it arrives. Within it, the event keeps its timestamp; beyond it (a member's clock is off, or the event is late), it is dated on arrival, logged and counted. Default `5s`. Replay uses recorded timestamps.",

	"clusters":                        "The clusters to watch (at least one).",
	"clusters[].name":                 "Unique name; appears in events, rules (`cluster`), metrics and URLs.",
	"clusters[].labels":               "Free labels, available to rules as `labels` and on every notification (payloads, templates' `.Labels`, Alertmanager's labels), under a rule's own `labels`.",
	"clusters[].split_brain_after":    "How long more than one member must claim the lead (or one claim it while a majority follows another) before `state.split_brain` is announced and `split_brain` turns true. Default `3s`.",
	"clusters[].stabilize":            "How long a loss of leader must hold before it is announced (flap damping). Default `2s`; `0s` announces at once.",
	"clusters[].members":              "Fixed membership (member names as they appear in events). Default: learned from the events: every source (`event_src_id`) and every peer they name, until a `members.changed` event says who the members are, and at most 100 members (a warning names the first source ignored past that). A learned member that no other member names (as a peer, or as the leader it follows) and that stays silent for 10 minutes while the others follow a leader is forgotten until it reports again. A learned membership still counts whatever names senders use: configure `members` to make the quorum math (`members_total`, `quorum_margin`, a lost majority) exact.",
	"clusters[].source":               "Where the cluster's leader state comes from.",
	"clusters[].source.type":          "`events` (OpenZiti-format events from a file, stdin or HTTP), `poll` (status endpoints) or `raft` (library use only: a Go program that embeds leaderhook loads the file with `config.Load`; `check` and `run` refuse it).",
	"clusters[].source.file":          "events: a JSONL file followed like `tail -F` (rotation and truncation handled: a file moved away is read until a new one at the path has data (logrotate's `create` makes it empty before the writer reopens) or the moved one is deleted, and to its end before the new one; position kept across restarts; a file rotated while leaderhook was down is read to its end first, if it is still beside it uncompressed).",
	"clusters[].source.http":          "events: accept POST /v1/events?cluster=NAME.",
	"clusters[].source.stdin":         "events: read JSONL from standard input (one cluster at most: `check` refuses a second).",
	"clusters[].source.preset":        "poll: `etcd`, `rqlite`, `consul`, `nomad`, `vault`, `openziti` or `generic`.",
	"clusters[].source.members":       "poll: the base URL of every member's API, reached directly: `HTTP_PROXY` and `HTTPS_PROXY` do not apply to polls (they do to actions). A password in it (`http://user:pass@db1:4001`, rqlite's basic auth) is sent, but shown as `xxxxx` wherever the URL is: a member's name until it answers, logs, errors. A `/`, `?`, `#` or `@` in the password is written percent-encoded (`%2F`, `%3F`, `%23`, `%40`): a URL that does not parse is refused, and one with an `@` after its host (`http://db1:4001/status?owner=ops@example.com`, or a password with a `/` that ended the host early) loads with a warning, is polled as it parses and is shown with what may be a password (from the first `:` after `//` to the last `@`) as `xxxxx`. A member's redirect is followed only on its host, so that no credential goes elsewhere.",
	"clusters[].source.interval":      "poll: time between polls (±10% jitter). Default `1s`.",
	"clusters[].source.timeout":       "poll: time limit of one poll. Default twice the interval, at least `1s`: a busy member that answers late is not a lost member.",
	"clusters[].source.grace":         "poll: how long a member may give no answer (timeouts, errors) before it is counted as unknown; until then its last report stands. A member whose connections are refused (its process is gone) counts as down at once. Default three intervals, at least `1s`.",
	"clusters[].source.path":          "poll, generic: path of the status endpoint, appended to each member URL.",
	"clusters[].source.method":        "poll, generic: HTTP method. Default GET.",
	"clusters[].source.body":          "poll, generic: request body.",
	"clusters[].source.leader":        "poll, generic: expr expression over `response` (the decoded JSON) giving the leader id, `\"\"` or `nil` for none. A number is read as its decimal text (`3` is `\"3\"`); an id from 2^53 up must come as a string, which a JSON number does not hold exactly. An API that says no leader with `0` is read with `response.leader == 0 ? nil : response.leader`. Any other value (a bool, an object, a list) is a poll error: the member is not heard, rather than leaderless; an expression that can only yield one is refused by `check`.",
	"clusters[].source.self":          "poll, generic: expr expression over `response` giving the polled member's own id, in the same forms as `leader`'s (`response.id`, say). Set it when `leader` names the leader by an id of the API rather than by its URL: the member then goes by that id, so that the leader is a member, which ends its lead when its process is gone and counts it among the leaders claimed. Default: each member goes by its URL.",
	"clusters[].source.ca_file":       "poll: PEM file of the CA that signed the members' certificates. Default: the system's CAs.",
	"clusters[].source.cert_file":     "poll: PEM client certificate for mutual TLS (etcd `--client-cert-auth`, Consul `verify_incoming`, ...), with `key_file`. Read again when it changes, so a renewed certificate needs no restart.",
	"clusters[].source.key_file":      "poll: PEM private key of `cert_file`.",
	"clusters[].source.server_name":   "poll: name to verify in the members' certificates instead of the host of their URLs (members by IP address, say).",
	"clusters[].source.username":      "poll, etcd and openziti: login name. etcd: a user of etcd's auth (`etcdctl user add`); leaderhook logs in and sends the token, again when a member rejects it.",
	"clusters[].source.password":      "poll, etcd and openziti: password (use `${ENV}`). Never written in logs or errors.",
	"clusters[].source.token":         "poll, consul, nomad and vault: ACL token, sent as `X-Consul-Token`, `X-Nomad-Token` or `X-Vault-Token` (use `${ENV}`). Consul and Nomad with ACLs need one allowed `agent:read` (for `/v1/agent/self`). Never written in logs or errors.",
	"actions":                         "Named actions that rules refer to.",
	"actions.*.retry":                 "Retries of one delivery, with exponential backoff and jitter.",
	"actions.*.retry.initial_backoff": "Wait before the second attempt. Default `1s`.",
	"actions.*.retry.max_backoff":     "Longest wait between attempts. Default `1m`. A receiver's `Retry-After` (on 408, 425, 429 or 5xx) wins over it, up to 5m: a longer one waits 5m.",
	"actions.*.on_failure":            "Actions to run when a delivery fails for good. Those that got a firing in place of this action also get the rule's resolve of that episode to it, once, however the resolve to this action ends (remembered under `state_dir` across restarts, and by a whole `ha` group).",
	"windows":                         "Named mute windows.",
	"windows.*.schedule":              "Cron schedule of the window's opening: 5 fields, or a descriptor such as `@daily`; not `@every`, which names no time of day.",
	"windows.*.duration":              "How long the window stays open.",
	"rules":                           "The rules.",
	"rules[].name":                    "Unique name.",
	"rules[].description":             "Free text for people.",
	"rules[].when":                    "expr condition over the rule variables (below).",
	"rules[].for":                     "The condition must hold this long before the rule fires, counted from when leaderhook saw it become true (for a loss: when the loss is announced, after `stabilize`). To count from a loss's true start, write `leaderless_for >= duration(\"30s\")` instead.",
	"rules[].repeat":                  "Fire again at this interval while the condition holds. A `cooldown` longer than it holds each repeat to the end of the cooldown (suppressed, then fired), so the rule repeats every cooldown. After leaderhook was down for longer, it repeats once at the start, and counts from there.",
	"rules[].cooldown":                "A firing within this time of the previous one is suppressed (it fires at the end if the condition still holds; a scheduled rule's time in a cooldown is skipped, not made up).",
	"rules[].cooldown_key":            "expr expression: cooldowns are kept per value (e.g. `leader_id`).",
	"rules[].mute":                    "Windows during which firings are suppressed (they fire at the window's end if still true; a scheduled rule's time in a window is skipped, not made up).",
	"rules[].schedule":                "Cron schedule: the rule fires at these times when its condition holds. Times missed while leaderhook was down are made up by one run at the start (a rule added or changed meanwhile missed none: its times start then). It has no resolve: an `alertmanager` alert it posts ends by itself four refreshes later, a `pagerduty` incident stays open until someone resolves it.",
	"rules[].fire_on_start":           "Fire for a condition already true when leaderhook starts.",
	"rules[].clusters":                "Only these clusters. Default: all.",
	"rules[].actions":                 "Actions when the rule fires.",
	"rules[].on_resolve":              "Actions when a rule that fired resolves.",
	"rules[].labels":                  "Static labels on every notification of the rule (firing, resolve, `verify_failed`), over the cluster's labels (the rule's win on a clash): in the payload's `labels`, templates' `.Labels`, Alertmanager's alert labels, PagerDuty's `custom_details`. E.g. `{severity: critical, team: db}`, for Alertmanager to route on. Names as Prometheus's (`[a-zA-Z_][a-zA-Z0-9_]*`); `alertname` and `cluster` are reserved. The rule's expressions do not see them: their `labels` is the cluster's.",
	"rules[].verify":                  "Check that the rule's actions worked: once every action of a firing has succeeded, `when` must hold within `within`, or `on_failure` run with status `verify_failed`. A rule with `verify` needs `actions`; a scheduled rule cannot have it.",
	"rules[].verify.when":             "expr condition over the rule variables that the actions should bring about, e.g. `!leaderless` or `!leaderless && leader_id != previous_leader_id` (while leaderless, leader_id is \"\" and previous_leader_id the lost leader: `leader_id != previous_leader_id` alone holds at once); evaluated like `when` from the moment every action of the firing succeeded.",
	"rules[].verify.within":           "How long after every action succeeded `verify.when` may take to come true (positive). At exactly that instant, if it has not, the verification fails. A new firing of the rule starts a new verification.",
	"rules[].verify.on_failure":       "Actions to run, with status `verify_failed`, when `verify.when` did not come true in time. The rule's resolve closes what they opened (an Alertmanager alert, a PagerDuty incident) only in those of them also in `on_resolve`: `check` warns of one that is not.",
})

// Keys returns every key path of the config, in the form Descriptions
// uses, from the Go types.
func Keys() []string {
	var keys []string
	walkKeys(configType, "", &keys)
	slices.Sort(keys)
	return keys
}

func walkKeys(t reflect.Type, prefix string, keys *[]string) {
	for _, k := range keysOf(t) {
		path := joinKey(prefix, k.name)
		*keys = append(*keys, path)
		ft := k.typ
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			walkKeys(ft, path, keys)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			walkKeys(ft.Elem(), path+"[]", keys)
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
			walkKeys(ft.Elem(), path+".*", keys)
		}
	}
}

// Schema returns a JSON Schema (2020-12) of the config file, for editors.
func Schema() map[string]any {
	s := schemaWriter{enums: enums}.of(configType, "")
	s["type"] = "object" // an empty file is no config
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://leaderhook.dev/schema/config.json"
	s["title"] = "leaderhook configuration"
	return s
}

// mapKeyNames constrains the keys of maps, by path: what their validation
// checks of the names, for editors.
var mapKeyNames = map[string]map[string]any{
	"rules[].labels": {"pattern": rules.LabelNamePattern, "not": map[string]any{"enum": rules.ReservedLabels}},
}

// enums lists the values of string keys that take a fixed set, by path.
var enums = withActionEnums(map[string][]string{
	"clusters[].source.type":   {"events", "poll", "raft"},
	"clusters[].source.preset": {"etcd", "rqlite", "consul", "nomad", "vault", "openziti", "generic"},
})

// durationPattern is the set of strings time.ParseDuration accepts, which is
// the loader's test of a duration: a sign, then 0 alone or numbers with
// units (".5s", "1.s", "1h2m"). Size is the one thing it cannot bound: a
// value past about 290 years matches, yet the loader rejects it.
const durationPattern = `[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)`

// placeholderPattern is a scalar that expandEnv turns into another value: at
// least one ${NAME} or ${NAME:-default}, and no malformed one. $${ is a
// literal ${, and so is any ${ after more than one $. Such a scalar becomes
// an integer, a boolean or a duration only once expanded, so the schema
// cannot check it further.
const placeholderPattern = `(` + literal + `)*` + reference + `(` + literal + `|` + reference + `)*\$*`

const (
	literal   = `[^$]|\$+[^${]|\$\$+\{`
	reference = `\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`
)

// schemaWriter writes the JSON Schema of config types; enums gives the
// values of string keys that take a fixed set, by path.
type schemaWriter struct {
	enums map[string][]string
}

// of is the schema of a value of type t at path. Every value may be left
// empty (`key:`), which keeps its default, so every type but the file's
// own mapping also allows null. Expansion applies to every scalar, so a
// typed scalar may also be a placeholder string.
func (w schemaWriter) of(t reflect.Type, path string) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	placeholder := map[string]any{"type": "string", "pattern": "^(" + placeholderPattern + ")$"}
	var s map[string]any
	switch {
	case t == durationType:
		s = map[string]any{"type": []string{"string", "null"}, "pattern": "^(" + durationPattern + "|" + placeholderPattern + ")$"}
	case t == specType:
		s = w.action(path)
	case t.Kind() == reflect.Struct:
		s = w.keys(structKeyTypes(t), path)
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": []string{"object", "null"}, "additionalProperties": w.of(t.Elem(), path+".*")}
		if names, ok := mapKeyNames[path]; ok {
			s["propertyNames"] = names
		}
	case t.Kind() == reflect.Slice:
		s = map[string]any{"type": []string{"array", "null"}, "items": w.of(t.Elem(), path+"[]")}
	case t.Kind() == reflect.String:
		s = map[string]any{"type": []string{"string", "null"}}
		if e, ok := w.enums[path]; ok {
			// A placeholder may expand to any of the values.
			s["anyOf"] = []any{map[string]any{"enum": e}, placeholder, map[string]any{"type": "null"}}
		}
	case t.Kind() == reflect.Int:
		// minimum applies to integers only, pattern to strings only.
		s = map[string]any{"type": []string{"integer", "string", "null"}, "minimum": 0, "pattern": placeholder["pattern"]}
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": []string{"boolean", "string", "null"}, "pattern": placeholder["pattern"]}
	default:
		s = map[string]any{}
	}
	if d, ok := Descriptions[strings.TrimSuffix(path, "[]")]; ok && path != "" {
		s["description"] = d
	}
	return s
}

// keys is the schema of a mapping that takes the given keys and no other.
func (w schemaWriter) keys(keys []keyType, path string) map[string]any {
	props := map[string]any{}
	for _, k := range keys {
		props[k.name] = w.of(k.typ, joinKey(path, k.name))
	}
	return map[string]any{"type": []string{"object", "null"}, "properties": props, "additionalProperties": false}
}
