package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

func healthCmd(e *env) *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health [--url URL]",
		Short: "Ask a running daemon whether it is healthy (for container health checks)",
		Long: `GET the daemon's /healthz and exit 0 if it answers 200, 1 otherwise. Distroless
images have no curl: this is what the Dockerfile's HEALTHCHECK runs.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
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
		},
	}
	cmd.Flags().StringVar(&url, "url", "http://127.0.0.1:9464/healthz", "the daemon's health URL")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}
