package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/internal/benchdoc"
)

// tunedRules notify as soon as Prometheus can: a member without a
// leader, and a leader change seen by a member in the last 10 s.
const tunedRules = `groups:
  - name: etcd-tuned
    rules:
      - alert: EtcdNoLeader
        expr: etcd_server_has_leader{job="etcd"} == 0
        for: 0s
      - alert: EtcdLeaderChanged
        expr: increase(etcd_server_leader_changes_seen_total{job="etcd"}[10s]) > 0
        for: 0s
`

// mixinRules are etcd's own alert rules on its leader and quorum, as its
// Prometheus mixin renders them with the mixin's defaults.
const mixinRules = `groups:
  - name: etcd
    rules:
      - alert: etcdInsufficientMembers
        annotations:
          description: 'etcd cluster "{{ $labels.cluster }}": insufficient members ({{ $value }}).'
          summary: etcd cluster has insufficient number of members.
        expr: |
          sum(up{job=~".*etcd.*"} == bool 1) without (instance) < ((count(up{job=~".*etcd.*"}) without (instance) + 1) / 2)
        for: 3m
        labels:
          severity: critical
      - alert: etcdNoLeader
        annotations:
          description: 'etcd cluster "{{ $labels.cluster }}": member {{ $labels.instance }} has no leader.'
          summary: etcd cluster has no leader.
        expr: |
          etcd_server_has_leader{job=~".*etcd.*"} == 0
        for: 1m
        labels:
          severity: critical
      - alert: etcdHighNumberOfLeaderChanges
        annotations:
          description: 'etcd cluster "{{ $labels.cluster }}": {{ $value }} leader changes within the last 15 minutes. Frequent elections may be a sign of insufficient resources, high network latency, or disruptions by other components and should be investigated.'
          summary: etcd cluster has high number of leader changes.
        expr: |
          increase((max without (instance) (etcd_server_leader_changes_seen_total{job=~".*etcd.*"}) or 0*absent(etcd_server_leader_changes_seen_total{job=~".*etcd.*"}))[15m:1m]) >= 4
        for: 5m
        labels:
          severity: warning
`

// alertmanagerConfig sends every alert to the receiver at once: one group
// per alert name and pipeline, no wait, and resolves too.
const alertmanagerConfig = `route:
  receiver: bench
  group_by: [alertname, pipeline]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: bench
    webhook_configs:
      - url: %s
        send_resolved: true
`

// prometheus is one Prometheus server: its pipeline label, its scrape
// and evaluation interval, its rules and the clusters it scrapes.
type prometheus struct {
	pipeline string
	interval time.Duration
	rules    string
	clusters []*cluster
	addr     string
	proc     *process
}

func (p *prometheus) config(alertmanager string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: %s\n  external_labels: {pipeline: %s}\n",
		p.interval, min(p.interval, 10*time.Second), p.interval, p.pipeline)
	fmt.Fprintf(&b, "alerting:\n  alertmanagers:\n    - static_configs: [{targets: [%q]}]\n", alertmanager)
	b.WriteString("rule_files: [rules.yml]\nscrape_configs:\n  - job_name: etcd\n    static_configs:\n")
	for _, c := range p.clusters {
		var hosts []string
		for _, u := range c.clientURLs() {
			hosts = append(hosts, fmt.Sprintf("%q", strings.TrimPrefix(u, "http://")))
		}
		fmt.Fprintf(&b, "      - targets: [%s]\n        labels: {cluster: %s}\n", strings.Join(hosts, ", "), c.name)
	}
	return b.String()
}

