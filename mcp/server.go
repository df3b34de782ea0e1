package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/cirunners"
	"github.com/tracetriage/tracetriage/live"
	"github.com/tracetriage/tracetriage/render"
)

// Deps are the engine entry points the tools call. A zero field means the
// real implementation; tests substitute their own to run the tools on
// documents they build.
type Deps struct {
	// Analyze loads traces and returns their analysis document.
	Analyze func(ctx context.Context, opts analyzer.Options) (*analyzer.Document, error)
	// Capture profiles a live server and waits for its traces
	// (capture_trace).
	Capture func(ctx context.Context, opts live.CaptureOptions) (*live.CaptureResult, error)
	// Probe sends generations to a live server (probe_server).
	Probe func(ctx context.Context, opts live.ProbeOptions) (*live.ProbeReport, error)
	// Bundle writes the Markdown bundle of saved analyses (render_bundle).
	Bundle func(w io.Writer, opts render.BundleOptions) error
	// CheckCI and QueryCI read CI docs and workflows
	// (check_ci_runner_labels).
	CheckCI func(opts cirunners.CheckOptions) (*cirunners.Report, error)
	QueryCI func(repo, term string, docs []string) (*cirunners.QueryResult, error)
}

func (d Deps) withDefaults() Deps {
	if d.Analyze == nil {
		d.Analyze = analyzer.Analyze
	}
	if d.Capture == nil {
		d.Capture = live.Capture
	}
	if d.Probe == nil {
		d.Probe = live.Probe
	}
	if d.Bundle == nil {
		d.Bundle = render.Bundle
	}
	if d.CheckCI == nil {
		d.CheckCI = cirunners.Check
	}
	if d.QueryCI == nil {
		d.QueryCI = cirunners.Query
	}
	return d
}

// Config configures a Server.
type Config struct {
	// Version is reported to clients in the initialize handshake.
	Version string
	// Roots are the directories file arguments must resolve inside. Empty
	// means the working directory, which a client's own roots (MCP roots
	// capability) then replace.
	Roots []string
	// AllowHosts are the hosts probe_server may reach. Empty means loopback
	// only.
	AllowHosts []string
	// CacheBytes bounds the estimated memory of cached analyses. Zero means
	// DefaultCacheBytes.
	CacheBytes int64
	// MaxConcurrentAnalyses bounds how many traces are parsed at once. Zero
	// means 1, which keeps memory within the cache budget plus one trace.
	MaxConcurrentAnalyses int
	// Logger receives the server's logs; nil discards them. Never log to
	// stdout in stdio mode: it carries the protocol.
	Logger *slog.Logger
	// Deps overrides the engine entry points (tests).
	Deps Deps
}

// DefaultCacheBytes is the default memory budget of the analysis cache.
const DefaultCacheBytes = 256 << 20

// Server is tracetriage's MCP server: the tools, their shared analysis
// cache and the safety rules.
type Server struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	roots *rootSet
	hosts hostSet
	cache *analysisCache
	mcp   *server.MCPServer
}

// New builds a Server and registers its tools in a fixed order.
func New(cfg Config) (*Server, error) {
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	roots, err := newRootSet(cfg.Roots, true)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		deps:  cfg.Deps.withDefaults(),
		log:   logger,
		roots: roots,
		hosts: newHostSet(cfg.AllowHosts),
		cache: newAnalysisCache(cfg.CacheBytes, cfg.MaxConcurrentAnalyses),
	}
	hooks := &server.Hooks{}
	hooks.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		s.roots.forget(sess.SessionID())
	})
	s.mcp = server.NewMCPServer("tracetriage", cfg.Version,
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithInputSchemaValidation(),
		server.WithOutputSchemaValidation(),
		server.WithHooks(hooks),
		server.WithInstructions(instructions),
	)
	s.mcp.AddNotificationHandler(mcp.MethodNotificationRootsListChanged, func(ctx context.Context, _ mcp.JSONRPCNotification) {
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			s.roots.forget(sess.SessionID())
			return
		}
		// Some transports (mcp-go's in-process one) deliver notifications
		// without their session: ask every client again.
		s.roots.forgetAll()
	})
	for _, t := range s.tools() {
		s.mcp.AddTool(t.Tool, t.Handler)
	}
	return s, nil
}

