package mcp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/render"
)

// Defaults and limits of analyze_trace. With the defaults a whole answer
// (structured content plus Markdown) stays well under 20k tokens.
const (
	defaultTopK     = 8
	maxTopK         = 200
	defaultMaxSites = 2
	maxStackFrames  = 3
)

// AnalyzeTraceInput is the input of analyze_trace.
type AnalyzeTraceInput struct {
	Input        string   `json:"input,omitempty" jsonschema:"trace file (.json or .json.gz) or torch.profiler output directory; relative paths start at the first allowed root. Give either input or both mapping_input and formal_input"`
	MappingInput string   `json:"mapping_input,omitempty" jsonschema:"two-trace mode: trace or directory captured with CUDA graphs off, or recorded while the graphs were captured, whose Python stacks locate the kernels of formal_input"`
	FormalInput  string   `json:"formal_input,omitempty" jsonschema:"two-trace mode: trace or directory of the real serving configuration, which supplies the timings"`
	Framework    string   `json:"framework,omitempty" jsonschema:"auto (default), sglang, vllm or trtllm"`
	Stage        string   `json:"stage,omitempty" jsonschema:"only this stage: extend, decode or all (default: every stage found)"`
	TopK         int      `json:"top_k,omitempty" jsonschema:"rows kept per table and stage, hottest first (default 8, at most 200)"`
	MaxSites     int      `json:"max_sites,omitempty" jsonschema:"launch sites kept per kernel, best first (default 2)"`
	Tables       []string `json:"tables,omitempty" jsonschema:"tables to return: any of kernels, overlap, fuse (default all three)"`
	Timeline     bool     `json:"timeline,omitempty" jsonschema:"also return each stage's ASCII timeline of the GPU streams around its top overlap row (larger answer)"`
	Partial      bool     `json:"partial,omitempty" jsonschema:"analyse a trace file that ends early (cut short while written or copied): its complete events, with a warning, instead of an error"`
}

// AnalyzeTraceOutput is the analysis document of the trace (see
// analysis-json.md), trimmed to top_k rows per table, plus what the trim
// left out.
type AnalyzeTraceOutput struct {
	analyzer.Document
	Totals []StageTotals `json:"totals" jsonschema:"per stage: how many rows each table had before trimming, and the GPU-time share of the kernels shown"`
	Cached bool          `json:"cached" jsonschema:"true when the analysis came from the server's cache"`
}

// StageTotals says what trimming kept of one stage.
type StageTotals struct {
	Stage           string  `json:"stage"`
	Kernels         int     `json:"kernels" jsonschema:"kernel rows in the stage"`
	KernelsShown    int     `json:"kernels_shown"`
	ShownSharePct   float64 `json:"shown_share_pct" jsonschema:"share of the stage's GPU time covered by the kernels shown"`
	OmittedTimeUS   float64 `json:"omitted_time_us" jsonschema:"GPU time of the kernels left out, microseconds"`
	Overlap         int     `json:"overlap" jsonschema:"overlap rows in the stage"`
	OverlapShown    int     `json:"overlap_shown"`
	Fuse            int     `json:"fuse" jsonschema:"fuse rows in the stage"`
	FuseShown       int     `json:"fuse_shown"`
	SitesTrimmed    int     `json:"sites_trimmed" jsonschema:"launch sites left out across the kernels shown"`
	StackFramesKept int     `json:"stack_frames_kept" jsonschema:"innermost call-stack frames kept per site"`
}

