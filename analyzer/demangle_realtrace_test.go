package analyzer_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ianlancetaylor/demangle"
	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// D14: a kernel row whose name is a mangled C++ symbol carries its
// demangled name in `demangled`; `name` and the Kernel Table text keep the
// raw name the reference prints; the Overlap and Fuse tables print the
// demangled name.
func TestDifferenceDemangledNames(t *testing.T) {
	doc, text := analyzeShared(t, "sglang_mi300x_qwen3-8b_prefilldecode.json.gz")
	row := findRow(t, doc, "extend", "_ZN7ck_tile6kentryILi2ENS_38FmhaBatchPrefillWithPagedKVCacheKernelI")
	const want = "void ck_tile::kentry<2, ck_tile::FmhaBatchPrefillWithPagedKVCacheKernel<ck_tile::BlockFmhaBatchPrefillPipelineQRKSVSAsync<"
	if !strings.HasPrefix(row.Demangled, want) {
		t.Errorf("FMHA prefill kernel demangled to %.200q, want prefix %q", row.Demangled, want)
	}
	if strings.HasSuffix(row.Demangled, ")") || strings.Contains(row.Demangled, "::FmhaFwdGroupModeKargs)") {
		t.Errorf("FMHA prefill kernel keeps its parameter list: …%q", row.Demangled[max(0, len(row.Demangled)-80):])
	}
	kernelTable, rest, _ := strings.Cut(text, "Overlap Opportunity Table")
	if !strings.Contains(kernelTable, "| "+row.Name+" |") {
		t.Error("Kernel Table text does not print the raw name")
	}
	if strings.Contains(kernelTable, "ck_tile::kentry<") || strings.Contains(kernelTable, "aiter::add_rmsnorm_quant_kernel<") {
		t.Error("Kernel Table text prints a demangled name")
	}
	// The Overlap and Fuse tables, which the parity test does not compare,
	// print demangled names.
	for _, want := range []string{
		"| P2 | headroom | void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 64, 8, false, false, true, 1> | python/sglang/srt/utils/kernel_shape_profiler.py:302 impl |",
		"| Fused residual add + RMSNorm | Already fused | 8.70 ms | 1.8% | void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1> (1.8%) |",
	} {
		if !strings.Contains(rest, want) {
			t.Errorf("Overlap and Fuse tables lack %q", want)
		}
	}
	if strings.Contains(rest, "_ZN5aiter") || strings.Contains(rest, "_ZN7sgl_hip") {
		t.Error("Overlap or Fuse table prints a mangled name")
	}
	if j := jsonRow(t, row); j["name"] != row.Name || j["demangled"] != row.Demangled {
		t.Errorf("JSON row: name %.80q, demangled %.80q", j["name"], j["demangled"])
	}
	norm := findRow(t, doc, "extend", "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1")
	if want := "void aiter::add_rmsnorm_quant_kernel<std::bfloat16_t, std::bfloat16_t, 256, 16, true, false, true, 1>"; norm.Demangled != want {
		t.Errorf("add_rmsnorm_quant_kernel demangled to %q, want %q", norm.Demangled, want)
	}
	// Readable names get no demangled field at all.
	gemm := findRow(t, doc, "extend", "Cijk_Alik_Bljk_")
	if gemm.Demangled != "" {
		t.Errorf("Tensile kernel demangled to %q", gemm.Demangled)
	}
	if j, ok := jsonRow(t, gemm)["demangled"]; ok {
		t.Errorf("readable row has a demangled field: %q", j)
	}
}

// jsonRow is a kernel row as the JSON document writes it.
func jsonRow(t *testing.T, row *analyzer.KernelRow) map[string]any {
	t.Helper()
	b, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every mangled kernel of the real ROCm and cuDNN traces demangles, to
// the demangler's own parameter-less form with the kernel's void return
// type in front; every other row has none.
func TestDemangledNamesRealTraces(t *testing.T) {
	files := []string{
		"llm-serving/sglang_mi300x_qwen3-8b_prefilldecode.json.gz",
		"llm-serving/sglang_mi300x_qwen3-8b_decode_graph_replay.json.gz",
		"llm-serving/sglang_mi300x_deepseek-r1_1782841132.2905657-TP-0-DECODE.trace.json.gz",
		"llm-serving/vllm_mi300_gptoss_full-graph_decode_replay.json.gz",
		"distributed/hta_nccl_metadata_rank0_ws2.json.gz",
		"llm-serving/vllm_b200_gptoss_tp8_rank0_eager.json.gz",
	}
	wantMangled := map[string]int{
		"llm-serving/sglang_mi300x_qwen3-8b_prefilldecode.json.gz":                           5,
		"llm-serving/sglang_mi300x_qwen3-8b_decode_graph_replay.json.gz":                     4,
		"llm-serving/sglang_mi300x_deepseek-r1_1782841132.2905657-TP-0-DECODE.trace.json.gz": 3,
		"llm-serving/vllm_mi300_gptoss_full-graph_decode_replay.json.gz":                     2,
		"distributed/hta_nccl_metadata_rank0_ws2.json.gz":                                    2,
	}
	skipShort(t)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			doc, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: testutil.SharedFile(t, "traces/"+f)})
			if err != nil {
				t.Fatal(err)
			}
			mangled := map[string]bool{}
			for _, st := range doc.Stages {
				for _, k := range st.Kernels {
					if !strings.HasPrefix(k.Name, "_Z") {
						if k.Demangled != "" {
							t.Errorf("%s: readable %q demangled to %q", st.Stage, k.Name, k.Demangled)
						}
						continue
					}
					mangled[k.Name] = true
					short, err := demangle.ToString(k.Name, demangle.NoParams)
					if err != nil {
						t.Fatalf("%s: %q: %v", st.Stage, k.Name, err)
					}
					if k.Demangled != "void "+short {
						t.Errorf("%s: %q demangled to\n%q, want\n%q", st.Stage, k.Name, k.Demangled, "void "+short)
					}
				}
			}
			if len(mangled) != wantMangled[f] {
				t.Errorf("%d distinct mangled kernel rows, want %d", len(mangled), wantMangled[f])
			}
		})
	}
}

// BenchmarkDemangleKernel demangles each distinct mangled kernel name of
// the real ROCm and cuDNN traces once per iteration: the cost the engine
// pays per kernel row (it demangles per row, never per launch).
func BenchmarkDemangleKernel(b *testing.B) {
	var names []string
	seen := map[string]bool{}
	for _, f := range []string{
		"llm-serving/sglang_mi300x_qwen3-8b_prefilldecode.json.gz",
		"llm-serving/sglang_mi300x_qwen3-8b_decode_graph_replay.json.gz",
		"llm-serving/sglang_mi300x_deepseek-r1_1782841132.2905657-TP-0-DECODE.trace.json.gz",
		"llm-serving/vllm_mi300_gptoss_full-graph_decode_replay.json.gz",
		"distributed/hta_nccl_metadata_rank0_ws2.json.gz",
	} {
		tr, err := trace.Load(context.Background(), testutil.SharedFile(b, "traces/"+f), trace.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range tr.Kernels {
			n := analyzer.CanonicalKernelName(tr.Strings.Get(k.Name))
			if strings.HasPrefix(n, "_Z") && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, n := range names {
			if analyzer.DemangleKernel(n) == "" {
				b.Fatalf("%q did not demangle", n)
			}
		}
	}
	b.ReportMetric(float64(len(names)), "names")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(names)), "ns/name")
}
