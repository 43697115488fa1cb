package benchdoc

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// FencedFile returns the fenced code block of the Markdown document at
// path whose first line names it as file ("# etcd.yaml: ..."), so that a
// bench or a test runs a config exactly as a page recommends it.
func FencedFile(path, file string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the document: %w", err)
	}
	defer f.Close()
	var block []string
	inside := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !inside && strings.HasPrefix(line, "```"):
			inside, block = true, nil
		case inside && strings.TrimSpace(line) == "```":
			if len(block) > 0 && namesFile(block[0], file) {
				return strings.Join(block, "\n") + "\n", nil
			}
			inside = false
		case inside:
			block = append(block, line)
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading the document: %w", err)
	}
	return "", fmt.Errorf("%s has no code block that starts with \"# %s\"", path, file)
}

func namesFile(first, file string) bool {
	rest, ok := strings.CutPrefix(first, "# "+file)
	return ok && (rest == "" || rest[0] == ':' || rest[0] == ' ')
}

// LocalConfig returns a leaderhook config with what a document leaves to
// each site filled in for a local run: the poll members of its first
// cluster, state_dir and server.listen. Everything else stays as written.
func LocalConfig(text string, members []string, stateDir, listen string) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return "", fmt.Errorf("the config is not YAML: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("the config is not a YAML mapping")
	}
	root := doc.Content[0]
	clusters := mapValue(root, "clusters")
	if clusters == nil || clusters.Kind != yaml.SequenceNode || len(clusters.Content) == 0 {
		return "", fmt.Errorf("the config has no clusters")
	}
	source := mapValue(clusters.Content[0], "source")
	if source == nil || mapValue(source, "members") == nil {
		return "", fmt.Errorf("the first cluster has no source.members")
	}
	list := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, m := range members {
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: m})
	}
	setValue(source, "members", list)
	setValue(root, "state_dir", &yaml.Node{Kind: yaml.ScalarNode, Value: stateDir})
	server := &yaml.Node{Kind: yaml.MappingNode}
	setValue(server, "listen", &yaml.Node{Kind: yaml.ScalarNode, Value: listen})
	setValue(root, "server", server)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", fmt.Errorf("writing the config: %w", err)
	}
	return string(out), nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}
