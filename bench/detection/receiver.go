package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// What a notification says of its cluster.
const (
	claimLoss     = "no leader"
	claimChange   = "new leader"
	claimOther    = "other" // e.g. too many leader changes: judged by nothing here
	claimResolved = "resolved"
)

// Pipelines, as the receiver tells them apart: leaderhook by the path of
// its actions' URLs, Prometheus by the `pipeline` label of its alerts.
const (
	pipeLeaderhook = "leaderhook"
	pipeTuned      = "tuned"
	pipeMixin      = "mixin"
)

// note is one notification as it arrived: a firing of one rule (the same
// firing through two actions is one note), or one Alertmanager message
// with alerts not notified before, per cluster and claim.
type note struct {
	At       time.Time `json:"at"`
	Pipeline string    `json:"pipeline"`
	Cluster  string    `json:"cluster"`
	Claim    string    `json:"claim"`
	What     string    `json:"what"`
}

// receiver is the one HTTP server every pipeline notifies: it stamps each
// arrival and keeps what it says.
type receiver struct {
	addr string
	srv  *http.Server
	// leaderhookCluster is the cluster leaderhook watches; counting its
	// rules that count changes (leader_changes()) claim no loss or change.
	leaderhookCluster string
	countingRules     map[string]bool

	mu    sync.Mutex
	notes []note
	seen  map[string]bool // firings and alerts already noted
}

