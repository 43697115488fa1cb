package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/v2"
	"gopkg.in/yaml.v3"

	"github.com/leaderhook/leaderhook/actions"
	"github.com/leaderhook/leaderhook/actions/kinds"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/field"
	"github.com/leaderhook/leaderhook/ha"
	"github.com/leaderhook/leaderhook/rules"
)

// DefaultListen is where the daemon's HTTP API listens unless configured.
const DefaultListen = "127.0.0.1:9464"

// Diagnostic is one problem (or warning) in a config file, with where it is.
type Diagnostic struct {
	File string
	// Line is 1-based, or 0 when the problem concerns no line: an empty
	// file, or a value set by an environment variable.
	Line int
	// Col is 1-based and counts characters, or 0 when unknown (yaml.v3's
	// syntax errors give only a line).
	Col  int
	Path string // e.g. rules[2].when; empty for the file as a whole
	Msg  string
}

// String formats the diagnostic as file:line:col: path: msg, leaving out
// what is unknown.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
		if d.Col > 0 {
			fmt.Fprintf(&b, ":%d", d.Col)
		}
	}
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path + ": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Errors is every problem found in a config file, in file order.
type Errors struct {
	Diagnostics []Diagnostic
}

// Error lists the problems one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Diagnostics))
	for i, d := range e.Diagnostics {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Result carries what loading found that does not stop it.
type Result struct {
	Warnings []Diagnostic
}

// Location returns the time zone of schedules and windows (default UTC).
func (c *Config) Location() *time.Location {
	if c.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC // Parse has rejected it already
	}
	return loc
}

// Load reads and validates the config file at path, with ${VAR} and
// LEADERHOOK_ overrides from the process environment.
func Load(path string) (*Config, *Result, error) {
	return load(path, Parse)
}

// LoadDaemon is Load for `leaderhook run` and `check`: it also refuses
// what only a Go program that embeds leaderhook can run (see ParseDaemon).
func LoadDaemon(path string) (*Config, *Result, error) {
	return load(path, ParseDaemon)
}

func load(path string, parse func(string, []byte, func(string) (string, bool)) (*Config, *Result, error)) (*Config, *Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, data, os.LookupEnv)
}

// Parse validates data (named name in messages), expanding ${VAR} and
// applying LEADERHOOK_ overrides from env. Every problem is reported at
// once, as an *Errors; the Result, with its warnings, is returned either
// way.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, *Result, error) {
	return newLoader(name, env).result(data)
}

// ParseDaemon is Parse for the daemon: it also refuses a raft source,
// which a program embedding leaderhook feeds (detector.RaftSource) but
// the daemon cannot reach, and a second cluster reading stdin, so that
// check fails where run would.
func ParseDaemon(name string, data []byte, env func(string) (string, bool)) (*Config, *Result, error) {
	l := newLoader(name, env)
	l.daemon = true
	return l.result(data)
}

func (l *loader) result(data []byte) (*Config, *Result, error) {
	cfg := l.parse(data)
	sortDiagnostics(l.res.Warnings)
	if len(l.errs) > 0 {
		sortDiagnostics(l.errs)
		return nil, l.res, &Errors{Diagnostics: l.errs}
	}
	return cfg, l.res, nil
}

// LoadServer reads the server block of the config file at path, with
// ${VAR} and LEADERHOOK_SERVER__ overrides from the process environment,
// as Load does. It is for the commands that call a running daemon (health,
// expect, ha): a problem elsewhere in the file, such as a rule the daemon
// refused to reload while it kept running, is left to check and run.
func LoadServer(path string) (*Server, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseServer(path, data, os.LookupEnv)
}

// ParseServer is LoadServer on data (named name in messages), with the
// environment's variables from env. The problems of the server block,
// and those that leave no block to read (a syntax error), are reported
// as an *Errors; its warnings are not.
func ParseServer(name string, data []byte, env func(string) (string, bool)) (*Server, error) {
	l := newLoader(name, env)
	server := l.parseServer(data)
	if l.values <= maxValues { // else the walk stopped short, wherever it was
		l.errs = slices.DeleteFunc(l.errs, func(d Diagnostic) bool { return !inServerBlock(d.Path) })
	}
	if len(l.errs) > 0 {
		sortDiagnostics(l.errs)
		return nil, &Errors{Diagnostics: l.errs}
	}
	return server, nil
}

