package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The signature-verifying receivers in examples/ accept what leaderhook
// sends, and refuse it with the wrong secret.
func TestExampleReceiversVerifySignatures(t *testing.T) {
	goReceiver := filepath.Join(t.TempDir(), "receiver")
	if out, err := exec.Command("go", "build", "-o", goReceiver, "../examples/receiver").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to test examples/receiver.py")
	}
	const secret = "whsec_cmVjZWl2ZXItZXhhbXBsZS1zZWNyZXQ="
	for _, rc := range []struct {
		name string
		cmd  func(addr, port string) *exec.Cmd
	}{
		{"go", func(addr, _ string) *exec.Cmd { return exec.Command(goReceiver, "-listen", addr) }},
		{"python", func(_, port string) *exec.Cmd {
			return exec.Command(python, "../examples/receiver.py", "127.0.0.1", port)
		}},
	} {
		t.Run(rc.name, func(t *testing.T) {
			addr := freePort(t)
			_, port, _ := strings.Cut(addr, ":")
			cmd := rc.cmd(addr, port)
			cmd.Env = append(os.Environ(), "LEADERHOOK_SECRET="+secret)
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			lines := make(chan string, 4)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				io.Copy(io.Discard, stdout)
			}()
			// The receiver is ready once it accepts connections.
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				c, err := net.Dial("tcp", addr)
				if err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the receiver does not listen on %s: %v", addr, err)
				}
			}
			dir := t.TempDir()
			for _, s := range []struct {
				secret, format string
				ok             bool
			}{{secret, "json", true}, {secret, "cloudevents", true}, {"whsec_d3Jvbmctc2VjcmV0", "json", false}} {
				config := writeConfig(t, dir, fmt.Sprintf(`  hook: {type: webhook, url: "http://%s/", secret: "%s", format: %s, retry: {max_attempts: 1}}`, addr, s.secret, s.format),
					`  - {name: r, when: leaderless, actions: [hook]}`)
				out, _, code := run(t, nil, "fire", "-c", config, "hook")
				if s.ok && code != 0 {
					t.Errorf("right secret, %s: exit %d\n%s", s.format, code, out)
				}
				if s.ok && code == 0 {
					// The receiver read the rule, status and cluster from the payload.
					var line string
					select {
					case line = <-lines:
					case <-time.After(15 * time.Second):
						t.Fatalf("%s: the receiver printed nothing", s.format)
					}
					if !regexp.MustCompile(`^verified msg_\S+: leaderhook-fire firing on c1$`).MatchString(line) {
						t.Errorf("%s: receiver printed %q", s.format, line)
					}
				}
				if !s.ok && (code != 1 || !strings.Contains(out, "HTTP 401")) {
					t.Errorf("wrong secret: exit %d\n%s", code, out)
				}
			}
		})
	}
}
