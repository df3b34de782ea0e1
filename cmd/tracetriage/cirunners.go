package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tracetriage/tracetriage/cirunners"
)

const ciRunnersUsage = `Usage:
  tracetriage ci-runners check --repo DIR [--doc PATH]... [--format text|json]
  tracetriage ci-runners query --repo DIR [--doc PATH]... [--format text|json] SUITE|LABEL

check compares the suite -> runner tables of the CI docs with the runner
labels the GitHub Actions workflows request, and exits with status 1 when
any mismatch is found. query says which runner(s) a suite uses and where
that is decided, or which suites run on a runner label.

Docs read: .claude/skills/ci-workflow-guide/SKILL.md and
.claude/skills/write-sglang-test/SKILL.md when present, plus each --doc
(relative paths are taken from --repo first, then the current directory).
`

// docList collects repeated --doc flags.
type docList []string

func (d *docList) String() string     { return strings.Join(*d, ",") }
func (d *docList) Set(v string) error { *d = append(*d, v); return nil }

// runCIRunners dispatches "ci-runners check" and "ci-runners query".
func runCIRunners(_ context.Context, args []string, io stdio) error {
	if len(args) == 0 {
		return usagef("missing subcommand: check or query (run 'tracetriage ci-runners -h')")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(io.out, ciRunnersUsage)
		return nil
	case "check":
		return ciRunnersCheck(args[1:], io)
	case "query":
		return ciRunnersQuery(args[1:], io)
	}
	return usagef("unknown subcommand %q: want check or query", args[0])
}

type ciFlags struct {
	repo   string
	docs   docList
	format string
}

// parseCIFlags parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseCIFlags(name string, args []string, io stdio) (*ciFlags, []string, error) {
	f := &ciFlags{}
	fs := newFlagSet("ci-runners "+name, io)
	fs.StringVar(&f.repo, "repo", "", "repository root (holds .github/workflows)")
	fs.Var(&f.docs, "doc", "Markdown doc with a suite/runner table (repeatable)")
	fs.StringVar(&f.format, "format", "text", "output format: text or json")
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(io.out, ciRunnersUsage)
			}
			return nil, nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if f.repo == "" {
		return nil, nil, usagef("--repo DIR is required")
	}
	if f.format != "text" && f.format != "json" {
		return nil, nil, usagef("--format %q: want text or json", f.format)
	}
	return f, pos, nil
}

func ciRunnersCheck(args []string, io stdio) error {
	f, pos, err := parseCIFlags("check", args, io)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("check takes no arguments, got %q (use --doc PATH for docs)", pos[0])
	}
	r, err := cirunners.Check(cirunners.CheckOptions{Repo: f.repo, Docs: f.docs})
	if err != nil {
		return err
	}
	if err := write(io.out, f.format, r.WriteText, r.WriteJSON); err != nil {
		return err
	}
	if n := len(r.Mismatches); n > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d mismatch(es) between the CI docs and the workflows", n)}
	}
	return nil
}

func ciRunnersQuery(args []string, io stdio) error {
	f, pos, err := parseCIFlags("query", args, io)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("query takes one SUITE or LABEL, got %d arguments", len(pos))
	}
	q, err := cirunners.Query(f.repo, pos[0], f.docs)
	if err != nil {
		return err
	}
	return write(io.out, f.format, q.WriteText, q.WriteJSON)
}

func write(w io.Writer, format string, text, js func(io.Writer) error) error {
	if format == "json" {
		return js(w)
	}
	return text(w)
}
