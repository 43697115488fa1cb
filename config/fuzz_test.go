package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse: whatever the input, Parse returns a config or an *Errors whose
// every diagnostic says what is wrong and where; it never panics.
func FuzzParse(f *testing.F) {
	// Every input and golden file (not the fuzz corpus directory), and the
	// examples.
	files, err := filepath.Glob("testdata/*.*")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	files = append(files, "../examples/rules.yaml", "../testdata/openziti-1/rules.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	env := envOf(testEnv)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, res, err := Parse("fuzz.yaml", data, env)
		if res == nil {
			t.Fatal("no result")
		}
		if err == nil {
			if cfg == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		var list *Errors
		if !errors.As(err, &list) || len(list.Diagnostics) == 0 {
			t.Fatalf("error %v is not a list of diagnostics", err)
		}
		lines := len(splitLines(string(data)))
		for _, d := range list.Diagnostics {
			if d.Msg == "" || d.File != "fuzz.yaml" {
				t.Fatalf("bad diagnostic %+v", d)
			}
			switch {
			case d.Line > lines || d.Line < 0 || d.Col < 0:
				t.Fatalf("diagnostic outside the file (%d lines): %+v", lines, d)
			case d.Line == 0 && d.Path != "" && !strings.Contains(d.Msg, EnvPrefix):
				// Only the file as a whole, or a value from the environment,
				// has no line.
				t.Fatalf("diagnostic at %s has no line: %+v", d.Path, d)
			}
		}
	})
}

// FuzzScalarPosition: every offset into every scalar of any YAML file maps
// to a line of that file and a column, without panicking.
func FuzzScalarPosition(f *testing.F) {
	for _, s := range []string{
		"when: a && b\n", "when: 'a '' b'\n", "when: \"a \\u00e9 \\\"b\\\"\"\n", "when: |\n  a\n\n  b\n",
		"when: >\n  a\n\n  b\n", "when: a\n  b\r\n\r\n  c\n", "when: \"a\\\n  b\"\n", "k: [a, 'b', \"c\"]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil {
			return
		}
		lines := splitLines(string(data))
		// Each call walks the scalar's lines: bound the scalars tried, or
		// a long flow list makes one input take minutes.
		scalars := 0
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			// yaml.v3 may place an empty value after the last line.
			if n.Kind == yaml.ScalarNode && n.Line <= len(lines) && scalars < 50 {
				scalars++
				for off := 0; off <= min(len(n.Value), 300); off++ {
					line, col := scalarPosition(lines, n, off)
					if line < 1 || line > len(lines) || col < 1 {
						t.Fatalf("%q offset %d: %d:%d", n.Value, off, line, col)
					}
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&doc)
	})
}