// parseServer walks the whole file, as parse does, but decodes and checks
// only the server block: what the walk finds elsewhere, ParseServer drops.
func (l *loader) parseServer(data []byte) *Server {
	tree, ok := l.walk(data)
	if !ok {
		return nil
	}
	cfg, err := l.decode(map[string]any{"server": tree["server"]})
	if err != nil {
		l.errorAt(nil, "", "%v", err)
		return nil
	}
	var errs field.List
	checkServer(cfg, &errs)
	l.errs = l.diagnoseAll(l.errs, errs)
	return &cfg.Server
}

// inServerBlock reports whether a diagnostic at path concerns the server
// block or the file as a whole.
func inServerBlock(path string) bool {
	return path == "" || path == "server" || strings.HasPrefix(path, "server.")
}

type loader struct {
	name  string
	env   func(string) (string, bool)
	root  *yaml.Node // the document's top mapping
	lines []string   // the file's lines, for positions inside scalars
	errs  []Diagnostic
	res   *Result

	expanded   map[*yaml.Node]bool       // scalars whose ${VAR}s were replaced
	unexpanded map[*yaml.Node]bool       // scalars with an unset ${VAR}
	envIn      map[*yaml.Node][]envValue // values ${VAR}s put in a scalar, by scalar
	fromEnv    map[string][]envValue     // by action: values ${VAR}s put in its settings
	// bad holds the paths already reported as not fitting the schema. Their
	// values are left out, and validation errors at or under them are
	// dropped: they would only repeat the problem.
	bad        map[string]bool
	partial    map[string]bool   // structs with a bad field left out
	overridden map[string]string // path -> the LEADERHOOK_ variable that set it
	values     int               // visited by value, to bound aliases
	daemon     bool              // refuse what only a program embedding leaderhook runs
}

func newLoader(name string, env func(string) (string, bool)) *loader {
	return &loader{
		name:       name,
		env:        env,
		res:        &Result{},
		expanded:   map[*yaml.Node]bool{},
		unexpanded: map[*yaml.Node]bool{},
		envIn:      map[*yaml.Node][]envValue{},
		bad:        map[string]bool{},
		partial:    map[string]bool{},
		overridden: map[string]string{},
	}
}

func (l *loader) errorAt(n *yaml.Node, path, format string, args ...any) {
	d := Diagnostic{File: l.name, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Line, d.Col = l.position(n)
	}
	l.errs = append(l.errs, d)
	l.markBad(path)
}

// position is where node n starts. yaml.v3 places a value missing at the
// very end of the input (`key:` with no newline) on a line after the last;
// such a value is reported on the last line.
func (l *loader) position(n *yaml.Node) (line, col int) {
	return position(l.lines, n)
}

func position(lines []string, n *yaml.Node) (line, col int) {
	if n.Line > len(lines) {
		return len(lines), len(lines[len(lines)-1]) + 1
	}
	return n.Line, n.Column
}

func (l *loader) markBad(path string) { l.bad[path] = true }

// covered reports whether path is at or under a bad path.
func (l *loader) covered(path string) bool {
	for p := path; ; {
		if l.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return false
		}
		p = p[:i]
	}
}

func (l *loader) parse(data []byte) *Config {
	tree, ok := l.walk(data)
	if !ok {
		return nil
	}
	cfg, err := l.decode(tree)
	if err != nil {
		l.errorAt(nil, "", "%v", err)
		return nil
	}
	l.validate(cfg)
	return cfg
}