// AnalyzeTrace is the analyze_trace tool: the triage of one trace (or a
// mapping + formal pair), trimmed to the hottest rows.
func AnalyzeTrace(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("analyze_trace",
		mcp.WithToolTitle("Analyze a PyTorch profiler trace"),
		mcp.WithDescription("Triage a torch.profiler (Kineto) trace of an SGLang, vLLM or TensorRT-LLM server: the GPU kernels that take the time per stage (extend/prefill, decode), the repo-relative path:line of the Python code that launched each, overlap opportunities and fusion opportunities. "+
			"Rows are trimmed to top_k per table (totals kept). Repeated calls on the same trace are served from a cache."),
		mcp.WithInputSchema[AnalyzeTraceInput](),
		mcp.WithOutputSchema[AnalyzeTraceOutput](),
		readOnlyLocal("Analyze a PyTorch profiler trace"),
	)
	return tool, handler(s, "analyze_trace", func(ctx context.Context, req mcp.CallToolRequest, in AnalyzeTraceInput) (AnalyzeTraceOutput, string, error) {
		var out AnalyzeTraceOutput
		topK, err := intArg("top_k", in.TopK, defaultTopK, maxTopK)
		if err != nil {
			return out, "", err
		}
		maxSites, err := intArg("max_sites", in.MaxSites, defaultMaxSites, 50)
		if err != nil {
			return out, "", err
		}
		tables, err := tableSet(in.Tables)
		if err != nil {
			return out, "", err
		}
		stage, err := stageArg(in.Stage)
		if err != nil {
			return out, "", err
		}
		doc, cached, err := s.loadDocument(ctx, req, traceArgs{input: in.Input, mapping: in.MappingInput, formal: in.FormalInput,
			framework: in.Framework, partial: in.Partial, offerPartial: true})
		if err != nil {
			return out, "", err
		}
		out.Document, out.Totals = trimDocument(doc, stage, topK, maxSites, tables)
		if !in.Timeline {
			for i := range out.Stages {
				out.Stages[i].Timeline = nil
			}
		}
		out.Cached = cached
		if stage != "" && len(out.Stages) == 0 {
			return out, "", userErrorf("the trace has no %s stage (stages found: %s); call again without stage or with one of those", stage, stageNames(doc))
		}
		return out, analysisMarkdown(&out), nil
	})
}

// readOnlyLocal are the annotations of a tool that only reads local files.
func readOnlyLocal(title string) mcp.ToolOption {
	return mcp.WithToolAnnotation(mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(true),
		DestructiveHint: mcp.ToBoolPtr(false),
		IdempotentHint:  mcp.ToBoolPtr(true),
		OpenWorldHint:   mcp.ToBoolPtr(false),
	})
}

// traceArgs names the trace(s) of one analysis.
type traceArgs struct {
	input, mapping, formal, framework string
	// partial analyses traces that end early (analyzer.Options.Partial);
	// offerPartial says the tool has the partial argument, so that the
	// error of a truncated trace can point to it.
	partial, offerPartial bool
}

var frameworks = []string{"auto", "sglang", "vllm", "trtllm"}

// loadDocument resolves the trace arguments inside the allowed roots and
// returns their analysis from the cache or the engine. cached reports a
// cache hit.
func (s *Server) loadDocument(ctx context.Context, req mcp.CallToolRequest, a traceArgs) (doc *analyzer.Document, cached bool, err error) {
	fw := strings.ToLower(strings.TrimSpace(a.framework))
	if fw == "" {
		fw = "auto"
	}
	if !slices.Contains(frameworks, fw) {
		return nil, false, userErrorf("framework %q is not known: use auto, sglang, vllm or trtllm", a.framework)
	}
	// The timeline is always built, so that one cached analysis answers
	// calls with and without it.
	opts := analyzer.Options{Framework: fw, Timeline: true, Partial: a.partial}
	var key strings.Builder
	fmt.Fprintf(&key, "fw=%s|tl|partial=%v", fw, a.partial)
	switch {
	case a.input != "" && (a.mapping != "" || a.formal != ""):
		return nil, false, userErrorf("give either input, or mapping_input and formal_input, not both")
	case a.input != "":
		p, err := s.roots.resolve(ctx, a.input, "input")
		if err != nil {
			return nil, false, err
		}
		opts.Input = p
	case a.mapping != "" && a.formal != "":
		if opts.MappingInput, err = s.roots.resolve(ctx, a.mapping, "mapping_input"); err != nil {
			return nil, false, err
		}
		if opts.FormalInput, err = s.roots.resolve(ctx, a.formal, "formal_input"); err != nil {
			return nil, false, err
		}
	case a.mapping != "" || a.formal != "":
		return nil, false, userErrorf("two-trace mode needs both mapping_input and formal_input; give both, or give input alone")
	default:
		return nil, false, userErrorf("no trace given: set input to a trace file or profile directory under %s", rootList(s.roots.roots(ctx)))
	}
	for _, p := range []string{opts.Input, opts.MappingInput, opts.FormalInput} {
		if p == "" {
			key.WriteString("|-")
			continue
		}
		// The engine discovers the traces in a profile directory itself.
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			if err := s.roots.checkTree(ctx, p, "profile directory", looksLikeTraceFile); err != nil {
				return nil, false, err
			}
		}
		id, err := fileIdentity(p)
		if err != nil {
			return nil, false, userErrorf("cannot read %s: %v", p, err)
		}
		key.WriteString("|" + id)
	}
	what := opts.Input
	if what == "" {
		what = opts.FormalInput
	}
	progress := newProgressReporter(ctx, req, what)
	defer progress.flush()
	doc, hit, err := s.cache.get(ctx, key.String(), progress.report, func(ctx context.Context, fan func(done, total int64)) (*analyzer.Document, error) {
		o := opts
		o.Progress = fan
		s.log.Info("analysing", "input", opts.Input, "mapping", opts.MappingInput, "formal", opts.FormalInput, "framework", fw)
		d, err := s.deps.Analyze(ctx, o)
		switch {
		case err == nil:
			return d, nil
		case strings.Contains(err.Error(), what):
			return nil, err // the engine's error names the trace already
		}
		return nil, fmt.Errorf("analyse %s: %w", what, err)
	})
	if err != nil && a.offerPartial && errors.Is(err, trace.ErrTruncated) {
		err = fmt.Errorf("%w; call again with partial: true to analyse the events before the cut", err)
	}
	return doc, hit, err
}

