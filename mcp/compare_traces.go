package mcp

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/analyzer"
)

// CompareTracesInput is the input of compare_traces.
type CompareTracesInput struct {
	Before    string `json:"before" jsonschema:"trace file or profile directory captured before the change"`
	After     string `json:"after" jsonschema:"trace file or profile directory captured after the change"`
	Framework string `json:"framework,omitempty" jsonschema:"auto (default), sglang, vllm or trtllm"`
	Stage     string `json:"stage,omitempty" jsonschema:"only this stage: extend, decode or all (default: every stage found in both)"`
	TopK      int    `json:"top_k,omitempty" jsonschema:"rows kept per list and stage (default 15)"`
}

// CompareTracesOutput answers compare_traces, one entry per stage found in
// either trace.
type CompareTracesOutput struct {
	Before string         `json:"before"`
	After  string         `json:"after"`
	Stages []StageCompare `json:"stages"`
}

// StageCompare compares one stage of the two traces.
type StageCompare struct {
	Stage           string  `json:"stage"`
	BeforeGPUTimeUS float64 `json:"before_gpu_time_us"`
	AfterGPUTimeUS  float64 `json:"after_gpu_time_us"`
	DeltaUS         float64 `json:"delta_us" jsonschema:"after minus before, microseconds (negative is faster)"`
	DeltaPct        float64 `json:"delta_pct" jsonschema:"delta as a percentage of before (0 when before is 0)"`
	// The GPU timeline: span (first kernel start to last kernel end) and
	// the share of it the GPU sat idle waiting for the host to launch the
	// next kernel (what CUDA graphs or an overlapping scheduler remove,
	// which kernel times do not show).
	BeforeSpanUS      float64 `json:"before_span_us"`
	AfterSpanUS       float64 `json:"after_span_us"`
	BeforeIdleHostPct float64 `json:"before_idle_host_pct" jsonschema:"share of the before trace's stage span the GPU sat idle waiting for the host to launch work"`
	AfterIdleHostPct  float64 `json:"after_idle_host_pct" jsonschema:"the same for the after trace"`
	// Changed holds kernels in both traces, largest absolute change first.
	Changed []KernelDelta `json:"changed"`
	// New holds kernels only in the after trace, hottest first.
	New []KernelDelta `json:"new"`
	// Vanished holds kernels only in the before trace, hottest first.
	Vanished []KernelDelta `json:"vanished"`
	// Counts before trimming to top_k.
	ChangedCount  int `json:"changed_count"`
	NewCount      int `json:"new_count"`
	VanishedCount int `json:"vanished_count"`
}

// KernelDelta is one kernel's GPU time before and after.
type KernelDelta struct {
	Name           string  `json:"name"`
	Demangled      string  `json:"demangled,omitempty" jsonschema:"readable name when name is a mangled C++ symbol"`
	Category       string  `json:"category"`
	BeforeUS       float64 `json:"before_us"`
	AfterUS        float64 `json:"after_us"`
	DeltaUS        float64 `json:"delta_us"`
	BeforeSharePct float64 `json:"before_share_pct"`
	AfterSharePct  float64 `json:"after_share_pct"`
	BeforeLaunches int     `json:"before_launches"`
	AfterLaunches  int     `json:"after_launches"`
	Site           string  `json:"site" jsonschema:"best launch site path:line, empty when unresolved"`
}

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
		out = compareDocuments(before, after, stage, topK)
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

func compareDocuments(before, after *analyzer.Document, stage string, topK int) CompareTracesOutput {
	out := CompareTracesOutput{Stages: []StageCompare{}}
	find := func(d *analyzer.Document, name string) *analyzer.Stage {
		for i := range d.Stages {
			if d.Stages[i].Stage == name {
				return &d.Stages[i]
			}
		}
		return nil
	}
	for _, name := range stageNamesAll {
		if stage != "" && name != stage {
			continue
		}
		b, a := find(before, name), find(after, name)
		if b == nil && a == nil {
			continue
		}
		if b == nil {
			b = &analyzer.Stage{Stage: name}
		}
		if a == nil {
			a = &analyzer.Stage{Stage: name}
		}
		out.Stages = append(out.Stages, compareStage(b, a, topK))
	}
	return out
}