// walk parses data, expands ${VAR}s and checks the keys against the
// config's types, and returns the tree to decode; false when there is
// none to decode.
func (l *loader) walk(data []byte) (map[string]any, bool) {
	l.lines = splitLines(string(data))
	if l.root = l.document(data); l.root == nil {
		return nil, false
	}
	l.expandEnv(l.root, "")
	tree, _ := l.value(l.root, configType, "").(map[string]any)
	// Validating a tree of more values would take as long.
	return tree, l.values <= maxValues
}

// document parses data into a YAML tree and returns its top mapping, or
// nil when there is none to check.
func (l *loader) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		l.errs = append(l.errs, l.indentationTab(l.syntaxError(err)))
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		l.errorAt(nil, "", "empty config: it needs at least clusters: and rules:")
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		// Reading only the first document would silently drop the rest.
		l.errs = append(l.errs, Diagnostic{File: l.name, Line: extra.Line,
			Msg: "a second YAML document: the config is one document (remove the ---)"})
	case !errors.Is(err, io.EOF):
		l.errs = append(l.errs, l.indentationTab(l.syntaxError(err)))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		l.errorAt(root, "", "the config must be a mapping of keys (server, clusters, actions, windows, rules, ...), got %s", describe(root))
		return nil
	}
	return root
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserErrors are the yaml.v3 messages that come from its parser rather
// than its scanner. For these it reports a 0-based line: the line where the
// enclosing collection starts, or, when that is the first line, the line of
// the problem.
var parserErrors = []string{
	"did not find expected <", "did not find expected node content", "did not find expected key",
	"did not find expected '-' indicator", "did not find expected ','", "found duplicate %",
	"found incompatible YAML document", "found undefined tag handle",
}

// syntaxError turns a yaml.v3 error into a diagnostic at the line it names.
func (l *loader) syntaxError(err error) Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	d := Diagnostic{File: l.name, Msg: msg}
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		if isParserError(msg) {
			d.Line = 1 // yaml.v3 leaves out a 0-based line 0
		}
		return d
	}
	d.Line, _ = strconv.Atoi(m[1])
	d.Msg = m[2]
	if isParserError(d.Msg) {
		d.Line++
	}
	// At the end of the input yaml.v3 counts one line more than there is.
	last := len(l.lines)
	if last > 1 && l.lines[last-1] == "" {
		last--
	}
	d.Line = min(d.Line, last)
	return d
}

// tabErrors are the yaml.v3 messages a tab in the indentation causes. The
// first two name the line where the value before the tab starts; the last
// names the tab's own line, but has other causes as well.
var tabErrors = []string{
	"found a tab character that violates indentation",
	"found a tab character where an indentation space is expected",
	"found character that cannot start any token",
}

// indentationTab points a syntax error that a tab in the indentation
// caused at that tab, and says what to do, which yaml.v3 does not.
func (l *loader) indentationTab(d Diagnostic) Diagnostic {
	i := slices.Index(tabErrors, d.Msg)
	if i < 0 {
		return d
	}
	last := max(d.Line, 1)
	if i < len(tabErrors)-1 {
		last = len(l.lines)
	}
	for line := max(d.Line, 1); line <= last && line <= len(l.lines); line++ {
		text := l.lines[line-1]
		indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
		if col := strings.IndexByte(indent, '\t'); col >= 0 {
			return Diagnostic{File: l.name, Line: line, Col: col + 1,
				Msg: "a tab in the indentation: YAML forbids tabs for indentation; use spaces"}
		}
	}
	return d
}

func isParserError(msg string) bool {
	for _, p := range parserErrors {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// decode loads the checked tree into koanf, applies LEADERHOOK_ overrides
// and unmarshals strictly: a second line of defence behind the schema walk,
// which has already left out whatever does not fit.
func (l *loader) decode(tree map[string]any) (*Config, error) {
	k := koanf.New(".")
	// An empty delimiter: keys are taken as they are, even with dots in them.
	if err := k.Load(confmap.Provider(tree, ""), nil); err != nil {
		return nil, fmt.Errorf("loading the config: %w", err)
	}
	if err := l.loadOverrides(k); err != nil {
		return nil, err
	}
	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), decodeAction),
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		Result:           &cfg,
		TagName:          "koanf",
	}})
	if err != nil {
		return nil, fmt.Errorf("decoding the config: %w", err)
	}
	return &cfg, nil
}

