package mcp

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/render"
)

// KernelSitesInput is the input of kernel_sites: a trace and either a
// kernel name or a source location.
type KernelSitesInput struct {
	Input        string `json:"input,omitempty" jsonschema:"trace file or profile directory (as for analyze_trace)"`
	MappingInput string `json:"mapping_input,omitempty" jsonschema:"two-trace mode: mapping trace or directory"`
	FormalInput  string `json:"formal_input,omitempty" jsonschema:"two-trace mode: formal trace or directory"`
	Framework    string `json:"framework,omitempty" jsonschema:"auto (default), sglang, vllm or trtllm"`
	Stage        string `json:"stage,omitempty" jsonschema:"only this stage: extend, decode or all (default: every stage)"`
	Kernel       string `json:"kernel,omitempty" jsonschema:"kernel name or part of it (case-insensitive; a mangled C++ name also matches by its demangled name): where is it launched from? Give kernel or site"`
	Site         string `json:"site,omitempty" jsonschema:"source location path:line (repo-relative, or a path ending in one): which kernels does it launch? Give kernel or site"`
	TopK         int    `json:"top_k,omitempty" jsonschema:"matches kept per stage, hottest first (default 20)"`
}

// KernelSitesOutput answers kernel_sites.
type KernelSitesOutput struct {
	Query  string             `json:"query" jsonschema:"kernel or site, as asked"`
	Stages []KernelSitesStage `json:"stages"`
}

// KernelSitesStage holds the matches in one stage.
type KernelSitesStage struct {
	Stage          string  `json:"stage"`
	StageGPUTimeUS float64 `json:"stage_gpu_time_us"`
	// Totals over every match in the stage, not only those shown.
	MatchGPUTimeUS float64 `json:"match_gpu_time_us" jsonschema:"GPU time of every match in the stage, microseconds"`
	MatchSharePct  float64 `json:"match_share_pct" jsonschema:"share of the stage's GPU time of every match"`
	Matches        int     `json:"matches" jsonschema:"number of matching rows before top_k"`
	// Kernels answers a kernel query: each matching kernel with its sites.
	Kernels []KernelMatch `json:"kernels"`
	// Launched answers a site query: each kernel the line launches.
	Launched []LaunchedKernel `json:"launched"`
}

// KernelMatch is one kernel that matched a kernel query, with where it is
// launched from.
type KernelMatch struct {
	Name      string          `json:"name"`
	Demangled string          `json:"demangled,omitempty" jsonschema:"readable name when name is a mangled C++ symbol"`
	Category  string          `json:"category"`
	GPUTimeUS float64         `json:"gpu_time_us"`
	SharePct  float64         `json:"share_pct" jsonschema:"share of the stage's GPU time"`
	Launches  int             `json:"launches"`
	Sites     []analyzer.Site `json:"sites"`
}

// LaunchedKernel is one kernel launched from the queried source line.
type LaunchedKernel struct {
	Name          string   `json:"name"`
	Demangled     string   `json:"demangled,omitempty" jsonschema:"readable name when name is a mangled C++ symbol"`
	Category      string   `json:"category"`
	Site          string   `json:"site" jsonschema:"the matching launch site, path:line"`
	Function      string   `json:"function"`
	CPUOp         string   `json:"cpu_op"`
	GPUTimeUS     float64  `json:"gpu_time_us" jsonschema:"GPU time of this kernel's launches from the site, microseconds"`
	SharePct      float64  `json:"share_pct" jsonschema:"share of the stage's GPU time"`
	KernelSitePct float64  `json:"kernel_site_pct" jsonschema:"share of the kernel's GPU time that this site launched"`
	Launches      int      `json:"launches"`
	Stack         []string `json:"stack"`
}

const defaultSitesTopK = 20