// looksLikeTraceFile selects the files of a profile directory the engine
// may read: traces and server_args.json.
func looksLikeTraceFile(rel string) bool {
	return strings.HasSuffix(rel, ".json") || strings.HasSuffix(rel, ".gz")
}

func intArg(name string, v, def, max int) (int, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0:
		return 0, userErrorf("%s must be positive (got %d); omit it for the default %d", name, v, def)
	case v > max:
		return 0, userErrorf("%s is at most %d (got %d); ask for fewer rows", name, max, v)
	}
	return v, nil
}

var tableNames = []string{"kernels", "overlap", "fuse"}

func tableSet(ts []string) (map[string]bool, error) {
	set := map[string]bool{}
	if len(ts) == 0 {
		ts = tableNames
	}
	for _, t := range ts {
		t = strings.ToLower(strings.TrimSpace(t))
		if !slices.Contains(tableNames, t) {
			return nil, userErrorf("table %q is not known: use kernels, overlap or fuse", t)
		}
		set[t] = true
	}
	return set, nil
}

var stageNamesAll = []string{"extend", "decode", "all"}

func stageArg(st string) (string, error) {
	st = strings.ToLower(strings.TrimSpace(st))
	switch st {
	case "":
		return "", nil
	case "prefill":
		return "extend", nil
	}
	if !slices.Contains(stageNamesAll, st) {
		return "", userErrorf("stage %q is not known: use extend (prefill), decode or all", st)
	}
	return st, nil
}

