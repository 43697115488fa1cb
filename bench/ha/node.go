package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// node is one `leaderhook run` of the bench: its config, its API and,
// while it runs, its process. Its output goes to a log file of the run's
// directory (kept when the run fails).
type node struct {
	name, bin, config, logPath, api string

	cmd  *exec.Cmd
	done chan struct{}
}

// start starts the node and waits until its API answers.
func (n *node) start(ctx context.Context) error {
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log file: %w", n.name, err)
	}
	cmd := exec.Command(n.bin, "run", "-c", n.config, "--log-format", "json")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", n.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logFile.Close()
		close(done)
	}()
	n.cmd, n.done = cmd, done
	return n.waitHealthy(ctx, 20*time.Second)
}

func (n *node) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := statusClient.Get(n.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !n.running() {
			return fmt.Errorf("%s exited before it was up (see %s)", n.name, n.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not up within %s (see %s)", n.name, within, n.logPath)
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func (n *node) running() bool {
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// kill is kill -9, and waits for the process to be gone.
func (n *node) kill() {
	if n.running() {
		n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	}
}

// stop asks the node to end (SIGTERM), and kills it if it is still there
// after a few seconds.
func (n *node) stop() {
	if !n.running() {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		n.kill()
	}
}

// statusClient asks nodes for their status: a node that does not answer
// at once counts as down.
var statusClient = &http.Client{Timeout: 500 * time.Millisecond}

// haStatus is what GET /v1/ha answers, in the part the bench reads.
type haStatus struct {
	NodeID    string `json:"node_id"`
	Role      string `json:"role"`
	LeaderID  string `json:"leader_id"`
	LeaderAPI string `json:"leader_api"`
}

func (n *node) status() (haStatus, error) {
	var s haStatus
	if !n.running() {
		return s, fmt.Errorf("%s is not running", n.name)
	}
	resp, err := statusClient.Get(n.api + "/v1/ha")
	if err != nil {
		return s, fmt.Errorf("%s: GET /v1/ha: %w", n.name, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("%s: GET /v1/ha: %w", n.name, err)
	}
	return s, nil
}

// freeAddr returns a loopback address free at the time of asking.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
