package mcp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/live"
	"github.com/tracetriage/tracetriage/render"
)

// ProbeServerInput is the input of probe_server.
type ProbeServerInput struct {
	URL         string   `json:"url" jsonschema:"base URL of the running server, e.g. http://127.0.0.1:30000 (only hosts the MCP server allows: loopback by default)"`
	Framework   string   `json:"framework,omitempty" jsonschema:"auto (default: ask the server), sglang, vllm or trtllm"`
	Model       string   `json:"model,omitempty" jsonschema:"model name for vLLM and TensorRT-LLM (default: the first of GET /v1/models)"`
	Requests    int      `json:"requests,omitempty" jsonschema:"number of generation requests (default 6, at most 64)"`
	MaxTokens   int      `json:"max_tokens,omitempty" jsonschema:"maximum tokens per answer (default 48, at most 4096)"`
	Prompts     []string `json:"prompts,omitempty" jsonschema:"prompts sent round-robin (default: three built-in prompts)"`
	Concurrency int      `json:"concurrency,omitempty" jsonschema:"requests in flight at once (default 1, at most 16)"`
	TimeoutS    float64  `json:"timeout_s,omitempty" jsonschema:"per-request timeout in seconds (default 180)"`
}

// ProbeServer is the probe_server tool: a few generations sent to a live
// SGLang, vLLM or TensorRT-LLM server, reporting success, whether every
// answer had text, and latency.
func ProbeServer(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("probe_server",
		mcp.WithToolTitle("Probe a live LLM server"),
		mcp.WithDescription("Send a few generation requests to a running SGLang, vLLM or TensorRT-LLM server and report how many succeeded, whether every answer had text, average and p95 latency, and sample answers. "+
			"Use it to check that a server answers correctly before and after a change. Only hosts the MCP server allows are reached (loopback by default; --allow-host adds others)."),
		mcp.WithInputSchema[ProbeServerInput](),
		mcp.WithOutputSchema[live.ProbeReport](),
		// It reads the server's answers and changes nothing there, but it
		// reaches a network service and each call sends new requests.
		mcp.WithToolAnnotation(mcp.ToolAnnotation{
			Title:           "Probe a live LLM server",
			ReadOnlyHint:    mcp.ToBoolPtr(true),
			DestructiveHint: mcp.ToBoolPtr(false),
			IdempotentHint:  mcp.ToBoolPtr(false),
			OpenWorldHint:   mcp.ToBoolPtr(true),
		}),
	)
	return tool, handler(s, "probe_server", func(ctx context.Context, _ mcp.CallToolRequest, in ProbeServerInput) (live.ProbeReport, string, error) {
		var out live.ProbeReport
		u, err := s.hosts.checkURL(in.URL)
		if err != nil {
			return out, "", &userError{err.Error()}
		}
		requests, err := intArg("requests", in.Requests, live.DefaultProbeRequests, 64)
		if err != nil {
			return out, "", err
		}
		maxTokens, err := intArg("max_tokens", in.MaxTokens, live.DefaultProbeMaxTokens, 4096)
		if err != nil {
			return out, "", err
		}
		concurrency, err := intArg("concurrency", in.Concurrency, 1, 16)
		if err != nil {
			return out, "", err
		}
		if in.TimeoutS < 0 {
			return out, "", userErrorf("timeout_s must be positive (got %g); omit it for the default", in.TimeoutS)
		}
		fw := strings.TrimSpace(in.Framework)
		if fw == "" {
			fw = "auto"
		}
		if fw != "auto" && live.CanonicalFramework(fw) == "" {
			return out, "", userErrorf("framework %q is not known: use auto, sglang, vllm or trtllm", in.Framework)
		}
		rep, err := s.deps.Probe(ctx, live.ProbeOptions{
			Framework:   fw,
			URL:         u.String(),
			Model:       in.Model,
			Requests:    requests,
			MaxTokens:   maxTokens,
			Prompts:     in.Prompts,
			Concurrency: concurrency,
			Timeout:     time.Duration(in.TimeoutS * float64(time.Second)),
		})
		if err != nil {
			return out, "", err
		}
		return *rep, probeMarkdown(rep), nil
	})
}

func probeMarkdown(r *live.ProbeReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** at %s", r.Framework, r.URL)
	if r.Model != "" {
		fmt.Fprintf(&b, " (model `%s`)", r.Model)
	}
	fmt.Fprintf(&b, ": %d/%d requests succeeded, all answers non-empty: %v, latency avg %.3f s, p95 %.3f s\n", r.Success, r.Requests, r.AllNonEmpty, r.AvgLatencyS, r.P95LatencyS)
	for _, s := range r.Samples {
		fmt.Fprintf(&b, "- %.2f s: %q → %q\n", s.LatencyS, render.Shorten(s.Prompt, 60), render.Shorten(s.Content, 120))
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(&b, "- error: %s\n", e.Error)
	}
	return strings.TrimSpace(b.String())
}
