package mcp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
)

func TestKernelSitesByKernel(t *testing.T) {
	doc := makeDoc("a", []string{"extend", "decode"}, 12, 3, 10)
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": doc}, nil)
	res := e.call(t, "kernel_sites", map[string]any{"input": "a.json.gz", "kernel": "KERNEL_0", "stage": "decode", "top_k": 3})
	out := decode[KernelSitesOutput](t, res)
	if len(out.Stages) != 1 || out.Stages[0].Stage != "decode" {
		t.Fatalf("stages %+v", out.Stages)
	}
	st := out.Stages[0]
	// kernel_00..kernel_09 match (case-insensitive); the 3 hottest are shown.
	if st.Matches != 10 || len(st.Kernels) != 3 || st.Kernels[0].Name != "a_kernel_00<bf16>" {
		t.Fatalf("matches %d, shown %d, first %q", st.Matches, len(st.Kernels), st.Kernels[0].Name)
	}
	var want float64
	for _, k := range doc.Stages[1].Kernels[:10] {
		want += k.GPUTimeUS
	}
	if st.MatchGPUTimeUS != round2(want) || st.MatchSharePct != round2(100*want/doc.Stages[1].GPUTimeUS) {
		t.Errorf("match totals %v µs %v%%, want %v µs", st.MatchGPUTimeUS, st.MatchSharePct, want)
	}
	if len(st.Kernels[0].Sites) != 3 || st.Kernels[0].Sites[0].Path != "python/sglang/srt/layers/layer0.py" || st.Kernels[0].Sites[0].Line != 100 {
		t.Errorf("sites %+v", st.Kernels[0].Sites)
	}
	if !strings.Contains(resultText(res), "python/sglang/srt/layers/layer0.py:100 forward_cuda") {
		t.Errorf("markdown: %s", resultText(res))
	}
}

func TestKernelSitesBySite(t *testing.T) {
	doc := makeDoc("a", []string{"decode"}, 5, 2, 3)
	// Make line 102 of layer1.py launch two kernels.
	doc.Stages[0].Kernels[4].Sites[1].Line = 102
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": doc}, nil)
	for _, site := range []string{
		"python/sglang/srt/layers/layer1.py:102",
		"/home/me/sglang/python/sglang/srt/layers/layer1.py:102", // a checkout's absolute path
	} {
		out := decode[KernelSitesOutput](t, e.call(t, "kernel_sites", map[string]any{"input": "a.json.gz", "site": site}))
		st := out.Stages[0]
		if st.Matches != 2 || len(st.Launched) != 2 {
			t.Fatalf("%s: %d matches %+v", site, st.Matches, st.Launched)
		}
		k2, k4 := doc.Stages[0].Kernels[2], doc.Stages[0].Kernels[4]
		if st.Launched[0].Name != k2.Name || st.Launched[1].Name != k4.Name {
			t.Errorf("order %q, %q; want hottest first", st.Launched[0].Name, st.Launched[1].Name)
		}
		// Each site launched half of its kernel's time (2 sites of 50%).
		if got, want := st.Launched[0].GPUTimeUS, round2(k2.GPUTimeUS/2); got != want {
			t.Errorf("time from the site %v, want %v", got, want)
		}
		if got, want := st.MatchSharePct, round2(100*(k2.GPUTimeUS+k4.GPUTimeUS)/2/doc.Stages[0].GPUTimeUS); got != want {
			t.Errorf("site share %v, want %v", got, want)
		}
		if st.Launched[0].Site != "python/sglang/srt/layers/layer1.py:102" || st.Launched[0].CPUOp != "aten::mm" || st.Launched[0].KernelSitePct != 50 {
			t.Errorf("row %+v", st.Launched[0])
		}
	}
}

func TestKernelSitesErrors(t *testing.T) {
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": makeDoc("a", []string{"decode"}, 3, 1, 1)}, nil)
	for _, c := range []struct {
		args map[string]any
		want []string
	}{
		{map[string]any{"input": "a.json.gz"}, []string{"exactly one of kernel"}},
		{map[string]any{"input": "a.json.gz", "kernel": "x", "site": "a.py:1"}, []string{"exactly one of kernel"}},
		{map[string]any{"input": "a.json.gz", "site": "layer.py"}, []string{"not path:line"}},
		{map[string]any{"input": "a.json.gz", "site": "layer.py:abc"}, []string{"positive number"}},
		{map[string]any{"input": "a.json.gz", "kernel": "nccl"}, []string{`no kernel whose name contains "nccl"`, "analyze_trace"}},
		{map[string]any{"input": "a.json.gz", "site": "python/x.py:9"}, []string{"no kernel was launched from python/x.py:9"}},
		{map[string]any{"input": "a.json.gz", "kernel": "kernel", "stage": "extend"}, []string{"extend stage"}},
		{map[string]any{"kernel": "kernel"}, []string{"no trace given"}},
	} {
		wantError(t, e.call(t, "kernel_sites", c.args), c.want...)
	}
}

