package config

import (
	"fmt"
	"net"
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
	"github.com/leaderhook/leaderhook/actions/shell"
	"github.com/leaderhook/leaderhook/field"
	"github.com/leaderhook/leaderhook/rules"
)

// DefaultListen is where the daemon's HTTP API listens unless configured.
const DefaultListen = "127.0.0.1:9464"

// EnvPrefix marks environment variables that override config keys:
// LEADERHOOK_STATE_DIR sets state_dir, LEADERHOOK_SERVER__LISTEN sets
// server.listen (a double underscore descends one level).
const EnvPrefix = "LEADERHOOK_"

// Diagnostic is one problem (or warning) in a config file, with where it is.
type Diagnostic struct {
	File string
	Line int // 1-based; 0 when it concerns no line (an environment variable)
	Col  int // 1-based
	Path string
	Msg  string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
	}
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path + ": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Errors is every problem found in a config file.
type Errors struct {
	Diagnostics []Diagnostic
}

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
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse validates data (named name in messages), expanding ${VAR} from env.
// Every problem is reported at once, as an *Errors.
func Parse(name string, data []byte, env func(string) (string, bool)) (*Config, *Result, error) {
	l := &loader{name: name, env: env, res: &Result{}}
	cfg := l.parse(data)
	if len(l.errs) > 0 {
		sortDiagnostics(l.errs)
		return nil, l.res, &Errors{Diagnostics: l.errs}
	}
	sortDiagnostics(l.res.Warnings)
	return cfg, l.res, nil
}

type loader struct {
	name  string
	env   func(string) (string, bool)
	root  *yaml.Node // the document's top mapping
	lines []string   // the file's lines, for positions inside block scalars
	errs  []Diagnostic
	res   *Result
}

func (l *loader) errorAt(n *yaml.Node, path, format string, args ...any) {
	d := Diagnostic{File: l.name, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		d.Line, d.Col = n.Line, n.Column
	}
	l.errs = append(l.errs, d)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (l *loader) parse(data []byte) *Config {
	l.lines = strings.Split(string(data), "\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d := Diagnostic{File: l.name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			d.Line, _ = strconv.Atoi(m[1])
			d.Col, d.Msg = 1, m[2]
		}
		l.errs = append(l.errs, d)
		return nil
	}
	if len(doc.Content) == 0 {
		l.errorAt(nil, "", "empty config: it needs at least clusters: and rules:")
		return nil
	}
	l.root = doc.Content[0]
	if l.root.Kind != yaml.MappingNode {
		l.errorAt(l.root, "", "the config must be a mapping of keys (server, clusters, actions, windows, rules, ...)")
		return nil
	}
	l.expandEnv(l.root, "")
	l.checkNode(l.root, configType, "")
	if len(l.errs) > 0 {
		return nil // the tree does not fit the schema: decoding would only repeat it
	}
	cfg, err := l.decode()
	if err != nil {
		l.errorAt(nil, "", "%v", err)
		return nil
	}
	l.validate(cfg)
	return cfg
}

// decode loads the checked tree into koanf, applies LEADERHOOK_ overrides
// and unmarshals strictly.
func (l *loader) decode() (*Config, error) {
	k := koanf.New(".")
	// An empty delimiter: keys are taken as they are, even with dots in them.
	if err := k.Load(confmap.Provider(toValue(l.root).(map[string]any), ""), nil); err != nil {
		return nil, err
	}
	if over := l.envOverrides(); len(over) > 0 {
		if err := k.Load(confmap.Provider(over, ""), nil); err != nil {
			return nil, err
		}
	}
	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.StringToTimeDurationHookFunc(),
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		Result:           &cfg,
		TagName:          "koanf",
	}})
	if err != nil {
		return nil, err
	}
	return &cfg, nil
}