func (p *prometheus) start(ctx context.Context, dir, alertmanager string) error {
	home := filepath.Join(dir, "prometheus-"+p.pipeline)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("prometheus %s: %w", p.pipeline, err)
	}
	for name, text := range map[string]string{"prometheus.yml": p.config(alertmanager), "rules.yml": p.rules} {
		if err := os.WriteFile(filepath.Join(home, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("prometheus %s: %w", p.pipeline, err)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	p.addr = addr
	p.proc, err = startProcess(dir, "prometheus-"+p.pipeline, nil, "prometheus",
		"--config.file", filepath.Join(home, "prometheus.yml"), "--storage.tsdb.path", filepath.Join(home, "data"),
		"--web.listen-address", addr, "--log.level", "warn")
	if err != nil {
		return err
	}
	return waitReady(ctx, p.proc, "http://"+addr+"/-/ready", 30*time.Second)
}

// settledQuery counts the members that had a leader at every scrape of
// the last 10 s, a scrape at least every 1.25 s: a leader change would
// show in the increase() of each of them, and nothing is left to fire.
const settledQuery = `count(min_over_time(etcd_server_has_leader{job="etcd"}[10s]) == 1 and count_over_time(etcd_server_has_leader{job="etcd"}[10s]) >= 8)`

// quiet reports whether Prometheus has no alert pending or firing and
// has seen all members of its clusters settled.
func (p *prometheus) quiet(ctx context.Context) bool {
	var alerts struct {
		Data struct {
			Alerts []json.RawMessage `json:"alerts"`
		} `json:"data"`
	}
	if getJSON(ctx, "http://"+p.addr+"/api/v1/alerts", &alerts) != nil || len(alerts.Data.Alerts) > 0 {
		return false
	}
	var answer struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if getJSON(ctx, "http://"+p.addr+"/api/v1/query?query="+url.QueryEscape(settledQuery), &answer) != nil || len(answer.Data.Result) != 1 {
		return false
	}
	members := 0
	for _, c := range p.clusters {
		members += len(c.members)
	}
	return answer.Data.Result[0].Value[1] == fmt.Sprint(members)
}

func startAlertmanager(ctx context.Context, dir string, r *receiver) (*process, string, error) {
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(alertmanagerConfig, r.url("/alertmanager"))), 0o644); err != nil {
		return nil, "", fmt.Errorf("alertmanager: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := startProcess(dir, "alertmanager", nil, "prometheus-alertmanager", "--config.file", path,
		"--storage.path", filepath.Join(dir, "alertmanager-data"), "--web.listen-address", addr,
		"--cluster.listen-address=", "--log.level", "warn")
	if err != nil {
		return nil, "", err
	}
	return p, addr, waitReady(ctx, p, "http://"+addr+"/-/ready", 30*time.Second)
}

// leaderhook is `leaderhook run` with the cookbook's etcd.yaml.
type leaderhook struct {
	addr string
	proc *process
}

func startLeaderhook(ctx context.Context, dir, bin, cookbook string, c *cluster, r *receiver) (*leaderhook, error) {
	text, err := benchdoc.FencedFile(cookbook, "etcd.yaml")
	if err != nil {
		return nil, err
	}
	counting, err := countingRules(text)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.leaderhookCluster, r.countingRules = c.name, counting
	r.mu.Unlock()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	text, err = benchdoc.LocalConfig(text, c.clientURLs(), filepath.Join(dir, "leaderhook-state"), addr)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "etcd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("leaderhook config: %w", err)
	}
	env := []string{"SLACK_WEBHOOK_URL=" + r.url("/leaderhook/chat"), "PAGER_URL=" + r.url("/leaderhook/page"),
		"PAGE_SECRET=whsec_YmVuY2gtc2VjcmV0"}
	p, err := startProcess(dir, "leaderhook", env, bin, "run", "-c", path, "--log-format", "json")
	if err != nil {
		return nil, err
	}
	return &leaderhook{addr: addr, proc: p}, waitReady(ctx, p, "http://"+addr+"/readyz", 30*time.Second)
}

// countingRules returns the rules that count leader changes over time
// (leader_changes()): their firings say neither "no leader" nor "a new
// leader".
func countingRules(text string) (map[string]bool, error) {
	var cfg struct {
		Rules []struct{ Name, When string } `yaml:"rules"`
	}
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		return nil, fmt.Errorf("the cookbook's etcd.yaml: %w", err)
	}
	counting := map[string]bool{}
	for _, r := range cfg.Rules {
		if strings.Contains(r.When, "leader_changes(") {
			counting[r.Name] = true
		}
	}
	return counting, nil
}

// agrees reports whether leaderhook's GET /v1/state shows leader
// followed by every member.
func (l *leaderhook) agrees(ctx context.Context, leader string) bool {
	var st struct {
		Clusters []struct {
			HasLeader bool   `json:"has_leader"`
			LeaderID  string `json:"leader_id"`
			Members   []struct {
				Follows string `json:"follows"`
			} `json:"members"`
		} `json:"clusters"`
	}
	if getJSON(ctx, "http://"+l.addr+"/v1/state", &st) != nil || len(st.Clusters) != 1 {
		return false
	}
	c := st.Clusters[0]
	following := 0
	for _, m := range c.Members {
		if m.Follows == leader {
			following++
		}
	}
	return c.HasLeader && c.LeaderID == leader && following == len(c.Members)
}

func getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// versions names what was measured.
func versions(bin string) map[string]string {
	first := func(name string, args ...string) string {
		out, _ := exec.Command(name, args...).CombinedOutput()
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return map[string]string{
		"leaderhook":   first(bin, "version"),
		"etcd":         first("etcd", "--version"),
		"prometheus":   first("prometheus", "--version"),
		"alertmanager": first("prometheus-alertmanager", "--version"),
	}
}
