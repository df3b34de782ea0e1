package mcp

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/render"
)

// CompareTracesInput is the input of compare_traces.
type CompareTracesInput struct {
	Before    string `json:"before" jsonschema:"trace file or profile directory captured before the change"`
	After     string `json:"after" jsonschema:"trace file or profile directory captured after the change"`
	Framework string `json:"framework,omitempty" jsonschema:"auto (default), sglang, vllm or trtllm"`
	Stage     string `json:"stage,omitempty" jsonschema:"only this stage: extend, decode or all (default: every stage found in both)"`
	TopK      int    `json:"top_k,omitempty" jsonschema:"rows kept per list and stage (default 15)"`
}

// CompareTracesOutput answers compare_traces: the engine's comparison,
// one entry per stage found in either trace.
type CompareTracesOutput = analyzer.Comparison

const defaultCompareTopK = 15

// CompareTraces is the compare_traces tool: which kernels' GPU time changed
// most between two traces, and which kernels are new or vanished.
func CompareTraces(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("compare_traces",
		mcp.WithToolTitle("Compare two traces"),
		mcp.WithDescription("Compare a trace captured before a change with one captured after it, per stage: total GPU time, the kernels whose GPU time changed most, kernels that are new and kernels that vanished (e.g. replaced by a fused kernel). Kernels are matched by canonical name."),
		mcp.WithInputSchema[CompareTracesInput](),
		mcp.WithOutputSchema[CompareTracesOutput](),
		readOnlyLocal("Compare two traces"),
	)
	return tool, handler(s, "compare_traces", func(ctx context.Context, req mcp.CallToolRequest, in CompareTracesInput) (CompareTracesOutput, string, error) {
		var out CompareTracesOutput
		topK, err := intArg("top_k", in.TopK, defaultCompareTopK, maxTopK)
		if err != nil {
			return out, "", err
		}
		stage, err := stageArg(in.Stage)
		if err != nil {
			return out, "", err
		}
		if strings.TrimSpace(in.Before) == "" || strings.TrimSpace(in.After) == "" {
			return out, "", userErrorf("give both before and after: the trace files or profile directories to compare")
		}
		// Refuse a bad path before analysing the other trace.
		for _, a := range [][2]string{{in.Before, "before"}, {in.After, "after"}} {
			if _, err := s.roots.resolve(ctx, a[0], a[1]); err != nil {
				return out, "", err
			}
		}
		before, _, err := s.loadDocument(ctx, req, traceArgs{input: in.Before, framework: in.Framework})
		if err != nil {
			return out, "", fmt.Errorf("before: %w", err)
		}
		after, _, err := s.loadDocument(ctx, req, traceArgs{input: in.After, framework: in.Framework})
		if err != nil {
			return out, "", fmt.Errorf("after: %w", err)
		}
		out = analyzer.Compare(before, after, stage, topK)
		out.Before, out.After = in.Before, in.After
		if len(out.Stages) == 0 {
			if stage != "" {
				return out, "", userErrorf("neither trace has the %s stage (before: %s; after: %s)", stage, stageNames(before), stageNames(after))
			}
			return out, "", userErrorf("neither trace has GPU kernels to compare")
		}
		return out, compareMarkdown(&out), nil
	})
}

func compareMarkdown(out *CompareTracesOutput) string {
	var b strings.Builder
	render.Comparison(&b, *out, 80) // a strings.Builder does not fail
	return strings.TrimSpace(b.String())
}
