package main

import (
	"runtime/debug"
	"testing"
)

// The version `leaderhook version` prints is the one the daemon gives
// leaderhook_build_info: a `go install …@v1.4.0` has no -X main.version,
// and its module version names it in both.
func TestVersionOf(t *testing.T) {
	for _, tc := range []struct {
		name, ldflags, module, want string
	}{
		{"set at build time", "v1.2.0", "v1.4.0", "v1.2.0"},
		{"go install of a tag", "dev", "v1.4.0", "v1.4.0"},
		{"built from a checkout", "dev", "(devel)", "dev"},
		{"no module version", "dev", "", "dev"},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Version: tc.module}}
		if got := versionOf(tc.ldflags, info); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := versionOf("dev", nil); got != "dev" {
		t.Errorf("without build info: %q, want dev", got)
	}
}
