package lsp

import (
	"context"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
	"go.lsp.dev/protocol"
)

// mangledDoc is a one-line document whose kernels a ROCm trace names by
// mangled symbols: one row carries its demangled name, the other (as in a
// document saved before rows had one) does not.
func mangledDoc() *analyzer.Document {
	const (
		norm = "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib"
		act  = "_ZN7sgl_hip10activation18act_and_mul_kernelI14__hip_bfloat16TnPFT_RKS3_EXadL_Z4siluIS2_ES3_S5_EEEEvPS3_PS4_i"
	)
	site := func() []analyzer.Site {
		return []analyzer.Site{{Path: "python/sglang/srt/layers/layernorm.py", Line: 10, Function: "forward",
			SharePct: 100, Launches: 4, CPUOp: "aiter::add_rmsnorm", Stack: []string{}, Attribution: analyzer.AttrExternalID}}
	}
	return &analyzer.Document{
		SchemaVersion: analyzer.SchemaVersion,
		Stages: []analyzer.Stage{{
			Stage: "decode", GPUTimeUS: 1000,
			Kernels: []analyzer.KernelRow{
				{Name: norm, Demangled: analyzer.DemangleKernel(norm), Category: "norm", GPUTimeUS: 600, SharePct: 60, Launches: 4, Sites: site()},
				{Name: act, Category: "activation", GPUTimeUS: 300, SharePct: 30, Launches: 4, Sites: site()},
			},
			Overlap: []analyzer.OverlapRow{{Priority: "P2", Verdict: "headroom", Kernel: act, Category: "activation",
				Scope: "python/sglang/srt/layers/layernorm.py:10 forward", SharePct: 30, ExclusivePct: 100, DepRisk: "high", Recommendation: "check deps"}},
			Fuse: []analyzer.FuseRow{},
		}},
		Warnings: []string{},
	}
}

func TestHoverShowsDemangledKernelNames(t *testing.T) {
	ix := NewIndex(mangledDoc(), "")
	md := hoverMarkdown(ix, ix.Line("python/sglang/srt/layers/layernorm.py", 10))
	for _, want := range []string{
		"| `aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, t…` | norm |",
		// Demangled by the index: the row had no demangled name.
		"| `sgl_hip::activation::act_and_mul_kernel<__hip_bfloat16, &(silu<…>)>` | activation |",
		"**Overlap P2** (headroom): `sgl_hip::activation::act_and_mul_kernel<__hip_bfloat16, &(silu<…>)>` takes 30.0%",
		"**CPU op:** `aiter::add_rmsnorm`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("hover lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "_ZN") {
		t.Errorf("hover shows a mangled name:\n%s", md)
	}
}

func TestKernelLabel(t *testing.T) {
	ix := NewIndex(mangledDoc(), "")
	cases := []struct {
		name string
		max  int
		want string
	}{
		{"_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib", 30,
			"aiter::add_rmsnorm_quant_kern…"},
		// Readable names and names of no row are shortened as before.
		{"void flashinfer::norm::RMSNormKernel<8u, __nv_bfloat16>", 90, "void flashinfer::norm::RMSNormKernel<8u, __nv_bfloat16>"},
		{"_ZN3foo3barEv", 90, "_ZN3foo3barEv"},
	}
	for _, c := range cases {
		if got := ix.kernelLabel(c.name, c.max); got != c.want {
			t.Errorf("kernelLabel(%q, %d) = %q, want %q", c.name, c.max, got, c.want)
		}
	}
}

// On the real SGLang MI300X prefill, the hover of the line that launched
// the CK-tile FMHA prefill kernel names it readably, and so does a hot-line
// diagnostic whose top kernel is mangled.
func TestHoverDemangledRealTrace(t *testing.T) {
	if testing.Short() {
		t.Skip("real trace: covered by the run without -short")
	}
	path := testutil.SharedFile(t, "traces/llm-serving/sglang_mi300x_qwen3-8b_prefilldecode.json.gz")
	doc, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: path})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(doc, "")
	var li *LineInfo
	for _, l := range ix.Hot(1000, 0) {
		for _, la := range l.Launches {
			if strings.HasPrefix(la.Kernel.Name, "_ZN7ck_tile6kentryILi2ENS_38FmhaBatchPrefill") {
				li = l
			}
		}
	}
	if li == nil {
		t.Fatal("no line launched the CK-tile FMHA prefill kernel")
	}
	md := hoverMarkdown(ix, li)
	if want := "`ck_tile::kentry<2, ck_tile::FmhaBatchPrefillWithPagedKVCacheKernel<…>, ck_tile::FmhaBatch…` | attention |"; !strings.Contains(md, want) {
		t.Errorf("hover of %s:%d lacks %q:\n%s", li.Path, li.Line, want, md)
	}
	if strings.Contains(md, "_ZN7ck_tile") {
		t.Errorf("hover of %s:%d shows the mangled name:\n%s", li.Path, li.Line, md)
	}
}

// Diagnostics name a mangled kernel by its shortened demangled name, both
// as a hot line's top kernel and in an overlap finding.
func TestDiagnosticsShowDemangledKernelNames(t *testing.T) {
	diags := layernormDiagnostics(t, mangledDoc(), 2)
	var hot, overlap bool
	for _, d := range diags {
		msg := string(d.Message.(protocol.String))
		if strings.Contains(msg, "_ZN") {
			t.Errorf("diagnostic shows a mangled name: %s", msg)
		}
		switch d.Code {
		case protocol.String(codeHotLine):
			hot = strings.Contains(msg, "; top: aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true… (norm)")
		case protocol.String(codeOverlap):
			overlap = strings.Contains(msg, "Overlap P2 (headroom): sgl_hip::activation::act_and_mul_kernel<__hip_bfloat16, &(s… takes 30.0%")
		}
		if !hot && d.Code == protocol.String(codeHotLine) || !overlap && d.Code == protocol.String(codeOverlap) {
			t.Errorf("diagnostic %s: %s", d.Code, msg)
		}
	}
	if !hot || !overlap {
		t.Errorf("hot line %v, overlap %v in %d diagnostics", hot, overlap, len(diags))
	}
}
