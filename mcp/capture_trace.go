package mcp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/live"
)

// CaptureTraceInput is the input of capture_trace.
type CaptureTraceInput struct {
	URL            string  `json:"url" jsonschema:"base URL of the running server, e.g. http://127.0.0.1:30000 (only hosts the MCP server allows: loopback by default)"`
	Framework      string  `json:"framework,omitempty" jsonschema:"auto (default: ask the server), sglang, vllm or trtllm"`
	OutputDir      string  `json:"output_dir,omitempty" jsonschema:"where the server writes the traces, under an allowed root. SGLang: any directory (default: tracetriage-captures under the first root); vLLM: the server's torch_profiler_dir; TensorRT-LLM: its TLLM_TORCH_PROFILE_TRACE path"`
	NumSteps       int     `json:"num_steps,omitempty" jsonschema:"profiler steps to record (default 5, at most 100)"`
	ProbeRequests  int     `json:"probe_requests,omitempty" jsonschema:"generations sent while profiling (default 1, at most 16)"`
	ProfileByStage string  `json:"profile_by_stage,omitempty" jsonschema:"SGLang: separate EXTEND and DECODE traces: auto (default: on for SGLang), on or off"`
	TraceTimeoutS  float64 `json:"trace_timeout_s,omitempty" jsonschema:"how long to wait for the trace files, in seconds (default 180 for SGLang, 60 otherwise)"`
}

// CaptureTraceOutput says where the captured traces are.
type CaptureTraceOutput struct {
	Framework      string `json:"framework"`
	TracePath      string `json:"trace_path" jsonschema:"trace file or directory of the new traces: give it to analyze_trace as input"`
	ServerArgsPath string `json:"server_args_path" jsonschema:"server_args.json saved beside the traces, empty when none"`
	Model          string `json:"model"`
}

const defaultCaptureDir = "tracetriage-captures"

// CaptureTrace is the capture_trace tool: profile a running server (start
// the torch profiler, send probe generations, wait for the trace files).
func CaptureTrace(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("capture_trace",
		mcp.WithToolTitle("Profile a live LLM server"),
		mcp.WithDescription("Profile a running SGLang, vLLM or TensorRT-LLM server: start its torch profiler, send a few generations so it records decode steps, and wait for the trace files; then call analyze_trace with the returned trace_path. "+
			"vLLM must run with its profiler enabled and TensorRT-LLM with TLLM_PROFILE_START_STOP; the server writes the files, so output_dir must be the same path for it and for this machine. Only allowed hosts are reached and files land under the allowed roots."),
		mcp.WithInputSchema[CaptureTraceInput](),
		mcp.WithOutputSchema[CaptureTraceOutput](),
		// It makes the server record a profile and write files: not
		// read-only, but it overwrites nothing (each capture gets new files).
		mcp.WithToolAnnotation(mcp.ToolAnnotation{
			Title:           "Profile a live LLM server",
			ReadOnlyHint:    mcp.ToBoolPtr(false),
			DestructiveHint: mcp.ToBoolPtr(false),
			IdempotentHint:  mcp.ToBoolPtr(false),
			OpenWorldHint:   mcp.ToBoolPtr(true),
		}),
	)
	return tool, handler(s, "capture_trace", func(ctx context.Context, req mcp.CallToolRequest, in CaptureTraceInput) (CaptureTraceOutput, string, error) {
		var out CaptureTraceOutput
		u, err := s.hosts.checkURL(in.URL)
		if err != nil {
			return out, "", &userError{err.Error()}
		}
		fw := strings.TrimSpace(in.Framework)
		if fw == "" {
			fw = "auto"
		}
		if fw != "auto" && live.CanonicalFramework(fw) == "" {
			return out, "", userErrorf("framework %q is not known: use auto, sglang, vllm or trtllm", in.Framework)
		}
		steps, err := intArg("num_steps", in.NumSteps, live.DefaultNumSteps, 100)
		if err != nil {
			return out, "", err
		}
		probes, err := intArg("probe_requests", in.ProbeRequests, 1, 16)
		if err != nil {
			return out, "", err
		}
		byStage := in.ProfileByStage
		if byStage == "" {
			byStage = "auto"
		}
		sw, err := live.ParseSwitch(byStage)
		if err != nil {
			return out, "", userErrorf("profile_by_stage %q: use auto, on or off", in.ProfileByStage)
		}
		if in.TraceTimeoutS < 0 {
			return out, "", userErrorf("trace_timeout_s must be positive (got %g); omit it for the default", in.TraceTimeoutS)
		}
		dir, err := s.captureDir(ctx, in.OutputDir)
		if err != nil {
			return out, "", err
		}
		note := captureNotes(ctx, req)
		res, err := s.deps.Capture(ctx, live.CaptureOptions{
			URL:            u.String(),
			Framework:      fw,
			OutputDir:      dir,
			NumSteps:       steps,
			ProfileByStage: sw,
			ProbeRequests:  probes,
			TraceTimeout:   time.Duration(in.TraceTimeoutS * float64(time.Second)),
			Progress:       note.report,
		})
		note.flush()
		if err != nil {
			return out, "", err
		}
		// The server chose the file names: keep the answer inside the roots.
		tp, err := s.roots.resolve(ctx, res.TracePath, "captured trace")
		if err != nil {
			return out, "", err
		}
		out = CaptureTraceOutput{Framework: res.Framework, TracePath: tp, ServerArgsPath: res.ServerArgsPath, Model: res.Model}
		text := fmt.Sprintf("Captured a %s profile", res.Framework)
		if res.Model != "" {
			text += fmt.Sprintf(" of `%s`", res.Model)
		}
		text += fmt.Sprintf(": `%s`. Next: analyze_trace with input %q.", tp, tp)
		return out, text, nil
	})
}