// validate checks what the schema cannot: each part validates itself, then
// the references between parts, then rule expressions are compiled.
func (l *loader) validate(cfg *Config) {
	var errs field.List
	clusters, clusterWarnings := validateClusters(cfg, &errs)
	if l.daemon {
		errs = append(errs, daemonSources(cfg.Clusters)...)
	}
	actionNames := l.validateActions(cfg, &errs)
	for _, name := range sortedKeys(cfg.Windows) {
		if !identifier.MatchString(name) {
			errs.Add("windows."+name, "window name %q: use letters, digits, '_' and '-'", name)
		}
	}
	if cfg.Timezone != "" {
		if _, err := time.LoadLocation(cfg.Timezone); err != nil {
			errs.Add("timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin, or UTC)", cfg.Timezone)
		}
	}
	serverWarnings := checkSettings(cfg, &errs)
	// A collection that did not fit the schema may lack names that rules
	// refer to: nil skips those reference checks rather than report them
	// as unknown.
	known := rules.Known{Actions: actionNames, Clusters: clusters}
	if l.bad["clusters"] {
		known.Clusters = nil
	}
	if l.bad["actions"] {
		known.Actions = nil
	}
	ruleErrs, warnings := rules.Check(cfg.Rules, cfg.Windows, known)
	warnings = append(append(serverWarnings, clusterWarnings...), warnings...)
	for _, name := range sortedKeys(cfg.Actions) {
		warnings.Prefix("actions."+name, l.actionWarnings(name, cfg.Actions[name]))
	}
	warnings = append(warnings, unresolvedIncidents(cfg)...)
	errs = append(errs, ruleErrs...)
	l.errs = l.diagnoseAll(l.errs, errs)
	l.res.Warnings = l.diagnoseAll(l.res.Warnings, warnings)
}

// diagnoseAll appends to out each of list placed in the file, but those
// at a key the walk has already reported.
func (l *loader) diagnoseAll(out []Diagnostic, list field.List) []Diagnostic {
	for _, e := range list {
		if !l.repeats(e.Path) {
			out = append(out, l.diagnose(e))
		}
	}
	return out
}

// validateClusters checks each cluster and that names are unique; it
// returns the names and the clusters' warnings.
func validateClusters(cfg *Config, errs *field.List) (map[string]bool, field.List) {
	var warnings field.List
	if len(cfg.Clusters) == 0 {
		errs.Add("clusters", "define at least one cluster to watch")
	}
	clusters := map[string]bool{}
	for i, c := range cfg.Clusters {
		path := "clusters[" + strconv.Itoa(i) + "]"
		errs.Prefix(path, c.Validate())
		warnings.Prefix(path, c.Warnings())
		if clusters[c.Name] && c.Name != "" {
			errs.Add(path+".name", "duplicate cluster name %q", c.Name)
		}
		clusters[c.Name] = true
	}
	return clusters, warnings
}

// daemonSources refuses the sources the daemon cannot run: a raft source,
// and a second cluster reading stdin (the daemon has one).
func daemonSources(clusters []detector.Cluster) field.List {
	var errs field.List
	stdin := ""
	for i, c := range clusters {
		path := "clusters[" + strconv.Itoa(i) + "].source"
		if c.Source.Type == detector.SourceRaft {
			errs.Add(path+".type", "a raft source is for a Go program that embeds leaderhook (detector.RaftSource): "+
				"leaderhook run cannot reach the node; use poll or events")
		}
		if c.Source.Stdin {
			if stdin != "" {
				errs.Add(path+".stdin", "cluster %s reads stdin already: only one cluster can", stdin)
			}
			stdin = cmp.Or(c.Name, fmt.Sprintf("clusters[%d]", i))
		}
	}
	return errs
}

