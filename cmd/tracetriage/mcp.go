package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/tracetriage/tracetriage/mcp"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// runMCP serves the analysis tools over the Model Context Protocol: on
// stdin/stdout by default, or over streamable HTTP with --http.
func runMCP(ctx context.Context, args []string, io stdio) error {
	fs := newFlagSet("mcp", io)
	httpAddr := fs.String("http", "", "serve streamable HTTP at `ADDR` (e.g. 127.0.0.1:8765, endpoint /mcp) instead of stdio")
	var roots, hosts stringList
	fs.Var(&roots, "root", "allow file arguments under `DIR` (repeatable; default the working directory, or the client's roots)")
	fs.Var(&hosts, "allow-host", "let probe_server and capture_trace reach `HOST` (repeatable; default loopback only)")
	cacheMB := fs.Int("cache-mb", mcp.DefaultCacheBytes>>20, "memory budget of the analysis cache in `MB`")
	verbose := fs.Bool("v", false, "log each tool call to stderr")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(io.err, "Usage: tracetriage mcp [--http 127.0.0.1:PORT] [--root DIR]... [--allow-host H]... [--cache-mb N]")
			fs.SetOutput(io.err)
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (run 'tracetriage mcp -h' for the flags)", fs.Arg(0))
	}
	if *cacheMB <= 0 {
		return usagef("--cache-mb must be positive, got %d", *cacheMB)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: level}))
	srv, err := mcp.New(mcp.Config{
		Version:    version,
		Roots:      roots,
		AllowHosts: hosts,
		CacheBytes: int64(*cacheMB) << 20,
		Logger:     logger,
	})
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	defer func() { logger.Debug("analysis cache", "stats", srv.CacheStats()) }()
	if *httpAddr == "" {
		return srv.ServeStdio(ctx, io.in, io.out)
	}
	return serveMCPHTTP(ctx, *httpAddr, srv, logger, io)
}

// serveMCPHTTP serves the streamable HTTP transport at addr until ctx ends.
func serveMCPHTTP(ctx context.Context, addr string, srv *mcp.Server, logger *slog.Logger, io stdio) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--http %s: %w", addr, err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().IsLoopback() {
		fmt.Fprintf(io.err, "tracetriage mcp: warning: %s is reachable from other machines and the server has no authentication; prefer 127.0.0.1\n", ln.Addr())
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.HTTPHandler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// The address line tells scripts (and people) where to connect when the
	// port was chosen by the system (--http 127.0.0.1:0).
	fmt.Fprintf(io.err, "tracetriage mcp: serving streamable HTTP at http://%s/mcp\n", ln.Addr())
	logger.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		return nil
	}
}
