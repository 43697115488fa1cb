package ruletest

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// Suite is the results of one test file, for JUnit reports.
type Suite struct {
	File    *File
	Results []Result
	Err     error // the file or its config could not be loaded
}

// WriteJUnit writes suites as JUnit XML, which CI systems display.
func WriteJUnit(w io.Writer, suites []Suite) error {
	var out junitSuites
	for _, s := range suites {
		js := junitSuite{Name: s.File.Path}
		var total time.Duration
		if s.Err != nil {
			js.Errors++
			js.Tests++
			js.Cases = append(js.Cases, junitCase{Name: "load", Classname: s.File.Path, Time: "0",
				Error: &junitProblem{Message: "could not load", Text: s.Err.Error()}})
		}
		for _, r := range s.Results {
			js.Tests++
			total += r.Elapsed
			c := junitCase{Name: r.Test.Name, Classname: s.File.Path, Time: seconds(r.Elapsed)}
			switch {
			case r.Err != nil:
				js.Errors++
				c.Error = &junitProblem{Message: r.Err.Error(), Text: r.Err.Error()}
			case !r.Passed:
				js.Failures++
				c.Failure = &junitProblem{Message: "outcomes differ", Text: r.Diff}
			}
			js.Cases = append(js.Cases, c)
		}
		js.Time = seconds(total)
		out.Suites = append(out.Suites, js)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }
