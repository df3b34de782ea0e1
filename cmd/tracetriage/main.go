package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is the tool version reported by every front-end.
const version = "0.1.0"

// stdio carries the streams a subcommand may use; tests pass buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io stdio) error
}

// commands lists the subcommands in the order the usage text shows them.
func commands() []command {
	return []command{
		{"analyze", "triage a trace file, a profile directory or a live server", runAnalyze},
		{"compare", "compare traces captured before and after a change", runCompare},
		{"gen", "write a synthetic SGLang-, vLLM- or TensorRT-LLM-shaped trace", runGen},
		{"probe", "send a few requests to a live server and report latency", runProbe},
		{"bundle", "merge saved analyses into one Markdown document", runBundle},
		{"trtllm-override", "patch TensorRT-LLM's py_executor.py to record Python stacks", runTRTLLMOverride},
		{"ci-runners", "check CI docs against the workflows that really run", runCIRunners},
		{"mcp", "serve the analysis tools over the Model Context Protocol", runMCP},
		{"lsp", "serve GPU time on source lines over the Language Server Protocol", runLSP},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

// exitError carries a specific exit status (for example 1 for "mismatches
// found" from ci-runners check) without printing anything more.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// run dispatches to a subcommand and maps its error to an exit status:
// 0 success, 2 usage error, 1 anything else. Errors are printed as one line.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(io.out)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], io)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintf(io.err, "tracetriage %s: %s\n", c.name, oneLine(ee.msg))
			}
			return ee.code
		}
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(io.err, "tracetriage %s: %s\n", c.name, oneLine(ue.msg))
			return 2
		}
		fmt.Fprintf(io.err, "tracetriage %s: %s\n", c.name, oneLine(err.Error()))
		return 1
	}
	fmt.Fprintf(io.err, "tracetriage: unknown command %q; run 'tracetriage help' for the list\n", args[0])
	return 2
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// newFlagSet returns a flag set that reports parse errors as usage errors
// and writes its help text to io.err.
func newFlagSet(name string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("tracetriage "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	return fs
}

// parseFlags parses args and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return usagef("%v (run '%s -h' for the flags)", err, fs.Name())
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tracetriage reads PyTorch profiler traces of LLM serving engines.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: tracetriage <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'tracetriage <command> -h' for the flags of one command.")
}

func runVersion(_ context.Context, _ []string, io stdio) error {
	fmt.Fprintf(io.out, "tracetriage %s\n", version)
	return nil
}
