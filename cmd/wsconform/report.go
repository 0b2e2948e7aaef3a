package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// CaseReport is one case in a report.
type CaseReport struct {
	ID          string `json:"id"`
	Section     string `json:"section"`
	Description string `json:"description"`
	// Autobahn is true when the case corresponds to Autobahn TestSuite's case of the same id.
	Autobahn bool `json:"autobahn"`
	result
}

// SectionSummary counts a section's outcomes.
type SectionSummary struct {
	Section       string `json:"section"`
	Cases         int    `json:"cases"`
	OK            int    `json:"ok"`
	NonStrict     int    `json:"non_strict"`
	Informational int    `json:"informational"`
	Failed        int    `json:"failed"`
}

func (s *SectionSummary) add(o Outcome) {
	s.Cases++
	switch o {
	case OK:
		s.OK++
	case NonStrict:
		s.NonStrict++
	case Informational:
		s.Informational++
	default:
		s.Failed++
	}
}

// Report is a run's result, as -json writes it.
type Report struct {
	Tool       string           `json:"tool"`
	Mode       string           `json:"mode"` // "server" or "client"
	Target     string           `json:"target"`
	Agent      string           `json:"agent"`
	Full       bool             `json:"full_section_9"`
	Started    time.Time        `json:"started"`
	DurationMS int64            `json:"duration_ms"`
	Summary    []SectionSummary `json:"summary"` // per section, then "total"
	Cases      []CaseReport     `json:"cases"`
}

func newReport(mode, target, agent string, full bool, started time.Time, runs []*caseRun) *Report {
	r := &Report{Tool: "wsconform", Mode: mode, Target: target, Agent: agent, Full: full, Started: started.UTC(),
		DurationMS: time.Since(started).Milliseconds()}
	var total SectionSummary
	total.Section = "total"
	index := map[string]int{}
	for _, run := range runs {
		sec := run.c.Section()
		i, ok := index[sec]
		if !ok {
			i = len(r.Summary)
			index[sec] = i
			r.Summary = append(r.Summary, SectionSummary{Section: sec})
		}
		r.Summary[i].add(run.r.Outcome)
		total.add(run.r.Outcome)
		r.Cases = append(r.Cases, CaseReport{ID: run.c.ID, Section: sec, Description: run.c.Desc, Autobahn: !run.c.Extra, result: run.r})
	}
	r.Summary = append(r.Summary, total)
	return r
}

// total returns the summary row of all sections.
func (r *Report) total() SectionSummary { return r.Summary[len(r.Summary)-1] }

// writeSummary prints the table and the cases that are not OK (all of them when verbose).
func (r *Report) writeSummary(w io.Writer, verbose bool) {
	fmt.Fprintf(w, "\nwsconform %s %s (agent %s): %d cases in %.1fs\n\n", r.Mode, r.Target, r.Agent, r.total().Cases,
		float64(r.DurationMS)/1000)
	fmt.Fprintf(w, "%-8s %6s %6s %11s %14s %7s\n", "section", "cases", "OK", "NON-STRICT", "INFORMATIONAL", "FAILED")
	for _, s := range r.Summary {
		if s.Section == "total" {
			fmt.Fprintln(w, strings.Repeat("-", 57))
		}
		fmt.Fprintf(w, "%-8s %6d %6d %11d %14d %7d\n", s.Section, s.Cases, s.OK, s.NonStrict, s.Informational, s.Failed)
	}
	for _, o := range []Outcome{Failed, NonStrict, Informational, OK} {
		first := true
		for _, c := range r.Cases {
			if c.Outcome != o || (o == OK && !verbose) {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", o)
				first = false
			}
			fmt.Fprintf(w, "  %-8s %s\n", c.ID, c.Description)
			if c.Reason != "" {
				fmt.Fprintf(w, "           why: %s\n", c.Reason)
			}
			if o == Failed || verbose {
				for _, s := range c.Sent {
					fmt.Fprintf(w, "           sent: %s\n", s)
				}
				fmt.Fprintf(w, "           expected: %s\n", c.Expected)
				for _, g := range c.Got {
					fmt.Fprintf(w, "           got: %s\n", g)
				}
			}
			for _, n := range c.Notes {
				if o != OK || verbose {
					fmt.Fprintf(w, "           note: %s\n", n)
				}
			}
		}
	}
}

func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Expected results: a JSON object {"agent": "...", "cases": {"1.1.1": "OK", ...}}, written in the
// catalogue's order. -expect also reads a whole -json report.

// expectedFile renders r's outcomes as an expected-results file.
func (r *Report) expectedFile() []byte {
	var b bytes.Buffer
	agent, _ := json.Marshal(r.Agent)
	fmt.Fprintf(&b, "{\n  \"agent\": %s,\n  \"mode\": %q,\n  \"cases\": {\n", agent, r.Mode)
	for i, c := range r.Cases {
		comma := ","
		if i == len(r.Cases)-1 {
			comma = ""
		}
		fmt.Fprintf(&b, "    %q: %q%s\n", c.ID, c.Outcome, comma)
	}
	b.WriteString("  }\n}\n")
	return b.Bytes()
}

// readExpected reads an expected-results file or a -json report.
func readExpected(path string) (map[string]Outcome, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Cases json.RawMessage `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]Outcome{}
	var flat map[string]Outcome
	if err := json.Unmarshal(f.Cases, &flat); err == nil {
		out = flat
	} else {
		var list []CaseReport
		if err := json.Unmarshal(f.Cases, &list); err != nil {
			return nil, fmt.Errorf("%s: \"cases\" is neither an object of outcomes nor a report's list", path)
		}
		for _, c := range list {
			out[c.ID] = c.Outcome
		}
	}
	for id, o := range out {
		switch o {
		case OK, NonStrict, Informational, Failed:
		default:
			return nil, fmt.Errorf("%s: case %s: unknown outcome %q", path, id, o)
		}
	}
	return out, nil
}

// comparison is a run measured against expected results.
type comparison struct {
	worse, better, changed []string
}

// compare finds the cases that got worse than expected (a case missing from the file is expected
// OK), better, or changed between OK and INFORMATIONAL.
func compare(r *Report, want map[string]Outcome) comparison {
	var c comparison
	for _, got := range r.Cases {
		exp, ok := want[got.ID]
		line := fmt.Sprintf("%s: %s, expected %s", got.ID, got.Outcome, exp)
		if !ok {
			exp = OK
			line = fmt.Sprintf("%s: %s, not in the expected results (taken as OK)", got.ID, got.Outcome)
		}
		switch {
		case got.Outcome.rank() > exp.rank():
			if got.Reason != "" {
				line += " (" + got.Reason + ")"
			}
			c.worse = append(c.worse, line)
		case got.Outcome.rank() < exp.rank():
			c.better = append(c.better, line)
		case got.Outcome != exp:
			c.changed = append(c.changed, line)
		}
	}
	return c
}

func (c comparison) write(w io.Writer, path string) {
	fmt.Fprintf(w, "\ncompared with %s: %d worse, %d better, %d changed\n", path, len(c.worse), len(c.better), len(c.changed))
	for _, l := range c.worse {
		fmt.Fprintf(w, "  WORSE   %s\n", l)
	}
	for _, l := range c.better {
		fmt.Fprintf(w, "  better  %s (update the expected results)\n", l)
	}
	for _, l := range c.changed {
		fmt.Fprintf(w, "  changed %s\n", l)
	}
}