func startReceiver() (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	r := &receiver{addr: l.Addr().String(), seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /leaderhook/page", r.take(leaderhookPage))
	mux.HandleFunc("POST /leaderhook/chat", r.take(leaderhookChat))
	mux.HandleFunc("POST /alertmanager", r.alertmanager)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *receiver) url(path string) string { return "http://" + r.addr + path }

// take notes a leaderhook firing read by parse, once whichever action
// delivered it first.
func (r *receiver) take(parse func([]byte) (firing, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(req.Body)
		f, err := parse(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.seen[f.key()] {
			return
		}
		r.seen[f.key()] = true
		claim := f.claim
		if r.countingRules[f.rule] && claim != claimResolved {
			claim = claimOther
		}
		r.notes = append(r.notes, note{At: at, Pipeline: pipeLeaderhook, Cluster: r.leaderhookCluster, Claim: claim, What: f.rule})
	}
}

func (r *receiver) alertmanager(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(req.Body)
	alerts, err := alertmanagerAlerts(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var fresh []alert
	for _, a := range alerts {
		if !r.seen[a.key] {
			r.seen[a.key] = true
			fresh = append(fresh, a)
		}
	}
	r.notes = append(r.notes, alertNotes(at, fresh)...)
}

// notesOf returns a copy of the notes so far.
func (r *receiver) notesOf() []note {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]note(nil), r.notes...)
}

// lastAt returns when a notification (resolves included) about cluster
// last arrived, zero if none did.
func (r *receiver) lastAt(cluster string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last time.Time
	for _, n := range r.notes {
		if n.Cluster == cluster && n.At.After(last) {
			last = n.At
		}
	}
	return last
}

// firing is one leaderhook firing or resolve, from either action.
type firing struct {
	rule, status string
	firedAt      time.Time
	claim        string
}

// key is the same for a firing whichever action delivered it: Slack shows
// the time it fired to the second.
func (f firing) key() string {
	return fmt.Sprintf("leaderhook|%s|%s|%d", f.rule, f.status, f.firedAt.Unix())
}

// leaderhookPage reads leaderhook's default webhook payload.
func leaderhookPage(body []byte) (firing, error) {
	var p struct {
		Rule    string    `json:"rule"`
		Status  string    `json:"status"`
		FiredAt time.Time `json:"fired_at"`
		State   struct {
			LeaderID         string `json:"leader_id"`
			PreviousLeaderID string `json:"previous_leader_id"`
			Leaderless       bool   `json:"leaderless"`
		} `json:"state"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return firing{}, fmt.Errorf("not leaderhook's payload: %w", err)
	}
	f := firing{rule: p.Rule, status: p.Status, firedAt: p.FiredAt}
	switch s := p.State; {
	case p.Status != "firing":
		f.claim = claimResolved
	case s.Leaderless || s.LeaderID == "":
		f.claim = claimLoss
	case s.PreviousLeaderID != "" && s.PreviousLeaderID != s.LeaderID:
		f.claim = claimChange
	default:
		f.claim = claimOther
	}
	return f, nil
}

// leaderhookChat reads leaderhook's Slack message: the header says
// "[FIRING] rule", the text "… on cluster: no leader …" or
// "… on cluster: leader B (was A)", a field the time it fired.
func leaderhookChat(body []byte) (firing, error) {
	var m struct {
		Text        string `json:"text"`
		Attachments []struct {
			Blocks []struct {
				Text   *struct{ Text string }  `json:"text"`
				Fields []struct{ Text string } `json:"fields"`
			} `json:"blocks"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(body, &m); err != nil || len(m.Attachments) == 0 || len(m.Attachments[0].Blocks) < 2 ||
		m.Attachments[0].Blocks[0].Text == nil {
		return firing{}, fmt.Errorf("not leaderhook's Slack message: %s", body)
	}
	blocks := m.Attachments[0].Blocks
	status, rule, _ := strings.Cut(strings.TrimPrefix(blocks[0].Text.Text, "["), "] ")
	f := firing{rule: rule, status: strings.ToLower(status)}
	for _, field := range blocks[1].Fields {
		if v, ok := strings.CutPrefix(field.Text, "*Fired at*\n"); ok {
			f.firedAt, _ = time.Parse("2006-01-02 15:04:05 MST", v)
		}
	}
	_, summary, _ := strings.Cut(m.Text, ": ")
	switch {
	case f.status != "firing":
		f.claim = claimResolved
	case strings.HasPrefix(summary, "no leader"):
		f.claim = claimLoss
	case strings.HasPrefix(summary, "leader ") && strings.Contains(summary, " (was "):
		f.claim = claimChange
	default:
		f.claim = claimOther
	}
	return f, nil
}

// alertClaims says what each alert of the Prometheus rules claims.
var alertClaims = map[string]string{
	"EtcdNoLeader":                  claimLoss,
	"EtcdLeaderChanged":             claimChange,
	"etcdNoLeader":                  claimLoss,
	"etcdInsufficientMembers":       claimLoss,
	"etcdHighNumberOfLeaderChanges": claimOther,
}

// alert is one alert of an Alertmanager message.
type alert struct {
	key, name, pipeline, cluster, claim string
}

func alertmanagerAlerts(body []byte) ([]alert, error) {
	var msg struct {
		Alerts []struct {
			Status      string            `json:"status"`
			Labels      map[string]string `json:"labels"`
			StartsAt    time.Time         `json:"startsAt"`
			Fingerprint string            `json:"fingerprint"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, fmt.Errorf("not Alertmanager's webhook message: %w", err)
	}
	var alerts []alert
	for _, a := range msg.Alerts {
		claim, ok := alertClaims[a.Labels["alertname"]]
		if !ok {
			claim = claimOther
		}
		if a.Status != "firing" {
			claim = claimResolved
		}
		alerts = append(alerts, alert{key: fmt.Sprintf("alert|%s|%s|%s", a.Fingerprint, a.StartsAt.Format(time.RFC3339Nano), a.Status),
			name: a.Labels["alertname"], pipeline: a.Labels["pipeline"], cluster: a.Labels["cluster"], claim: claim})
	}
	return alerts, nil
}

// alertNotes makes one note per pipeline, cluster and claim of the alerts
// one message brought: one message is one page, however many alerts.
func alertNotes(at time.Time, alerts []alert) []note {
	byNote := map[note][]string{}
	for _, a := range alerts {
		n := note{At: at, Pipeline: a.pipeline, Cluster: a.cluster, Claim: a.claim}
		if !slices.Contains(byNote[n], a.name) {
			byNote[n] = append(byNote[n], a.name)
		}
	}
	var notes []note
	for n, names := range byNote {
		sort.Strings(names)
		n.What = strings.Join(names, ",")
		notes = append(notes, n)
	}
	sort.Slice(notes, func(i, j int) bool {
		return notes[i].Cluster+notes[i].Claim < notes[j].Cluster+notes[j].Claim
	})
	return notes
}
