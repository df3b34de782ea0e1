package analyzer

import (
	"fmt"
	"math"
	"sort"
)

// Comparison compares two analyses of the same workload, captured before
// and after a change: one entry per stage found in either. The MCP
// compare_traces tool returns it as is; its jsonschema tags describe the
// fields in that tool's output schema.
type Comparison struct {
	Before string            `json:"before"`
	After  string            `json:"after"`
	Stages []StageComparison `json:"stages"`
}

// StageComparison compares one stage of the two traces.
type StageComparison struct {
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
	// The numbers of kernels in each list before they were cut to topK.
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

// Compare compares the stages of two documents (only stage, when not ""):
// total GPU time, the GPU's waits for the host, and the kernels whose GPU
// time changed most, those only in after (new) and those only in before
// (vanished), matched by canonical name, at most topK of each. Before and
// After are left for the caller to name the inputs.
func Compare(before, after *Document, stage string, topK int) Comparison {
	out := Comparison{Stages: []StageComparison{}}
	find := func(d *Document, name string) *Stage {
		for i := range d.Stages {
			if d.Stages[i].Stage == name {
				return &d.Stages[i]
			}
		}
		return nil
	}
	for _, name := range []string{StageExtend, StageDecode, StageAll} {
		if stage != "" && name != stage {
			continue
		}
		b, a := find(before, name), find(after, name)
		if b == nil && a == nil {
			continue
		}
		if b == nil {
			b = &Stage{Stage: name}
		}
		if a == nil {
			a = &Stage{Stage: name}
		}
		out.Stages = append(out.Stages, compareStage(b, a, topK))
	}
	return out
}

func compareStage(b, a *Stage, topK int) StageComparison {
	sc := StageComparison{
		Stage: b.Stage, BeforeGPUTimeUS: b.GPUTimeUS, AfterGPUTimeUS: a.GPUTimeUS,
		DeltaUS: round2dp(a.GPUTimeUS - b.GPUTimeUS),
	}
	if b.GPUTimeUS > 0 {
		sc.DeltaPct = round2dp(100 * (a.GPUTimeUS - b.GPUTimeUS) / b.GPUTimeUS)
	}
	sc.BeforeSpanUS, sc.BeforeIdleHostPct = stageTimeline(b)
	sc.AfterSpanUS, sc.AfterIdleHostPct = stageTimeline(a)
	after := map[string]*KernelRow{}
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
			d.DeltaUS = round2dp(d.AfterUS - d.BeforeUS)
			changed = append(changed, d)
		} else {
			d.DeltaUS = round2dp(-d.BeforeUS)
			vanished = append(vanished, d)
		}
	}
	for i := range a.Kernels {
		k := &a.Kernels[i]
		if seen[k.Name] {
			continue
		}
		added = append(added, KernelDelta{Name: k.Name, Demangled: k.Demangled, Category: k.Category, AfterUS: k.GPUTimeUS, AfterSharePct: k.SharePct, AfterLaunches: k.Launches, DeltaUS: round2dp(k.GPUTimeUS), Site: bestSite(k)})
	}
	sort.SliceStable(changed, func(i, j int) bool { return math.Abs(changed[i].DeltaUS) > math.Abs(changed[j].DeltaUS) })
	sort.SliceStable(vanished, func(i, j int) bool { return vanished[i].BeforeUS > vanished[j].BeforeUS })
	sort.SliceStable(added, func(i, j int) bool { return added[i].AfterUS > added[j].AfterUS })
	sc.ChangedCount, sc.NewCount, sc.VanishedCount = len(changed), len(added), len(vanished)
	sc.Changed = orEmpty(changed[:min(topK, len(changed))])
	sc.New = orEmpty(added[:min(topK, len(added))])
	sc.Vanished = orEmpty(vanished[:min(topK, len(vanished))])
	return sc
}

func bestSite(k *KernelRow) string {
	if len(k.Sites) == 0 || k.Sites[0].Path == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", k.Sites[0].Path, k.Sites[0].Line)
}

// stageTimeline returns a stage's span and the share of it its GPU waited for
// the host (0, 0 without a breakdown).
func stageTimeline(st *Stage) (spanUS, idleHostPct float64) {
	bd := st.Breakdown
	if bd == nil || bd.SpanUS <= 0 {
		return 0, 0
	}
	return round2dp(bd.SpanUS), round2dp(100 * bd.IdleHostUS / bd.SpanUS)
}

// orEmpty returns s, or an empty slice for nil (JSON [] rather than null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// round2dp rounds to two decimal places, half away from zero.
func round2dp(v float64) float64 {
	if v < 0 {
		return -round2dp(-v)
	}
	return float64(int64(v*100+0.5)) / 100
}