// validateActions checks each action through its kind, with the secrets
// it takes from the environment, and the fallbacks they name; it returns
// the names.
func (l *loader) validateActions(cfg *Config, errs *field.List) map[string]bool {
	names := map[string]bool{}
	for _, name := range sortedKeys(cfg.Actions) {
		spec := cfg.Actions[name]
		spec.FromEnv = l.envSecrets(name, kinds.Lookup(spec.Type))
		cfg.Actions[name] = spec
		path := "actions." + name
		if !identifier.MatchString(name) {
			errs.Add(path, "action name %q: use letters, digits, '_' and '-'", name)
		}
		errs.Prefix(path, kinds.Validate(spec))
		names[name] = true
	}
	if l.bad["actions"] {
		return names // the names are incomplete
	}
	for _, name := range sortedKeys(cfg.Actions) {
		for j, f := range cfg.Actions[name].OnFailure {
			p := fmt.Sprintf("actions.%s.on_failure[%d]", name, j)
			switch {
			case f == name:
				errs.Add(p, "an action cannot be its own fallback")
			case !names[f]:
				errs.Add(p, "unknown action %q", f)
			}
		}
	}
	return names
}

// checkSettings checks the server block and the top-level settings, and
// returns the server's warnings.
func checkSettings(cfg *Config, errs *field.List) field.List {
	serverWarnings := checkServer(cfg, errs)
	if cfg.HA != nil {
		errs.Prefix("ha", cfg.HA.Validate())
		serverWarnings = append(serverWarnings, openRaftBind(cfg.HA)...)
	}
	if cfg.ClockSkew() <= 0 {
		errs.Add("max_clock_skew", "must be positive, e.g. 5s")
	}
	if cfg.FlightRecorder() < 0 {
		errs.Add("flight_recorder_bytes", "must not be negative (0 turns the flight recorder off)")
	}
	checkHistory(cfg.History, errs)
	return serverWarnings
}

// checkServer checks the server block and returns its warnings.
func checkServer(cfg *Config, errs *field.List) field.List {
	warnings := checkListen(cfg, errs)
	if cfg.Server.ExternalURL != "" {
		actions.CheckURL(errs, "server.external_url", cfg.Server.ExternalURL)
	}
	if cfg.Server.MaxBodyBytes < 0 {
		errs.Add("server.max_body_bytes", "must not be negative")
	}
	errs.Prefix("server.tls", cfg.Server.TLS.validate())
	return warnings
}

// checkListen checks server.listen, and returns the warning of an address
// reachable from other hosts without a token.
func checkListen(cfg *Config, errs *field.List) field.List {
	var warnings field.List
	if cfg.Server.Listen == "" {
		cfg.Server.Listen = DefaultListen
		return warnings
	}
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		errs.Add("server.listen", "%q is not host:port, e.g. 127.0.0.1:9464", cfg.Server.Listen)
		return warnings
	}
	// The port as net.Listen reads it: a port it refuses must fail check,
	// not only run.
	if _, err := net.LookupPort("tcp", port); err != nil && port != "" {
		errs.Add("server.listen", "%q: port %q is not a TCP port number or service name", cfg.Server.Listen, port)
		return warnings
	}
	if cfg.Server.IngestToken == "" && !LoopbackHost(host) {
		warnings.Add("server.listen", "%s is reachable from other hosts but server.ingest_token is empty: "+
			"POST /v1/events, /v1/expect, /-/reload and /v1/ha/* answer 403 to them until a token is set", cfg.Server.Listen)
	}
	return warnings
}

// openRaftBind warns of a raft transport reachable from other hosts
// without mutual TLS: raft authenticates no one, so whoever connects can
// append to the group's log, events that fire actions included, and
// server.ingest_token guards only the HTTP API.
func openRaftBind(c *ha.Config) field.List {
	var warnings field.List
	host, _, err := net.SplitHostPort(c.Bind)
	if err != nil || c.TLS.CertFile != "" || LoopbackHost(host) {
		return warnings
	}
	warnings.Add("ha.bind", "%s is reachable from other hosts but ha.tls is not set: whoever reaches it can write to the group's log "+
		"(events that fire actions), whatever server.ingest_token says; set ha.tls, or firewall the port to the group's nodes", c.Bind)
	return warnings
}