const instructions = `tracetriage reads PyTorch profiler (Kineto) traces of LLM serving engines (SGLang, vLLM, TensorRT-LLM).
Start with analyze_trace on a trace file or profile directory; then kernel_sites to see where a kernel is launched or what a source line launches, and compare_traces for before/after. Sites are repo-relative path:line you can open.
capture_trace profiles a running server and returns the trace path to analyse; probe_server checks a running server's answers and latency; render_bundle merges saved analyses into one Markdown document; check_ci_runner_labels compares CI docs with the workflows.`

// tools lists every tool in registration order.
func (s *Server) tools() []server.ServerTool {
	ctors := []func(*Server) (mcp.Tool, server.ToolHandlerFunc){
		AnalyzeTrace,
		KernelSites,
		CompareTraces,
		CaptureTrace,
		ProbeServer,
		RenderBundle,
		CheckCIRunnerLabels,
	}
	out := make([]server.ServerTool, 0, len(ctors))
	for _, c := range ctors {
		t, h := c(s)
		out = append(out, server.ServerTool{Tool: t, Handler: h})
	}
	return out
}

// MCPServer returns the underlying mcp-go server (for in-process clients).
func (s *Server) MCPServer() *server.MCPServer { return s.mcp }

// ServeStdio serves one client on in/out until in closes or ctx ends.
// Only JSON-RPC is written to out.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	std := server.NewStdioServer(s.mcp)
	std.SetErrorLogger(log.New(slogWriter{s.log}, "", 0))
	err := std.Listen(ctx, in, out)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// maxRequestBytes bounds the body of one HTTP request; tool arguments are
// small.
const maxRequestBytes = 4 << 20

// HTTPHandler returns the streamable HTTP transport, served at /mcp.
// Requests whose Host is not localhost are refused (DNS rebinding
// protection), and request bodies are bounded.
func (s *Server) HTTPHandler() http.Handler {
	return http.MaxBytesHandler(server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath("/mcp"),
		server.WithStreamableHTTPLogger(s.log),
	), maxRequestBytes)
}

// CacheStats reports the analysis cache's size and counters.
func (s *Server) CacheStats() CacheStats { return s.cache.stats() }

// slogWriter adapts a log.Logger's output to slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}

// toolFunc is the body of a tool: typed input in, typed output and a short
// Markdown summary out. Errors become isError results (see toolError).
type toolFunc[In, Out any] func(ctx context.Context, req mcp.CallToolRequest, in In) (Out, string, error)

// handler adapts a toolFunc to mcp-go: it binds the arguments, turns every
// error and panic into an isError result the model can act on, and returns
// the output as structured content with the Markdown as text content.
func handler[In, Out any](s *Server, name string, fn toolFunc[In, Out]) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, _ error) {
		start := time.Now()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("tool panicked", "tool", name, "panic", r)
				res = mcp.NewToolResultError(fmt.Sprintf("%s failed on an internal error (%v); this is a bug in tracetriage, please report it with the arguments used", name, r))
			}
		}()
		var in In
		if err := req.BindArguments(&in); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: the arguments do not match the input schema (%v); fix them and call again", name, err)), nil
		}
		out, text, err := fn(ctx, req, in)
		if err != nil {
			msg := s.toolError(name, err)
			s.log.Info("tool error", "tool", name, "err", err, "elapsed", time.Since(start))
			return mcp.NewToolResultError(msg), nil
		}
		s.log.Debug("tool call", "tool", name, "elapsed", time.Since(start))
		return mcp.NewToolResultStructured(out, text), nil
	}
}

// userError is an error whose message is already a sentence for the model.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, a ...any) error { return &userError{fmt.Sprintf(format, a...)} }

var (
	errEnginePanic = errors.New("the analysis engine crashed")
	errNoDocument  = errors.New("the analysis engine returned no document")
)