// validate checks what the schema cannot: each part validates itself, then
// the references between parts, then rule expressions are compiled.
func (l *loader) validate(cfg *Config) {
	var errs field.List
	if len(cfg.Clusters) == 0 {
		errs.Add("clusters", "define at least one cluster to watch")
	}
	clusters := map[string]bool{}
	for i, c := range cfg.Clusters {
		path := "clusters[" + strconv.Itoa(i) + "]"
		errs.Prefix(path, c.Validate())
		if clusters[c.Name] && c.Name != "" {
			errs.Add(path+".name", "duplicate cluster name %q", c.Name)
		}
		clusters[c.Name] = true
	}
	actionNames := map[string]bool{}
	for _, name := range sortedKeys(cfg.Actions) {
		spec := cfg.Actions[name]
		path := "actions." + name
		if !identifier.MatchString(name) {
			errs.Add(path, "action name %q: use letters, digits, '_' and '-'", name)
		}
		errs.Prefix(path, spec.Validate())
		actionNames[name] = true
	}
	for _, name := range sortedKeys(cfg.Actions) {
		for j, f := range cfg.Actions[name].OnFailure {
			p := fmt.Sprintf("actions.%s.on_failure[%d]", name, j)
			switch {
			case f == name:
				errs.Add(p, "an action cannot be its own fallback")
			case !actionNames[f]:
				errs.Add(p, "unknown action %q", f)
			}
		}
	}
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
	if cfg.Server.Listen == "" {
		cfg.Server.Listen = DefaultListen
	} else if _, _, err := net.SplitHostPort(cfg.Server.Listen); err != nil {
		errs.Add("server.listen", "%q is not host:port, e.g. 127.0.0.1:9464", cfg.Server.Listen)
	}
	if cfg.Server.MaxBodyBytes < 0 {
		errs.Add("server.max_body_bytes", "must not be negative")
	}
	ruleErrs, warnings := rules.Check(cfg.Rules, cfg.Windows, rules.Known{Actions: actionNames, Clusters: clusters})
	for _, name := range sortedKeys(cfg.Actions) {
		if spec := cfg.Actions[name]; spec.Type == actions.KindShell {
			for _, w := range shell.Check(spec) {
				warnings.Add("actions."+name+".command[0]", "%s", w)
			}
		}
	}
	errs = append(errs, ruleErrs...)
	for _, e := range errs {
		l.errs = append(l.errs, l.diagnose(e))
	}
	for _, w := range warnings {
		l.res.Warnings = append(l.res.Warnings, l.diagnose(w))
	}
}

var identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// diagnose places a field error in the file.
func (l *loader) diagnose(e *field.Error) Diagnostic {
	d := Diagnostic{File: l.name, Path: e.Path, Msg: e.Msg}
	n := l.lookup(e.Path)
	if n == nil {
		return d
	}
	d.Line, d.Col = n.Line, n.Column
	if e.Offset >= 0 && n.Kind == yaml.ScalarNode {
		d.Line, d.Col = l.scalarPosition(n, e.Offset)
	}
	return d
}

// scalarPosition finds the line and column of a byte offset into a
// scalar's value.
func (l *loader) scalarPosition(n *yaml.Node, offset int) (int, int) {
	offset = min(offset, len(n.Value))
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The value starts on the line after the | or >, at the block's
		// indentation. Walk the source lines: each one holds its content
		// and one separator (a newline, or a space when folded).
		if n.Line >= len(l.lines) {
			break
		}
		first := l.lines[n.Line] // 0-based: the line after the indicator
		indent := len(first) - len(strings.TrimLeft(first, " "))
		rem := offset
		for i := n.Line; i < len(l.lines); i++ {
			content := l.lines[i][min(indent, len(l.lines[i])):]
			if rem <= len(content) {
				return i + 1, indent + rem + 1
			}
			rem -= len(content) + 1
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return n.Line, n.Column + 1 + offset
	}
	return n.Line, n.Column + offset
}

// lookup finds the node at a path such as rules[2].when, or the nearest
// existing parent.
func (l *loader) lookup(path string) *yaml.Node {
	n := l.root
	for _, step := range splitPath(path) {
		var next *yaml.Node
		switch {
		case step.index >= 0 && n.Kind == yaml.SequenceNode && step.index < len(n.Content):
			next = n.Content[step.index]
		case step.index < 0 && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == step.key {
					next = n.Content[i+1]
				}
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

type pathStep struct {
	key   string
	index int // -1 for a key
}

func splitPath(path string) []pathStep {
	var steps []pathStep
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			steps = append(steps, pathStep{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			steps = append(steps, pathStep{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps
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