// unresolvedIncidents warns of each rule that fires an action opening an
// incident (PagerDuty, Alertmanager) without resolving it: the incident
// would stay open after the condition ends. A verify_failed's incident
// is closed by the rule's resolve too, so verify.on_failure is looked at
// as actions is. A scheduled rule has no resolve (docs/configuration.md
// says what becomes of its incidents).
func unresolvedIncidents(cfg *Config) field.List {
	var warnings field.List
	for i, r := range cfg.Rules {
		if r.Schedule != "" {
			continue
		}
		opensUnresolved := func(name string) bool {
			opener, ok := cfg.Actions[name].Config.(actions.IncidentOpener)
			return ok && opener.OpensIncident() && !slices.Contains(r.OnResolve, name)
		}
		for j, name := range r.Actions {
			if opensUnresolved(name) {
				warnings.Add(fmt.Sprintf("rules[%d].actions[%d]", i, j), "%s (%s) opens an incident that only a resolve closes: add it to on_resolve, or it stays open",
					name, cfg.Actions[name].Type)
			}
		}
		if r.Verify == nil {
			continue
		}
		for j, name := range r.Verify.OnFailure {
			if opensUnresolved(name) {
				warnings.Add(fmt.Sprintf("rules[%d].verify.on_failure[%d]", i, j), "%s (%s) opens an incident on verify_failed that only the rule's resolve closes: "+
					"add it to on_resolve, or it stays open", name, cfg.Actions[name].Type)
			}
		}
	}
	return warnings
}

// actionWarnings returns the warnings of an action's kind with what came
// from the environment redacted, as in the action's errors: a warning
// about the program prints its path, which a ${VAR} may have put there
// because it is a secret. The values in the setting warned about are
// hidden whatever their length, since the warning is about that value.
func (l *loader) actionWarnings(name string, spec actions.Spec) field.List {
	w, ok := spec.Config.(actions.Warner)
	if !ok {
		return nil
	}
	warns := w.Warnings()
	for _, e := range warns {
		secrets := spec.Secrets()
		n := lookup(l.root, "actions."+name+"."+e.Path)
		if n.Kind == yaml.AliasNode { // a scalar alias: the value is the anchor's
			n = n.Alias
		}
		if l.expanded[n] {
			for _, v := range spec.FromEnv {
				if strings.Contains(n.Value, v) {
					secrets = append(secrets, v)
				}
			}
		}
		e.Msg = actions.Redact(e.Msg, secrets...)
	}
	return warns
}

// repeats reports whether a validation error at path would only repeat a
// problem already reported by the schema walk: it is at or under a value
// left out, or it checks a struct one of whose fields was left out.
func (l *loader) repeats(path string) bool {
	if l.covered(path) || l.partial[path] {
		return true
	}
	// With the windows map broken, every mute reference may look unknown.
	return l.bad["windows"] && strings.HasPrefix(path, "rules[") && strings.Contains(path, ".mute[")
}

var identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// diagnose places a field error in the file: at the node its path names,
// and, given an offset, at that character of the value.
func (l *loader) diagnose(e *field.Error) Diagnostic {
	d := Diagnostic{File: l.name, Path: e.Path, Msg: e.Msg}
	if name, ok := l.overridden[e.Path]; ok {
		// The value is not the file's: pointing at the file would mislead.
		d.Msg += " (set by " + name + ")"
		return d
	}
	n := lookup(l.root, e.Path)
	d.Line, d.Col = l.position(n)
	if e.Offset >= 0 && n.Kind == yaml.ScalarNode && n.Line <= len(l.lines) {
		d.Line, d.Col = scalarPosition(l.lines, n, e.Offset)
	}
	return d
}

func sortDiagnostics(ds []Diagnostic) {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// LoopbackHost reports whether host, from a listen address, is reachable
// only from this machine: a loopback IP or "localhost". An empty host or
// 0.0.0.0 listens on every interface.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