// KernelSites is the kernel_sites tool: where a kernel is launched from, or
// what a source line launches, with GPU time and share.
func KernelSites(s *Server) (mcp.Tool, server.ToolHandlerFunc) {
	tool := mcp.NewTool("kernel_sites",
		mcp.WithToolTitle("Find kernel launch sites"),
		mcp.WithDescription("Look up launch sites in a trace's analysis. With kernel: every kernel whose name contains it, with the repo-relative path:line that launched it (best first). "+
			"With site (path:line): every kernel that line launched, with GPU time and share of its stage. Uses the same cache as analyze_trace."),
		mcp.WithInputSchema[KernelSitesInput](),
		mcp.WithOutputSchema[KernelSitesOutput](),
		readOnlyLocal("Find kernel launch sites"),
	)
	return tool, handler(s, "kernel_sites", func(ctx context.Context, req mcp.CallToolRequest, in KernelSitesInput) (KernelSitesOutput, string, error) {
		var out KernelSitesOutput
		kernel, site := strings.TrimSpace(in.Kernel), strings.TrimSpace(in.Site)
		if (kernel == "") == (site == "") {
			return out, "", userErrorf("give exactly one of kernel (a kernel name or part of it) or site (path:line)")
		}
		var path string
		var line int
		if site != "" {
			var err error
			if path, line, err = parseSite(site); err != nil {
				return out, "", err
			}
		}
		topK, err := intArg("top_k", in.TopK, defaultSitesTopK, maxTopK)
		if err != nil {
			return out, "", err
		}
		stage, err := stageArg(in.Stage)
		if err != nil {
			return out, "", err
		}
		doc, _, err := s.loadDocument(ctx, req, traceArgs{input: in.Input, mapping: in.MappingInput, formal: in.FormalInput, framework: in.Framework})
		if err != nil {
			return out, "", err
		}
		out.Query = kernel + site
		out.Stages = []KernelSitesStage{}
		for _, st := range doc.Stages {
			if stage != "" && st.Stage != stage {
				continue
			}
			ks := KernelSitesStage{Stage: st.Stage, StageGPUTimeUS: st.GPUTimeUS, Kernels: []KernelMatch{}, Launched: []LaunchedKernel{}}
			if kernel != "" {
				ks.Kernels, ks.MatchGPUTimeUS, ks.Matches = matchKernels(st, kernel, topK)
			} else {
				ks.Launched, ks.MatchGPUTimeUS, ks.Matches = matchSite(st, path, line, topK)
			}
			if ks.Matches == 0 {
				continue
			}
			if st.GPUTimeUS > 0 {
				ks.MatchSharePct = round2(100 * ks.MatchGPUTimeUS / st.GPUTimeUS)
			}
			ks.MatchGPUTimeUS = round2(ks.MatchGPUTimeUS)
			out.Stages = append(out.Stages, ks)
		}
		if len(out.Stages) == 0 {
			if kernel != "" {
				return out, "", userErrorf("no kernel whose name contains %q in %s; call analyze_trace to see the kernel names", kernel, stageScope(stage))
			}
			return out, "", userErrorf("no kernel was launched from %s in %s; sites are repo-relative (e.g. python/sglang/srt/layers/layernorm.py:177): call kernel_sites with kernel, or analyze_trace, to see them", site, stageScope(stage))
		}
		return out, sitesMarkdown(&out, kernel != ""), nil
	})
}

func stageScope(stage string) string {
	if stage == "" {
		return "any stage"
	}
	return "the " + stage + " stage"
}

// parseSite splits "path:line".
func parseSite(site string) (string, int, error) {
	i := strings.LastIndex(site, ":")
	if i <= 0 {
		return "", 0, userErrorf("site %q is not path:line (e.g. python/sglang/srt/layers/layernorm.py:177)", site)
	}
	line, err := strconv.Atoi(site[i+1:])
	if err != nil || line <= 0 {
		return "", 0, userErrorf("site %q is not path:line: the line after the last ':' must be a positive number", site)
	}
	return filepath.ToSlash(site[:i]), line, nil
}

