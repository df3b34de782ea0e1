package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tracetriage/tracetriage/lsp"
)

// runLSP serves the Language Server Protocol over stdin/stdout. Stdout
// carries nothing but protocol messages; logs go to stderr.
func runLSP(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("lsp", io)
	poll := fs.Duration("poll", 2*time.Second, "how often to check the trace file for changes")
	verbose := fs.Bool("v", false, "log every message handled (to stderr)")
	_ = fs.Bool("stdio", true, "serve over stdin/stdout (the only transport; accepted for editors that pass it)")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "Usage: tracetriage lsp [flags]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Serves GPU time on the Python lines that launched it, over the Language")
		fmt.Fprintln(w, "Server Protocol on stdin/stdout. The editor chooses the trace with the")
		fmt.Fprintln(w, "setting tracetriage.trace; without it the newest trace under")
		fmt.Fprintln(w, lsp.DefaultTraceDir+" in the workspace is used.")
		fmt.Fprintln(w)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(io.err)
			fs.Usage()
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (run 'tracetriage lsp -h' for the flags)", fs.Arg(0))
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: level}))
	srv := lsp.New(lsp.Options{Logger: logger, PollInterval: *poll, Version: version})
	err := srv.Serve(ctx, stdioConn{in: io.in, out: io.out})
	switch {
	case errors.Is(err, lsp.ErrExitWithoutShutdown):
		return &exitError{code: 1}
	case err != nil && ctx.Err() == nil:
		return err
	}
	return nil
}

// stdioConn joins the process's stdin and stdout into one stream.
type stdioConn struct {
	in  io.Reader
	out io.Writer
}

// Read reads from stdin.
func (c stdioConn) Read(p []byte) (int, error) { return c.in.Read(p) }

// Write writes to stdout.
func (c stdioConn) Write(p []byte) (int, error) { return c.out.Write(p) }

// Close does nothing: the process ends when Serve returns, and closing
// stdin would not interrupt a blocked read anyway.
func (stdioConn) Close() error { return nil }
