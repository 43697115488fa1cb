package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
)

func healthCmd(e *env) *cobra.Command {
	var url, path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health [-c FILE | --url URL]",
		Short: "Ask a running daemon whether it is healthy (for container health checks)",
		Long: `GET the daemon's /healthz and exit 0 if it answers 200, 1 otherwise. Distroless
images have no curl: this is what the Dockerfile's HEALTHCHECK runs.

With -c, the address is the config's server.listen (LEADERHOOK_SERVER__LISTEN in the
environment wins, as it does for the daemon); a listen address on every interface is
asked on 127.0.0.1. --url names the URL instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path != "" && !cmd.Flags().Changed("url") {
				cfg, ok := e.loadConfig(path)
				if !ok {
					return exitError{1}
				}
				url = healthURL(cfg.Server.Listen)
			}
			return e.health(url, timeout)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "", "config file whose server.listen to ask")
	cmd.Flags().StringVar(&url, "url", "http://"+config.DefaultListen+"/healthz", "the daemon's health URL")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}

// healthURL is /healthz at a listen address, on loopback when the daemon
// listens on every interface.
func healthURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		listen = net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + listen + "/healthz"
}

func (e *env) health(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(e.stderr, "unhealthy:", err)
		return exitError{1}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "unhealthy: %s %s\n", resp.Status, body)
		return exitError{1}
	}
	fmt.Fprint(e.stdout, string(body))
	return nil
}