func compareStage(b, a *analyzer.Stage, topK int) StageCompare {
	sc := StageCompare{
		Stage: b.Stage, BeforeGPUTimeUS: b.GPUTimeUS, AfterGPUTimeUS: a.GPUTimeUS,
		DeltaUS: round2(a.GPUTimeUS - b.GPUTimeUS),
	}
	if b.GPUTimeUS > 0 {
		sc.DeltaPct = round2(100 * (a.GPUTimeUS - b.GPUTimeUS) / b.GPUTimeUS)
	}
	sc.BeforeSpanUS, sc.BeforeIdleHostPct = timeline(b)
	sc.AfterSpanUS, sc.AfterIdleHostPct = timeline(a)
	after := map[string]*analyzer.KernelRow{}
	for i := range a.Kernels {
		after[a.Kernels[i].Name] = &a.Kernels[i]
	}
	seen := map[string]bool{}
	var changed, vanished, added []KernelDelta
	for i := range b.Kernels {
		k := &b.Kernels[i]
		seen[k.Name] = true
		d := KernelDelta{Name: k.Name, Demangled: k.Demangled, Category: k.Category, BeforeUS: k.GPUTimeUS, BeforeSharePct: k.SharePct, BeforeLaunches: k.Launches, Site: bestSite(k)}
		if ak, ok := after[k.Name]; ok {
			d.AfterUS, d.AfterSharePct, d.AfterLaunches = ak.GPUTimeUS, ak.SharePct, ak.Launches
			if d.Site == "" {
				d.Site = bestSite(ak)
			}
			d.DeltaUS = round2(d.AfterUS - d.BeforeUS)
			changed = append(changed, d)
		} else {
			d.DeltaUS = round2(-d.BeforeUS)
			vanished = append(vanished, d)
		}
	}
	for i := range a.Kernels {
		k := &a.Kernels[i]
		if seen[k.Name] {
			continue
		}
		added = append(added, KernelDelta{Name: k.Name, Demangled: k.Demangled, Category: k.Category, AfterUS: k.GPUTimeUS, AfterSharePct: k.SharePct, AfterLaunches: k.Launches, DeltaUS: round2(k.GPUTimeUS), Site: bestSite(k)})
	}
	sort.SliceStable(changed, func(i, j int) bool { return math.Abs(changed[i].DeltaUS) > math.Abs(changed[j].DeltaUS) })
	sort.SliceStable(vanished, func(i, j int) bool { return vanished[i].BeforeUS > vanished[j].BeforeUS })
	sort.SliceStable(added, func(i, j int) bool { return added[i].AfterUS > added[j].AfterUS })
	sc.ChangedCount, sc.NewCount, sc.VanishedCount = len(changed), len(added), len(vanished)
	sc.Changed = nonNil(changed[:min(topK, len(changed))])
	sc.New = nonNil(added[:min(topK, len(added))])
	sc.Vanished = nonNil(vanished[:min(topK, len(vanished))])
	return sc
}

func bestSite(k *analyzer.KernelRow) string {
	if len(k.Sites) == 0 || k.Sites[0].Path == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", k.Sites[0].Path, k.Sites[0].Line)
}

// timeline returns a stage's span and the share of it its GPU waited for
// the host (0, 0 without a breakdown).
func timeline(st *analyzer.Stage) (spanUS, idleHostPct float64) {
	bd := st.Breakdown
	if bd == nil || bd.SpanUS <= 0 {
		return 0, 0
	}
	return round2(bd.SpanUS), round2(100 * bd.IdleHostUS / bd.SpanUS)
}

func compareMarkdown(out *CompareTracesOutput) string {
	var b strings.Builder
	for _, st := range out.Stages {
		fmt.Fprintf(&b, "### %s: %.3f → %.3f ms (%+.1f%%)\n\n", st.Stage, st.BeforeGPUTimeUS/1000, st.AfterGPUTimeUS/1000, st.DeltaPct)
		if st.BeforeSpanUS > 0 || st.AfterSpanUS > 0 {
			fmt.Fprintf(&b, "GPU idle waiting for the host: %.1f%% → %.1f%% of the span (span %.3f → %.3f ms).\n\n",
				st.BeforeIdleHostPct, st.AfterIdleHostPct, st.BeforeSpanUS/1000, st.AfterSpanUS/1000)
		}
		list := func(title string, rows []KernelDelta, total int) {
			if len(rows) == 0 {
				return
			}
			fmt.Fprintf(&b, "%s (%d):\n", title, total)
			for _, r := range rows {
				fmt.Fprintf(&b, "- `%s` %.3f → %.3f ms (%+.3f)\n", shorten(displayName(r.Name, r.Demangled), 80), r.BeforeUS/1000, r.AfterUS/1000, r.DeltaUS/1000)
			}
			b.WriteString("\n")
		}
		list("Changed most", st.Changed, st.ChangedCount)
		list("New", st.New, st.NewCount)
		list("Vanished", st.Vanished, st.VanishedCount)
	}
	return strings.TrimSpace(b.String())
}