// toolError maps an error to the sentence the model reads. Engine sentinel
// errors are mapped here, once, at the adapter edge.
func (s *Server) toolError(tool string, err error) string {
	var pe *pathError
	var ue *userError
	switch {
	case errors.As(err, &pe):
		return pe.msg
	case errors.As(err, &ue):
		return ue.msg
	case errors.Is(err, context.Canceled):
		return tool + " was cancelled before it finished; call it again if the answer is still needed"
	case errors.Is(err, context.DeadlineExceeded):
		return tool + " ran out of time; try a smaller trace, one stage (stage argument), or call again"
	case errors.Is(err, analyzer.ErrNotImplemented):
		return "this tracetriage build cannot analyse traces yet (" + err.Error() + "); install a newer tracetriage"
	case errors.Is(err, errEnginePanic), errors.Is(err, errNoDocument):
		return tool + " failed: " + err.Error() + "; this is a bug in tracetriage, please report it with the trace"
	case errors.Is(err, trace.ErrNotTrace):
		return tool + " failed: " + err.Error() + "; give a torch.profiler (Kineto) Chrome-trace file (.json or .json.gz) or the directory the profiler wrote"
	case errors.Is(err, trace.ErrInvalidJSON), errors.Is(err, trace.ErrTruncated):
		return tool + " failed: " + err.Error() + "; the file is damaged or still being written: wait for the profiler to finish, or capture the trace again"
	case errors.Is(err, trace.ErrNoTraces):
		return tool + " failed: " + err.Error() + "; give a trace file, or the directory the profiler wrote its .json/.json.gz traces to"
	case errors.Is(err, trace.ErrNotFound):
		return tool + " failed: " + err.Error() + "; check the path"
	case errors.Is(err, live.ErrUnreachable):
		return tool + " failed: " + err.Error() + "; check that the server is running and the URL's port"
	case errors.Is(err, live.ErrTimeout):
		return tool + " failed: " + err.Error() + "; the server may be busy: call again with a larger timeout_s or fewer requests"
	case errors.Is(err, cirunners.ErrSyntax):
		return tool + " failed: " + err.Error() + "; fix the file at that line, or leave the doc out"
	}
	return tool + " failed: " + err.Error()
}

// progressReporter sends notifications/progress for one request when it
// carries a progress token; report is nil otherwise. Updates are throttled
// and strictly increasing, as the protocol requires.
type progressReporter struct {
	report func(done, total int64)
	sent   atomic.Int64
	ch     chan<- mcp.JSONRPCNotification
}

func newProgressReporter(ctx context.Context, req mcp.CallToolRequest, what string) *progressReporter {
	pr := &progressReporter{}
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return pr
	}
	srv := server.ServerFromContext(ctx)
	sess := server.ClientSessionFromContext(ctx)
	if srv == nil || sess == nil {
		return pr
	}
	pr.ch = sess.NotificationChannel()
	token := req.Params.Meta.ProgressToken
	var mu sync.Mutex
	last := int64(-1)
	var lastAt time.Time
	pr.report = func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		final := total > 0 && done >= total
		if done <= last || (!final && last >= 0 && time.Since(lastAt) < 100*time.Millisecond) {
			return
		}
		last, lastAt = done, time.Now()
		params := map[string]any{
			"progressToken": token,
			"progress":      done,
			"message":       fmt.Sprintf("loading %s: %s", what, byteProgress(done, total)),
		}
		if total > 0 {
			params["total"] = total
		}
		if srv.SendNotificationToClient(ctx, "notifications/progress", params) == nil {
			pr.sent.Add(1)
		}
	}
	return pr
}

// flush waits (briefly) until the progress notifications sent are written,
// so that none reaches the client after the response that ends the request:
// mcp-go writes notifications from a queue of their own.
func (pr *progressReporter) flush() {
	if pr.sent.Load() == 0 || pr.ch == nil {
		return
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for len(pr.ch) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * time.Millisecond) // the last one taken off the queue is being written
}

func byteProgress(done, total int64) string {
	if total <= 0 {
		return fmt.Sprintf("%.1f MB read", float64(done)/1e6)
	}
	return fmt.Sprintf("%.1f of %.1f MB read", float64(done)/1e6, float64(total)/1e6)
}
