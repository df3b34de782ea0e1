package cirunners

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for a terminal: a summary line, each suite
// with its doc rows and jobs, then each mismatch with both locations.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("ci-runners: %d doc(s), %d workflow(s), %d suite(s), %d mismatch(es)\n",
		len(r.Docs), len(r.Workflows), len(r.Suites), len(r.Mismatches))
	ew.printf("\nSuites:\n")
	for _, s := range r.Suites {
		writeSuite(ew, s, "  ")
	}
	if len(r.Mismatches) == 0 {
		ew.printf("\nNo mismatches.\n")
		return ew.err
	}
	ew.printf("\nMismatches:\n")
	for _, m := range r.Mismatches {
		ew.printf("  %s  %s\n", m.Kind, m.Suite)
		if m.DocFile != "" {
			ew.printf("    doc       %s:%d  %s\n", m.DocFile, m.DocLine, orDash(m.DocLabels))
		}
		if m.WorkflowFile != "" {
			ew.printf("    workflow  %s:%d  job %s  %s\n", m.WorkflowFile, m.WorkflowLine, m.Job, orDash(m.WorkflowLabels))
		}
		ew.printf("    %s\n", m.Message)
	}
	return ew.err
}

func writeSuite(ew *errWriter, s SuiteReport, indent string) {
	name := s.Suite
	if name == "" {
		name = "(jobs that run no recognised suite)"
	}
	ew.printf("%s%s\n", indent, name)
	writeRows(ew, s, indent)
}

// writeRows writes a suite's doc rows and jobs, one per line, with the
// chain that decided each dynamic label.
func writeRows(ew *errWriter, s SuiteReport, indent string) {
	for _, d := range s.Documented {
		extra := ""
		if d.NotWired {
			extra = "  (not wired)"
		}
		ew.printf("%s  doc  %s:%d  %s%s\n", indent, d.File, d.Line, orDash(d.Labels), extra)
	}
	for _, j := range s.Jobs {
		dyn := ""
		if j.Dynamic {
			dyn = "  dynamic: " + j.RunsOn
		}
		ew.printf("%s  job  %s:%d  %s  %s%s\n", indent, j.Workflow, j.RunsOnLine, j.Job, labelList(j.Labels, j.Unresolved), dyn)
		for _, d := range j.Decided {
			ew.printf("%s         %s  via %s\n", indent, d.Label, strings.Join(d.Via, " <- "))
		}
	}
	if len(s.Documented) == 0 && len(s.Jobs) == 0 {
		ew.printf("%s  (nothing)\n", indent)
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteText writes the query answer for a terminal.
func (q *QueryResult) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	switch q.Kind {
	case "suite":
		ew.printf("suite %s\n", q.Term)
		if q.Suite != nil {
			writeRows(ew, *q.Suite, "")
			if len(q.Suite.Jobs) == 0 {
				ew.printf("  no workflow job runs it\n")
			}
		}
	default:
		ew.printf("label %s: %d suite(s)\n", q.Term, countNamed(q.LabelSuites))
		for _, s := range q.LabelSuites {
			writeSuite(ew, s, "  ")
		}
	}
	return ew.err
}

func countNamed(ss []SuiteReport) int {
	n := 0
	for _, s := range ss {
		if s.Suite != "" {
			n++
		}
	}
	return n
}

// WriteJSON writes the query answer as indented JSON.
func (q *QueryResult) WriteJSON(w io.Writer) error { return writeJSON(w, q) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