func stageNames(doc *analyzer.Document) string {
	var names []string
	for _, st := range doc.Stages {
		names = append(names, st.Stage)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// trimDocument copies doc keeping the chosen stage (all when empty), topK
// rows per chosen table, maxSites sites per kernel and the innermost
// call-stack frames. The cached document is never modified.
func trimDocument(doc *analyzer.Document, stage string, topK, maxSites int, tables map[string]bool) (analyzer.Document, []StageTotals) {
	out := *doc
	out.Inputs = analyzer.Inputs{Formal: nonNil(doc.Inputs.Formal), Mapping: nonNil(doc.Inputs.Mapping)}
	out.Warnings = nonNil(doc.Warnings)
	out.Stages = []analyzer.Stage{}
	totals := []StageTotals{}
	for _, st := range doc.Stages {
		if stage != "" && st.Stage != stage {
			continue
		}
		t := StageTotals{Stage: st.Stage, Kernels: len(st.Kernels), Overlap: len(st.Overlap), Fuse: len(st.Fuse), StackFramesKept: maxStackFrames}
		ns := st
		ns.Kernels, ns.Overlap, ns.Fuse = []analyzer.KernelRow{}, []analyzer.OverlapRow{}, []analyzer.FuseRow{}
		if tables["kernels"] {
			var shown float64
			for _, k := range st.Kernels[:min(topK, len(st.Kernels))] {
				nk := k
				if len(nk.Sites) > maxSites {
					t.SitesTrimmed += len(nk.Sites) - maxSites
					nk.Sites = nk.Sites[:maxSites]
				}
				nk.Sites = slices.Clone(nk.Sites)
				if nk.Sites == nil {
					nk.Sites = []analyzer.Site{}
				}
				for i := range nk.Sites {
					nk.Sites[i].Stack = innermost(nk.Sites[i].Stack, maxStackFrames)
				}
				ns.Kernels = append(ns.Kernels, nk)
				shown += k.GPUTimeUS
			}
			t.KernelsShown = len(ns.Kernels)
			if st.GPUTimeUS > 0 {
				t.ShownSharePct = round2(100 * shown / st.GPUTimeUS)
			}
			var all float64
			for _, k := range st.Kernels {
				all += k.GPUTimeUS
			}
			t.OmittedTimeUS = round2(all - shown)
		}
		if tables["overlap"] {
			ns.Overlap = nonNil(slices.Clone(st.Overlap[:min(topK, len(st.Overlap))]))
			t.OverlapShown = len(ns.Overlap)
		}
		if tables["fuse"] {
			for _, f := range st.Fuse[:min(topK, len(st.Fuse))] {
				nf := f
				nf.Evidence = nonNil(f.Evidence)
				nf.CurrentLocations = nonNil(f.CurrentLocations)
				nf.CandidatePaths = nonNil(f.CandidatePaths)
				ns.Fuse = append(ns.Fuse, nf)
			}
			t.FuseShown = len(ns.Fuse)
		}
		out.Stages = append(out.Stages, ns)
		totals = append(totals, t)
	}
	return out, totals
}

// innermost keeps the last n frames of a call stack (the frames nearest the
// launch), never nil.
func innermost(stack []string, n int) []string {
	if len(stack) > n {
		stack = stack[len(stack)-n:]
	}
	return append([]string{}, stack...)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func round2(v float64) float64 {
	if v < 0 {
		return -round2(-v)
	}
	return float64(int64(v*100+0.5)) / 100
}

// analysisMarkdown is the short text answer of analyze_trace.
func analysisMarkdown(out *AnalyzeTraceOutput) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**tracetriage** %s trace, framework `%s`", out.Mode, out.Framework)
	if out.Model != "" {
		fmt.Fprintf(&b, ", model `%s`", out.Model)
	}
	if out.Cached {
		b.WriteString(" (cached)")
	}
	b.WriteString("\n")
	for i, st := range out.Stages {
		t := out.Totals[i]
		fmt.Fprintf(&b, "\n### %s: %.2f ms GPU time, %d kernels (top %d shown, %.1f%% of the time)\n", st.Stage, st.GPUTimeUS/1000, t.Kernels, t.KernelsShown, t.ShownSharePct)
		if bd := st.Breakdown; bd != nil && bd.SpanUS > 0 {
			fmt.Fprintf(&b, "\nGPU busy %.1f%% of the span; idle %.1f%%, of which %.1f%% of the span waiting for the host to launch",
				bd.BusyPct, 100*bd.IdleUS/bd.SpanUS, 100*bd.IdleHostUS/bd.SpanUS)
			if len(bd.IdleHostBySite) > 0 && bd.IdleHostBySite[0].Scope != "" {
				fmt.Fprintf(&b, " (most before launches from %s)", bd.IdleHostBySite[0].Scope)
			}
			b.WriteString(".\n")
		}
		if len(st.Kernels) > 0 {
			b.WriteString("\n| kernel | category | ms | share | launched at |\n|---|---|---:|---:|---|\n")
			for _, k := range st.Kernels {
				fmt.Fprintf(&b, "| %s | %s | %.3f | %.1f%% | %s |\n", mdCell(render.Shorten(analyzer.DisplayName(k.Name, k.Demangled), 70)), k.Category, k.GPUTimeUS/1000, k.SharePct, mdCell(siteLabel(k.Sites)))
			}
		}
		for j, o := range st.Overlap {
			if j == 3 {
				break
			}
			fmt.Fprintf(&b, "- overlap %s %s: %s (%.1f%%, %s) at %s\n", o.Priority, o.Verdict, render.Shorten(o.Kernel, 60), o.SharePct, o.Recommendation, o.Scope)
		}
		if st.Timeline != nil && len(st.Timeline.Streams) > 0 {
			fmt.Fprintf(&b, "\n```\n%s\n```\n", strings.TrimRight(st.Timeline.String(), "\n"))
		}
		for j, f := range st.Fuse {
			if j == 3 {
				break
			}
			fmt.Fprintf(&b, "- fuse [%s] %s (%.1f%%)", f.Confidence, f.Pattern, f.SharePct)
			if len(f.CandidatePaths) > 0 {
				fmt.Fprintf(&b, " → %s", f.CandidatePaths[0])
			}
			b.WriteString("\n")
		}
	}
	if len(out.Stages) == 0 {
		b.WriteString("\nNo GPU kernels in this trace.\n")
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(&b, "\n> %s", w)
	}
	return b.String()
}

func siteLabel(sites []analyzer.Site) string {
	if len(sites) == 0 || sites[0].Path == "" {
		return "(unresolved)"
	}
	return fmt.Sprintf("%s:%d", sites[0].Path, sites[0].Line)
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
