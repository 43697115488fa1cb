package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: whatever the input, Parse returns a config or an *Errors whose
// every diagnostic says what is wrong; it never panics.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
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
		cfg, _, err := Parse("fuzz.yaml", data, env)
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
		for _, d := range list.Diagnostics {
			if d.Msg == "" || d.Line < 0 || d.File != "fuzz.yaml" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}
