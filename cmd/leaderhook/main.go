// Command leaderhook watches consensus clusters for leader loss and leader
// changes and runs actions (webhooks, scripts, Slack) when rules fire.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit status through cobra without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// env is what every command gets: its streams and the logger.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	cpuProfile     string
	memProfile     string
	stopProfile    func()
	log            *slog.Logger
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "leaderhook",
		Short: "Act when a consensus cluster loses or changes its leader",
		Long: `leaderhook watches clusters that elect a leader (OpenZiti controllers, hashicorp/raft
applications, etcd, Consul, Nomad, Vault, rqlite), announces when the leader is lost or
changes, and runs your rules' actions: webhooks, scripts, Slack.

Start with:   leaderhook check  -c rules.yaml           # is my config valid?
              leaderhook replay -c rules.yaml events.jsonl   # what would have fired?`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return e.setupLogging()
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&e.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&e.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for bug reports)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentFlags().StringVar(&e.memProfile, "memprofile", "", "write an allocation profile to this file on exit (for bug reports)")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	root.AddCommand(versionCmd(e), checkCmd(e), replayCmd(e), testCmd(e), runCmd(e), fireCmd(e), demoCmd(e), recordCmd(e), reportCmd(e), healthCmd(e), schemaCmd(e), haCmd(e), expectCmd(e))
	root.SetArgs(args)
	err := root.Execute()
	if e.stopProfile != nil {
		e.stopProfile()
	}
	if e.memProfile != "" {
		if f, err := os.Create(e.memProfile); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	default:
		fmt.Fprintln(stderr, "leaderhook:", err)
		return 1
	}
}

func (e *env) setupLogging() error {
	if e.cpuProfile != "" {
		f, err := os.Create(e.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		e.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", e.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch e.logFormat {
	case "text":
		e.log = slog.New(slog.NewTextHandler(e.stderr, opts))
	case "json":
		e.log = slog.New(slog.NewJSONHandler(e.stderr, opts))
	default:
		return fmt.Errorf("--log-format %q: want text or json", e.logFormat)
	}
	return nil
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// buildVersion is the version `leaderhook version` prints and
// leaderhook_build_info shows.
func buildVersion() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(version, info)
}

// versionOf is the version set at build time, or else that of the module
// (a `go install …@v1.4.0` sets none).
func versionOf(ldflags string, info *debug.BuildInfo) string {
	if ldflags == "dev" && info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return ldflags
}

func versionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print leaderhook's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v, goVersion, commit := buildVersion(), "", ""
			if info, ok := debug.ReadBuildInfo(); ok {
				goVersion = info.GoVersion
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						commit = s.Value[:12]
					}
				}
			}
			fmt.Fprintf(e.stdout, "leaderhook %s", v)
			if commit != "" {
				fmt.Fprintf(e.stdout, " (commit %s)", commit)
			}
			fmt.Fprintf(e.stdout, " %s\n", goVersion)
			return nil
		},
	}
}
