package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
)

const (
	mangledNorm  = "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib"
	readableNorm = "void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1>"
)

// demangledDoc has a kernel row named by a mangled symbol, an overlap row
// and a fusion row on it, and an overlap row on a kernel of no row.
func demangledDoc() *analyzer.Document {
	return &analyzer.Document{
		SchemaVersion: analyzer.SchemaVersion, Mode: "single-trace", Framework: analyzer.FrameworkSGLang,
		Inputs: analyzer.Inputs{Formal: []string{"rocm.json.gz"}, Mapping: []string{}},
		Stages: []analyzer.Stage{{
			Stage: "decode", GPUTimeUS: 1000,
			Kernels: []analyzer.KernelRow{{Name: mangledNorm, Demangled: readableNorm, Category: "norm", GPUTimeUS: 600, SharePct: 60, Launches: 4,
				Sites: []analyzer.Site{{Path: "python/sglang/srt/layers/layernorm.py", Line: 10, Function: "forward", SharePct: 100, Launches: 4,
					CPUOp: "aiter::add_rmsnorm", Stack: []string{}, Attribution: analyzer.AttrExternalID}}}},
			Overlap: []analyzer.OverlapRow{
				{Priority: "P2", Verdict: "headroom", Kernel: mangledNorm, Category: "norm", Scope: "python/sglang/srt/layers/layernorm.py:10 forward",
					GPUTimeUS: 600, SharePct: 60, ExclusivePct: 100, DepRisk: "high", Recommendation: "check deps"},
				{Priority: "P2", Verdict: "headroom", Kernel: "_Z3foov", Category: "other", Scope: "x.py:1 f",
					GPUTimeUS: 300, SharePct: 30, ExclusivePct: 100, DepRisk: "high", Recommendation: "check deps"},
			},
			Fuse: []analyzer.FuseRow{{Pattern: "Fused residual add + RMSNorm", Confidence: "Already fused", GPUTimeUS: 600, SharePct: 60,
				Evidence:         []analyzer.Evidence{{Kernel: mangledNorm, SharePct: 60}},
				CurrentLocations: []string{"python/sglang/srt/layers/layernorm.py:10 forward"}, CandidatePaths: []string{}, Rationale: "r"}},
		}},
		Warnings: []string{},
	}
}

// D14: the Kernel Table prints the raw name (parity with the reference);
// the Overlap and Fuse tables print the row's demangled name. A kernel of
// no row keeps its name.
func TestTriageDemangledNames(t *testing.T) {
	for _, format := range []string{TriageFormatText, TriageFormatMarkdown} {
		var buf bytes.Buffer
		if err := Triage(&buf, demangledDoc(), TriageOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		text := buf.String()
		kernels, rest, ok := strings.Cut(text, "Overlap Opportunity Table")
		if !ok {
			t.Fatalf("%s: no overlap table:\n%s", format, text)
		}
		overlap, fuse, _ := strings.Cut(rest, "Fuse Opportunity Table")
		if !strings.Contains(kernels, "| "+mangledNorm+" | norm |") || strings.Contains(kernels, readableNorm) {
			t.Errorf("%s: Kernel Table does not print the raw name alone:\n%s", format, kernels)
		}
		if !strings.Contains(overlap, "| P2 | headroom | "+readableNorm+" |") || strings.Contains(overlap, mangledNorm) {
			t.Errorf("%s: overlap table:\n%s", format, overlap)
		}
		if !strings.Contains(overlap, "| P2 | headroom | _Z3foov |") {
			t.Errorf("%s: the kernel of no row lost its name:\n%s", format, overlap)
		}
		if !strings.Contains(fuse, "| "+readableNorm+" (60.0%) |") || strings.Contains(fuse, mangledNorm) {
			t.Errorf("%s: fuse table:\n%s", format, fuse)
		}
	}
}

// The bundle's tables of a JSON analysis document do the same.
func TestBundleDemangledNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rocm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(demangledDoc())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "analysis.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Bundle(&out, BundleOptions{Roots: []string{filepath.Dir(dir)}, Now: bundleTestNow}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	_, rest, ok := strings.Cut(text, "Overlap Opportunity Table")
	if !ok || !strings.Contains(text, mangledNorm) {
		t.Fatalf("bundle lacks the overlap table or the Kernel Table's raw name:\n%s", text)
	}
	if !strings.Contains(rest, readableNorm+" |") || !strings.Contains(rest, readableNorm+" (60.0%)") || strings.Contains(rest, mangledNorm) {
		t.Errorf("bundle overlap and fuse tables:\n%s", rest)
	}
}

// The timeline's heading and legend name a mangled kernel by its demangled
// name (the legend in the hovers' short form); the document keeps the
// trace's names.
func TestTimelineDemangledNames(t *testing.T) {
	doc := demangledDoc()
	st := &doc.Stages[0]
	st.Timeline = &overlap.TimelineView{
		CenterKernel: mangledNorm, Width: 40, Ticks: []float64{0, 1, 2, 3, 4},
		Streams: []overlap.TimelineStream{{Stream: "7", Cells: "AAAAB"}},
		Legend: []overlap.LegendEntry{
			{Mark: "A", Category: "norm", Kernel: mangledNorm, DurUS: 7},
			{Mark: "B", Category: "other", Kernel: "_Z3foov", DurUS: 1},
		},
	}
	var buf bytes.Buffer
	if err := Triage(&buf, doc, TriageOptions{Format: TriageFormatText}); err != nil {
		t.Fatal(err)
	}
	_, tl, ok := strings.Cut(buf.String(), "\nTimeline\n")
	if !ok {
		t.Fatalf("no timeline:\n%s", buf.String())
	}
	for _, want := range []string{
		"##### decode around " + readableNorm,
		"  A [norm] aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256... (7.0 us)",
		"  B [othe] _Z3foov (1.0 us)",
	} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
	if st.Timeline.Legend[0].Kernel != mangledNorm {
		t.Errorf("rendering changed the document's legend: %q", st.Timeline.Legend[0].Kernel)
	}
}