// captureDir returns the output directory of a capture: the one asked for
// (or tracetriage-captures under the first root), created if needed, and
// inside the roots.
func (s *Server) captureDir(ctx context.Context, asked string) (string, error) {
	roots := s.roots.roots(ctx)
	p := asked
	if strings.TrimSpace(p) == "" {
		p = filepath.Join(roots[0], defaultCaptureDir)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(roots[0], p)
	}
	p = filepath.Clean(p)
	// Check the parent that exists before creating anything.
	parent := p
	for {
		if _, err := os.Stat(parent); err == nil {
			break
		}
		next := filepath.Dir(parent)
		if next == parent {
			break
		}
		parent = next
	}
	if _, err := s.roots.resolve(ctx, parent, "output_dir"); err != nil {
		return "", outsideRoots("output_dir", asked, roots)
	}
	// TensorRT-LLM's output may name a file (….json or ….gz).
	mk := p
	if ext := filepath.Ext(p); ext == ".json" || ext == ".gz" {
		mk = filepath.Dir(p)
	}
	if err := os.MkdirAll(mk, 0o755); err != nil {
		return "", userErrorf("output_dir %q cannot be created (%v): give a writable directory under %s", asked, err, rootList(roots))
	}
	if _, err := s.roots.resolve(ctx, mk, "output_dir"); err != nil {
		return "", err
	}
	return p, nil
}

// captureNotes turns the capture's one-line notes into progress
// notifications (a counter with the note as message) when the request
// carries a progress token.
type captureNoter struct {
	pr    *progressReporter
	mu    sync.Mutex
	count int64
	send  func(n int64, msg string)
}

func captureNotes(ctx context.Context, req mcp.CallToolRequest) *captureNoter {
	c := &captureNoter{pr: &progressReporter{}}
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return c
	}
	srv := server.ServerFromContext(ctx)
	sess := server.ClientSessionFromContext(ctx)
	if srv == nil || sess == nil {
		return c
	}
	c.pr.ch = sess.NotificationChannel()
	token := req.Params.Meta.ProgressToken
	c.send = func(n int64, msg string) {
		if srv.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
			"progressToken": token, "progress": n, "message": msg,
		}) == nil {
			c.pr.sent.Add(1)
		}
	}
	return c
}

func (c *captureNoter) report(msg string) {
	if c.send == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count++
	c.send(c.count, msg)
}

func (c *captureNoter) flush() { c.pr.flush() }
