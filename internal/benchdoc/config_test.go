package benchdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestFencedFileFindsTheNamedBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "text\n```yaml\n# other.yaml\na: 1\n```\n\n```yaml\n# etcd.yaml: the one\nb: 2\n```\n```yaml\n# etcd.yaml.bak\nc: 3\n```\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FencedFile(path, "etcd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# etcd.yaml: the one\nb: 2\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := FencedFile(path, "missing.yaml"); err == nil {
		t.Error("a missing block was not reported")
	}
}

func TestLocalConfigFillsInTheSiteOnly(t *testing.T) {
	text := "# c.yaml\nserver: {listen: 0.0.0.0:1}\nclusters:\n  - name: c\n    stabilize: 2s\n    source:\n      type: poll\n      members: [http://a, http://b]\n      interval: 500ms\nrules: []\n"
	got, err := LocalConfig(text, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, "/tmp/state", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		StateDir string            `yaml:"state_dir"`
		Server   map[string]string `yaml:"server"`
		Clusters []struct {
			Stabilize string         `yaml:"stabilize"`
			Source    map[string]any `yaml:"source"`
		} `yaml:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(got), &cfg); err != nil {
		t.Fatal(err)
	}
	src := cfg.Clusters[0].Source
	if cfg.StateDir != "/tmp/state" || cfg.Server["listen"] != "127.0.0.1:9" || cfg.Clusters[0].Stabilize != "2s" ||
		src["interval"] != "500ms" || len(src["members"].([]any)) != 2 || src["members"].([]any)[1] != "http://127.0.0.1:2" {
		t.Errorf("got:\n%s", got)
	}
	if !strings.HasPrefix(got, "# c.yaml") {
		t.Errorf("the config's comments are lost:\n%s", got)
	}
	if _, err := LocalConfig("clusters: []\n", nil, "", ""); err == nil {
		t.Error("a config without clusters was not reported")
	}
}

// TestCookbookEtcdConfig: bench/detection and tests/etcd_stall_test.go
// run the cookbook's etcd.yaml; it must stay readable by them.
func TestCookbookEtcdConfig(t *testing.T) {
	text, err := FencedFile("../../docs/cookbook.md", "etcd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LocalConfig(text, []string{"http://127.0.0.1:1"}, t.TempDir(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
}
