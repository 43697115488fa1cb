package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/ruletest"
)

func testCmd(e *env) *cobra.Command {
	var junit string
	cmd := &cobra.Command{
		Use:   "test TESTFILE.yaml...",
		Short: "Run rule unit tests: scripted events in, exact rule outcomes expected",
		Long: `Run rule tests. A test file names the config it tests and lists scenarios: events at
offsets from the test's start, and exactly the outcomes (fired, resolved, suppressed)
expected of the rules it mentions, at the exact instants. Time is virtual: a test of
a one-hour cooldown takes milliseconds.

  config: rules.yaml                 # relative to this file
  env: {SLACK_WEBHOOK_URL: https://example.invalid/slack}   # for ${VAR} in the config
  tests:
    - name: chat after 20 s without a leader
      cluster: ziti-prod
      events:
        - {at: 0s,  eventType: state.has_leader, leaderId: ctrl1}
        - {at: 10s, eventType: state.is_leaderless}
        - {at: 55s, eventType: state.has_leader, leaderId: ctrl2}
      expect:
        - {at: 30s, rule: leaderless-20s, outcome: fired}
        - {at: 55s, rule: leaderless-20s, outcome: resolved}

Saved as examples/chat_test.yaml, next to the example config, this passes:
'leaderhook test examples/chat_test.yaml'.

Events without 'source' are the reports of one member standing for the whole cluster
(they still pass through the detector, so 'stabilize' applies); give 'source' (and
'peers') to script several members. 'start' sets the wall-clock time of offset 0
(default 2025-01-01T00:00:00Z), for schedules and mute windows; without a zone
('2026-03-29 01:30') it is in the config's timezone. A step
'{at: 1m, expect: {for: 30m, reason: upgrade}}' opens a window of expected changes
(rules see 'expected'), as 'leaderhook expect' does; '{at: 9m, expect: {end: true}}'
ends it. An expected outcome may name labels its notification must carry:
'{at: 30s, rule: leaderless-20s, outcome: fired, labels: {env: prod}}'.
'expect: []' means no rule produces any outcome. A rule named in 'expect' or 'rules' that the config does
not have is an error: none of the file's tests run. So is a 'source' that is not one of
the members the config lists for the cluster.

Exit status: 0 when every test passes, 1 otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, paths []string) error {
			return e.runTests(paths, junit)
		},
	}
	cmd.Flags().StringVar(&junit, "junit", "", "also write a JUnit XML report to this file")
	return cmd
}

func (e *env) runTests(paths []string, junit string) error {
	var suites []ruletest.Suite
	passed, failed := 0, 0
	for _, path := range paths {
		suite, p, f := e.runTestFile(path)
		suites = append(suites, suite)
		passed += p
		failed += f
	}
	if junit != "" {
		if err := writeJUnit(junit, suites); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	fmt.Fprintf(e.stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitError{1}
	}
	return nil
}

// runTestFile runs the tests of the file at path and prints each result.
// A file that cannot run (unreadable, its config invalid, naming rules or
// sources the config does not have) counts as one failure.
func (e *env) runTestFile(path string) (suite ruletest.Suite, passed, failed int) {
	suite = ruletest.Suite{File: &ruletest.File{Path: path}}
	f, err := ruletest.Load(path)
	if err != nil {
		suite.Err = err
		printErrors(e.stdout, err)
		return suite, 0, 1
	}
	suite.File = f
	cfg, err := loadTestConfig(f)
	if err != nil {
		suite.Err = err
		fmt.Fprintf(e.stdout, "ERROR %s: config %s:\n%v\n", path, f.ConfigPath(), err)
		return suite, 0, 1
	}
	if err := errors.Join(ruletest.CheckRules(f, cfg), ruletest.CheckSources(f, cfg)); err != nil {
		suite.Err = err
		printErrors(e.stdout, err)
		return suite, 0, 1
	}
	suite.Results = ruletest.Run(f, cfg, e.log)
	for _, r := range suite.Results {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(e.stdout, "ERROR %s:%d: %s: %v\n", path, r.Test.Line, r.Test.Name, r.Err)
		case r.Passed:
			passed++
			fmt.Fprintf(e.stdout, "ok    %s: %s\n", path, r.Test.Name)
		default:
			failed++
			fmt.Fprintf(e.stdout, "FAIL  %s:%d: %s\n%s", path, r.Test.Line, r.Test.Name, r.Diff)
		}
	}
	return suite, passed, failed
}

// writeJUnit writes the suites as a JUnit XML report to the file at path.
func writeJUnit(path string, suites []ruletest.Suite) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = ruletest.WriteJUnit(f, suites)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// printErrors prints each line of err (a problem at its file, line,
// column and key) as an ERROR line.
func printErrors(w io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(w, "ERROR %s\n", line)
	}
}

// loadTestConfig loads the config a test file names, with the test's env
// values in front of the process environment.
func loadTestConfig(f *ruletest.File) (*config.Config, error) {
	path := f.ConfigPath()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lookup := func(name string) (string, bool) {
		if v, ok := f.Env[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
	cfg, _, err := config.Parse(path, data, lookup)
	return cfg, err
}
