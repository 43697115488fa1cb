package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A reload reopens the audit log at its path, also one that refuses the
// config: after a rotation that renamed the log (logrotate's create with
// a reload in postrotate), the file at the path is there at once and gets
// what follows; the renamed one keeps what came before.
func TestReloadReopensTheAuditLog(t *testing.T) {
	for name, reload := range map[string]func(h *harness) (int, string){
		"accepted": func(h *harness) (int, string) { return h.post("/-/reload", "t0k3n", "") },
		"refused": func(h *harness) (int, string) {
			if err := os.WriteFile(h.path, []byte("clusters: [\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return h.post("/-/reload", "t0k3n", "")
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, expectConfig, map[string]any{"Hook": closedURL(t)})
			h.start(Options{})
			h.post("/v1/expect", "t0k3n", `{"cluster":"ziti","for":"1h","reason":"upgrade"}`)
			expectRecords(t, h.dir, 1)
			path := filepath.Join(h.dir, "audit.jsonl")
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			code, body := reload(h)
			if want := map[string]int{"accepted": 200, "refused": 400}[name]; code != want {
				t.Fatalf("reload: %d %s, want %d", code, body, want)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("after the reload: %v, want a new audit log at the path", err)
			}
			h.delete("/v1/expect?cluster=ziti", "t0k3n")
			if got := expectRecords(t, h.dir, 1); got[0].Status != "ended" {
				t.Errorf("the new audit log holds %+v, want the window's end", got)
			}
			old, _ := os.ReadFile(path + ".1")
			if strings.Count(string(old), `"kind":"expect"`) != 1 || !strings.Contains(string(old), `"status":"open"`) {
				t.Errorf("the renamed audit log holds:\n%s\nwant the window's opening only", old)
			}
		})
	}
}
