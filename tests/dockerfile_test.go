package tests

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs here, so the image's build step is checked by
// running exactly the Dockerfile's build command: the binary must be
// static (it runs on distroless/static) and work.
func TestDockerfileBuild(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .*) -o /out/leaderhook (\./cmd/leaderhook)$`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile has no `RUN CGO_ENABLED=0 go build ... -o /out/leaderhook ./cmd/leaderhook` line")
	}
	out := filepath.Join(t.TempDir(), "leaderhook")
	cmd := exec.Command("sh", "-c", m[1]+" -o "+out+" "+m[2])
	cmd.Dir = ".."
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", m[1], err, msg)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked: it will not run on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	if v, err := exec.Command(out, "version").Output(); err != nil || !strings.HasPrefix(string(v), "leaderhook ") {
		t.Errorf("the built binary does not run: %v %s", err, v)
	}
	for _, want := range []string{"FROM gcr.io/distroless/static", "USER nonroot", "HEALTHCHECK", `ENTRYPOINT ["/usr/local/bin/leaderhook"]`, "VOLUME", "/etc/leaderhook", "/var/lib/leaderhook"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

func TestHealthCommand(t *testing.T) {
	if _, _, code := run(t, nil, "health", "--url", "http://127.0.0.1:1/healthz", "--timeout", "200ms"); code != 1 {
		t.Errorf("health against nothing: exit %d, want 1", code)
	}
}

func TestSchemaCommand(t *testing.T) {
	out, _, code := run(t, nil, "schema")
	if code != 0 || !strings.Contains(out, `"$schema": "https://json-schema.org/draft/2020-12/schema"`) || !strings.Contains(out, `"leaderless-`) && !strings.Contains(out, `"stabilize"`) {
		t.Errorf("schema: exit %d\n%.300s", code, out)
	}
}