func TestCompareTraces(t *testing.T) {
	before := makeDoc("x", []string{"decode"}, 4, 1, 1)
	after := makeDoc("x", []string{"extend", "decode"}, 4, 1, 1)
	d := &after.Stages[1]
	d.Kernels[0].GPUTimeUS = 5  // was 40: -35
	d.Kernels[1].GPUTimeUS = 32 // was 30: +2
	d.Kernels[3].Name = "fused_add_rmsnorm"
	d.Kernels[3].GPUTimeUS = 7
	d.GPUTimeUS = 5 + 32 + 20 + 7
	e := newTestEnv(t, map[string]*analyzer.Document{"before.json.gz": before, "after.json.gz": after}, nil)
	res := e.call(t, "compare_traces", map[string]any{"before": "before.json.gz", "after": "after.json.gz", "top_k": 2})
	out := decode[CompareTracesOutput](t, res)
	if len(out.Stages) != 2 || out.Stages[0].Stage != "extend" || out.Stages[1].Stage != "decode" {
		t.Fatalf("stages %+v", out.Stages)
	}
	ext := out.Stages[0]
	if ext.BeforeGPUTimeUS != 0 || ext.NewCount != 4 || ext.VanishedCount != 0 || len(ext.New) != 2 {
		t.Errorf("extend (only after): %+v", ext)
	}
	dec := out.Stages[1]
	if dec.BeforeGPUTimeUS != 100 || dec.AfterGPUTimeUS != 64 || dec.DeltaUS != -36 || dec.DeltaPct != -36 {
		t.Errorf("decode totals %+v", dec)
	}
	if dec.ChangedCount != 3 || len(dec.Changed) != 2 || dec.Changed[0].Name != "x_kernel_00<bf16>" || dec.Changed[0].DeltaUS != -35 || dec.Changed[1].DeltaUS != 2 {
		t.Errorf("changed %+v", dec.Changed)
	}
	if dec.NewCount != 1 || dec.New[0].Name != "fused_add_rmsnorm" || dec.New[0].AfterUS != 7 {
		t.Errorf("new %+v", dec.New)
	}
	if dec.VanishedCount != 1 || dec.Vanished[0].Name != "x_kernel_03<bf16>" || dec.Vanished[0].DeltaUS != -10 || dec.Vanished[0].Site == "" {
		t.Errorf("vanished %+v", dec.Vanished)
	}
	if txt := resultText(res); !strings.Contains(txt, "Vanished (1)") || !strings.Contains(txt, "fused_add_rmsnorm") {
		t.Errorf("markdown: %s", txt)
	}
	// Stage selection and its error.
	one := decode[CompareTracesOutput](t, e.call(t, "compare_traces", map[string]any{"before": "before.json.gz", "after": "after.json.gz", "stage": "decode"}))
	if len(one.Stages) != 1 {
		t.Errorf("stage=decode gave %d stages", len(one.Stages))
	}
	wantError(t, e.call(t, "compare_traces", map[string]any{"before": "before.json.gz", "after": "after.json.gz", "stage": "all"}), "neither trace has the all stage")
	wantError(t, e.call(t, "compare_traces", map[string]any{"before": "before.json.gz"}), "after")
	wantError(t, e.call(t, "compare_traces", map[string]any{"before": "before.json.gz", "after": ""}), "give both before and after")
}

// A ROCm trace names kernels by mangled symbols: kernel_sites finds them by
// their demangled names too, and both tools return and print those names.
func TestMangledKernelNames(t *testing.T) {
	const mangled = "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib"
	const readable = "void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1>"
	mangle := func(d *analyzer.Document) *analyzer.Document {
		k := &d.Stages[0].Kernels[1]
		k.Name, k.Demangled = mangled, analyzer.DemangleKernel(mangled)
		return d
	}
	before, after := mangle(makeDoc("a", []string{"decode"}, 3, 1, 1)), mangle(makeDoc("a", []string{"decode"}, 3, 1, 1))
	after.Stages[0].Kernels[1].GPUTimeUS = 1
	if got := before.Stages[0].Kernels[1].Demangled; got != readable {
		t.Fatalf("DemangleKernel = %q, want %q", got, readable)
	}
	e := newTestEnv(t, map[string]*analyzer.Document{"before.json.gz": before, "after.json.gz": after}, nil)

	// "aiter::add_rmsnorm" is in the demangled name only.
	res := e.call(t, "kernel_sites", map[string]any{"input": "before.json.gz", "kernel": "aiter::add_rmsnorm"})
	st := decode[KernelSitesOutput](t, res).Stages[0]
	if st.Matches != 1 || st.Kernels[0].Name != mangled || st.Kernels[0].Demangled != readable {
		t.Fatalf("kernel query on the demangled name: %+v", st)
	}
	if txt := resultText(res); !strings.Contains(txt, "`void aiter::add_rmsnorm_quant_kernel<") || strings.Contains(txt, "_ZN") {
		t.Errorf("kernel query markdown: %s", txt)
	}
	// A site query names the kernels the line launches the same way.
	site := before.Stages[0].Kernels[1].Sites[0]
	res = e.call(t, "kernel_sites", map[string]any{"input": "before.json.gz", "site": fmt.Sprintf("%s:%d", site.Path, site.Line)})
	if l := decode[KernelSitesOutput](t, res).Stages[0].Launched; len(l) != 1 || l[0].Demangled != readable {
		t.Errorf("site query: %+v", l)
	}

	if txt := resultText(e.call(t, "analyze_trace", map[string]any{"input": "before.json.gz"})); !strings.Contains(txt, "| void aiter::add_rmsnorm_quant_kernel<") {
		t.Errorf("analyze_trace markdown does not show the demangled name:\n%s", txt)
	}

	res = e.call(t, "compare_traces", map[string]any{"before": "before.json.gz", "after": "after.json.gz"})
	dec := decode[CompareTracesOutput](t, res).Stages[0]
	var found bool
	for _, d := range dec.Changed {
		if d.Name == mangled {
			found = d.Demangled == readable
		}
	}
	if !found {
		t.Errorf("compare_traces changed rows lack the demangled name: %+v", dec.Changed)
	}
	if txt := resultText(res); !strings.Contains(txt, "`void aiter::add_rmsnorm_quant_kernel<") {
		t.Errorf("compare markdown: %s", txt)
	}
}