// samePath reports whether a site's repo-relative path and the asked path
// name the same file: equal, or one ends with "/" + the other (an absolute
// path of a checkout ends with the repo-relative one).
func samePath(sitePath, asked string) bool {
	if sitePath == "" {
		return false
	}
	asked = strings.TrimPrefix(asked, "./")
	return sitePath == asked || strings.HasSuffix(asked, "/"+sitePath) || strings.HasSuffix(sitePath, "/"+asked)
}

func matchKernels(st analyzer.Stage, q string, topK int) ([]KernelMatch, float64, int) {
	q = strings.ToLower(q)
	var out []KernelMatch
	var total float64
	n := 0
	for _, k := range st.Kernels { // sorted hottest first
		if !strings.Contains(strings.ToLower(k.Name), q) && !strings.Contains(strings.ToLower(k.Demangled), q) {
			continue
		}
		n++
		total += k.GPUTimeUS
		if len(out) < topK {
			sites := make([]analyzer.Site, len(k.Sites))
			for i, site := range k.Sites {
				sites[i] = site
				sites[i].Stack = innermost(site.Stack, 8)
			}
			out = append(out, KernelMatch{Name: k.Name, Demangled: k.Demangled, Category: k.Category, GPUTimeUS: k.GPUTimeUS, SharePct: k.SharePct, Launches: k.Launches, Sites: sites})
		}
	}
	return nonNil(out), total, n
}

func matchSite(st analyzer.Stage, path string, line, topK int) ([]LaunchedKernel, float64, int) {
	var all []LaunchedKernel
	var total float64
	for _, k := range st.Kernels {
		for _, site := range k.Sites {
			if site.Line != line || !samePath(site.Path, path) {
				continue
			}
			t := k.GPUTimeUS * site.SharePct / 100
			total += t
			lk := LaunchedKernel{
				Name: k.Name, Demangled: k.Demangled, Category: k.Category, Site: fmt.Sprintf("%s:%d", site.Path, site.Line),
				Function: site.Function, CPUOp: site.CPUOp, GPUTimeUS: round2(t), KernelSitePct: site.SharePct,
				Launches: site.Launches, Stack: innermost(site.Stack, 8),
			}
			if st.GPUTimeUS > 0 {
				lk.SharePct = round2(100 * t / st.GPUTimeUS)
			}
			all = append(all, lk)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].GPUTimeUS > all[j].GPUTimeUS })
	n := len(all)
	if len(all) > topK {
		all = all[:topK]
	}
	return nonNil(all), total, n
}

func sitesMarkdown(out *KernelSitesOutput, kernelQuery bool) string {
	var b strings.Builder
	for _, st := range out.Stages {
		fmt.Fprintf(&b, "### %s: %d match(es), %.3f ms, %.1f%% of the stage\n\n", st.Stage, st.Matches, st.MatchGPUTimeUS/1000, st.MatchSharePct)
		if kernelQuery {
			for _, k := range st.Kernels {
				fmt.Fprintf(&b, "- `%s` (%s) %.3f ms, %.1f%%, %d launches\n", render.Shorten(analyzer.DisplayName(k.Name, k.Demangled), 80), k.Category, k.GPUTimeUS/1000, k.SharePct, k.Launches)
				for _, site := range k.Sites {
					loc := "(unresolved)"
					if site.Path != "" {
						loc = fmt.Sprintf("%s:%d", site.Path, site.Line)
					}
					fmt.Fprintf(&b, "  - %s %s: %.1f%% of it, %d launches\n", loc, site.Function, site.SharePct, site.Launches)
				}
			}
		} else {
			for _, k := range st.Launched {
				fmt.Fprintf(&b, "- `%s` (%s) %.3f ms, %.1f%% of the stage, %d launches via %s\n", render.Shorten(analyzer.DisplayName(k.Name, k.Demangled), 80), k.Category, k.GPUTimeUS/1000, k.SharePct, k.Launches, k.CPUOp)
			}
		}
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}
