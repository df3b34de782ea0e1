package fuse

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, src string) *Catalog {
	t.Helper()
	c, err := Load(strings.NewReader(src), "test.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := c.checkSubsumes(); err != nil {
		t.Fatalf("subsumes: %v", err)
	}
	return c
}

func mustDefault(t *testing.T) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return c
}

// k builds a kernel row with one launch site.
func k(name, category string, us float64, location, op string) Kernel {
	return Kernel{Name: name, Category: category, GPUTimeUS: us,
		Sites: []Site{{Location: location, CPUOp: op, Launches: 1, SharePct: 100}}}
}

func patterns(os []Opportunity) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.Pattern+"|"+o.Confidence)
	}
	return out
}

// ruleCatalog is a small catalogue exercising one gate or rule per pattern.
const ruleCatalog = `
version: 1
patterns:
  - pattern: sglang only
    origin: mainline
    priority: 0
    min_share: 0.1
    likely_share: 1.0
    active: {keywords: [fw_probe]}
    candidate_paths: [python/sglang/srt/layers/x.py]
    rationale: A.
  - pattern: vllm only
    origin: upstream
    priority: 0
    min_share: 0.1
    likely_share: 1.0
    active: {keywords: [fw_probe]}
    candidate_paths: [vllm/model_executor/x.py]
    rationale: B.
  - pattern: any framework
    origin: inflight
    priority: 0
    min_share: 0.1
    likely_share: 1.0
    active: {keywords: [fw_probe]}
    candidate_paths: ["PR #1"]
    rationale: C.
  - pattern: needs tp4
    origin: mainline
    priority: 0
    min_share: 0.1
    likely_share: 1.0
    require_tp: true
    min_tp_size: 4
    active: {keywords: [tp_probe]}
    candidate_paths: [python/sglang/x.py]
    rationale: D.
  - pattern: model gated
    origin: mainline
    priority: 0
    min_share: 0.1
    likely_share: 1.0
    model_include: [deepseek, glm]
    model_exclude: [deepseek-v2]
    active: {keywords: [model_probe]}
    candidate_paths: [python/sglang/x.py]
    rationale: E.
  - pattern: split pair
    origin: mainline
    priority: 10
    min_share: 2.0
    likely_share: 5.0
    active: {keywords: [fused_pair_kernel]}
    split_groups:
      - keywords: [piece_a]
      - keywords: [piece_b]
    candidate_paths: [python/sglang/pair.py]
    rationale: F.
`

func TestMatchGates(t *testing.T) {
	c := mustLoad(t, ruleCatalog)
	tests := []struct {
		name    string
		kernels []Kernel
		ctx     Context
		want    []string
	}{
		{"no stage time", []Kernel{k("fw_probe", "other", 50, "", "")},
			Context{StageTotalUS: 0}, nil},
		{"framework unknown: every pattern", []Kernel{k("fw_probe", "other", 50, "", "")},
			Context{Framework: "unknown", StageTotalUS: 100},
			[]string{"sglang only|Already fused"}}, // one row: the others cover the same kernel
		{"framework sglang", []Kernel{k("fw_probe", "other", 50, "", "")},
			Context{Framework: "sglang", StageTotalUS: 100},
			[]string{"sglang only|Already fused"}},
		{"framework vllm skips sglang paths", []Kernel{k("fw_probe", "other", 50, "", "")},
			Context{Framework: "vllm", StageTotalUS: 100},
			[]string{"vllm only|Already fused"}},
		{"framework trtllm: only patterns without hints", []Kernel{k("fw_probe", "other", 50, "", "")},
			Context{Framework: "TensorRT-LLM", StageTotalUS: 100},
			[]string{"any framework|Already fused"}},
		{"tp below the minimum", []Kernel{k("tp_probe", "other", 50, "", "")},
			Context{TPSize: 2, StageTotalUS: 100}, nil},
		{"tp unknown counts as 1", []Kernel{k("tp_probe", "other", 50, "", "")},
			Context{StageTotalUS: 100}, nil},
		{"tp at the minimum", []Kernel{k("tp_probe", "other", 50, "", "")},
			Context{TPSize: 4, StageTotalUS: 100}, []string{"needs tp4|Already fused"}},
		{"model unknown fails an include gate", []Kernel{k("model_probe", "other", 50, "", "")},
			Context{StageTotalUS: 100}, nil},
		{"model included, case-insensitive", []Kernel{k("model_probe", "other", 50, "", "")},
			Context{Model: "deepseek-ai/DeepSeek-R1", StageTotalUS: 100}, []string{"model gated|Already fused"}},
		{"model excluded", []Kernel{k("model_probe", "other", 50, "", "")},
			Context{Model: "deepseek-ai/DeepSeek-V2-Lite", StageTotalUS: 100}, nil},
		{"model not included", []Kernel{k("model_probe", "other", 50, "", "")},
			Context{Model: "Qwen/Qwen3-8B", StageTotalUS: 100}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := patterns(c.Match(tt.kernels, tt.ctx))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMatchSplitShares(t *testing.T) {
	c := mustLoad(t, ruleCatalog)
	tests := []struct {
		name      string
		kernels   []Kernel
		want      []string
		wantShare float64
	}{
		{"one group empty: no match", []Kernel{k("piece_a", "other", 50, "", "")}, nil, 0},
		{"under min_share: no row", []Kernel{k("piece_a", "other", 1, "", ""), k("piece_b", "other", 0.5, "", "")}, nil, 0},
		{"between min and likely: Candidate", []Kernel{k("piece_a", "other", 2, "", ""), k("piece_b", "other", 1, "", "")},
			[]string{"split pair|Candidate"}, 3},
		{"at likely: Confirmed", []Kernel{k("piece_a", "other", 3, "", ""), k("piece_b", "other", 2, "", "")},
			[]string{"split pair|Confirmed"}, 5},
		{"fused kernel only: Already fused", []Kernel{k("fused_pair_kernel", "other", 4, "", "")},
			[]string{"split pair|Already fused"}, 4},
		{"fused kernel is not its own split piece", []Kernel{k("fused_pair_kernel piece_a piece_b", "other", 4, "", "")},
			[]string{"split pair|Already fused"}, 4},
		{"fused kernel plus remaining pieces: the pieces are the opportunity",
			[]Kernel{k("fused_pair_kernel", "other", 4, "", ""), k("piece_a", "other", 2, "", ""), k("piece_b", "other", 1, "", "")},
			[]string{"split pair|Candidate"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Match(tt.kernels, Context{StageTotalUS: 100})
			if g := patterns(got); !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("got %q, want %q", g, tt.want)
			}
			if len(got) > 0 && !near(got[0].SharePct, tt.wantShare, 1e-9) {
				t.Errorf("share %v, want %v", got[0].SharePct, tt.wantShare)
			}
		})
	}
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

func TestMatchKeywordRules(t *testing.T) {
	c := mustLoad(t, `
patterns:
  - pattern: compact
    origin: mainline
    min_share: 0
    likely_share: 0
    active: {keywords: [fused_add_rmsnorm]}
    candidate_paths: [a]
    rationale: R.
  - pattern: spaced
    origin: mainline
    min_share: 0
    likely_share: 0
    active: {keywords: ["cache write"]}
    candidate_paths: [a]
    rationale: R.
  - pattern: scoped
    origin: mainline
    min_share: 0
    likely_share: 0
    active:
      keywords: [quant]
      categories: [quantize, other]
      exclude_categories: [other]
      exclude_keywords: [unquant]
      exclude_stacks: [attn/layer.py]
    candidate_paths: [a]
    rationale: R.
  - pattern: regexp
    origin: mainline
    min_share: 0
    likely_share: 0
    active: {regexps: ['flag_kernelI[^L]*Li\d+ELb1E']}
    candidate_paths: [a]
    rationale: R.
  - pattern: required
    origin: mainline
    min_share: 0
    likely_share: 0
    active:
      keywords: [gemm_family]
      require_keywords: [lowbit, "scaled mm"]
    candidate_paths: [a]
    rationale: R.
`)
	tests := []struct {
		name   string
		kernel Kernel
		want   []string
	}{
		{"compact form matches CamelCase", k("flashinfer::norm::FusedAddRMSNormKernel<8u>", "norm", 10, "", ""),
			[]string{"compact|Already fused"}},
		{"location is matched", k("some_kernel", "norm", 10, "python/x.py:1 fused_add_rmsnorm", ""),
			[]string{"compact|Already fused"}},
		{"cpu op is matched", k("some_kernel", "norm", 10, "", "sgl_kernel::fused_add_rmsnorm"),
			[]string{"compact|Already fused"}},
		{"stack is not matched", Kernel{Name: "some_kernel", Category: "norm", GPUTimeUS: 10,
			Sites: []Site{{Stack: []string{"layernorm.py:1 fused_add_rmsnorm"}}}}, nil},
		{"spaced keyword matches compact text", k("store_cache_write_kernel", "other", 10, "", ""),
			[]string{"spaced|Already fused"}},
		{"spaced keyword does not match unrelated name", k("BatchDecodeWithPagedKVCacheKernel", "attention", 10, "", ""), nil},
		{"category allowed", k("quant_kernel", "quantize", 10, "", ""), []string{"scoped|Already fused"}},
		{"category not in the list", k("quant_kernel", "gemm", 10, "", ""), nil},
		{"category excluded", k("quant_kernel", "other", 10, "", ""), nil},
		{"exclude keyword in the location", k("quant_kernel", "quantize", 10, "layers/unquant.py:3 apply", ""), nil},
		{"launched only from excluded frames", Kernel{Name: "quant_kernel", Category: "quantize", GPUTimeUS: 10,
			Sites: []Site{{Stack: []string{"model.py:1 forward", "attn/layer.py:5 forward"}}}}, nil},
		{"one site outside the excluded frames", Kernel{Name: "quant_kernel", Category: "quantize", GPUTimeUS: 10,
			Sites: []Site{{Stack: []string{"attn/layer.py:5 forward"}}, {Stack: []string{"linear.py:9 apply"}}}},
			[]string{"scoped|Already fused"}},
		{"stacks of graph launches are ignored", Kernel{Name: "quant_kernel", Category: "quantize", GPUTimeUS: 10,
			Sites: []Site{{CPUOp: "cudaGraphLaunch", Stack: []string{"attn/layer.py:5 forward"}}}},
			[]string{"scoped|Already fused"}},
		{"regexp hit", k("_Z11flag_kernelIDF16bLi4ELb1EEvv", "other", 10, "", ""), []string{"regexp|Already fused"}},
		{"regexp miss", k("_Z11flag_kernelIDF16bLi4ELb0EEvv", "other", 10, "", ""), nil},
		{"required keyword missing", k("gemm_family_128x64", "gemm", 10, "model.py:3 forward", "aten::mm"), nil},
		{"required keyword in the kernel name", k("gemm_family_LowBit_128x64", "gemm", 10, "", ""),
			[]string{"required|Already fused"}},
		{"required keyword in the location", k("gemm_family_128x64", "gemm", 10, "layers/lowbit_utils.py:9 apply", "aten::mm"),
			[]string{"required|Already fused"}},
		{"required keyword in the CPU op, compacted", k("gemm_family_128x64", "gemm", 10, "", "aten::_scaled_mm"),
			[]string{"required|Already fused"}},
		{"required keyword in a stack frame", Kernel{Name: "gemm_family_128x64", Category: "gemm", GPUTimeUS: 10,
			Sites: []Site{{Location: "model.py:3 forward", CPUOp: "aten::mm", Stack: []string{"model.py:3 forward", "layers/lowbit.py:7 apply"}}}},
			[]string{"required|Already fused"}},
		{"required keyword only in a graph launch's site", Kernel{Name: "gemm_family_128x64", Category: "gemm", GPUTimeUS: 10,
			Sites: []Site{{Location: "runner.py:5 lowbit_replay", CPUOp: "cudaGraphLaunch", Stack: []string{"layers/lowbit.py:7 apply"}}}}, nil},
		{"required keyword does not straddle two fields", k("gemm_family_low", "gemm", 10, "bit.py:1 f", ""), nil},
		{"required keyword alone does not match", k("lowbit_cast", "other", 10, "", "aten::_scaled_mm"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := patterns(c.Match([]Kernel{tt.kernel}, Context{StageTotalUS: 100}))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// selectionCatalog: "big" outranks "small" by priority and subsumes
// "subsumed"; "wide" and "narrow" tie on priority and differ in span.
const selectionCatalog = `
patterns:
  - pattern: small
    origin: mainline
    priority: 0
    min_share: 0
    likely_share: 1
    split_groups: [{keywords: [rope]}, {keywords: [store]}]
    candidate_paths: [a]
    rationale: R.
  - pattern: big
    origin: mainline
    priority: 40
    min_share: 0
    likely_share: 1
    subsumes: [subsumed]
    split_groups: [{keywords: [rope]}, {keywords: [store]}]
    candidate_paths: [a]
    rationale: R.
  - pattern: subsumed
    origin: mainline
    priority: 20
    min_share: 0
    likely_share: 1
    split_groups: [{keywords: [other_piece]}]
    candidate_paths: [a]
    rationale: R.
  - pattern: narrow
    origin: mainline
    priority: 5
    min_share: 0
    likely_share: 1
    split_groups: [{keywords: [norm]}]
    candidate_paths: [a]
    rationale: R.
  - pattern: wide
    origin: mainline
    priority: 5
    min_share: 0
    likely_share: 1
    split_groups: [{keywords: [norm]}, {keywords: [allreduce]}]
    candidate_paths: [a]
    rationale: R.
  - pattern: tiny
    origin: mainline
    priority: 100
    min_share: 0
    likely_share: 0
    split_groups: [{keywords: [tiny_kernel]}]
    candidate_paths: [a]
    rationale: R.
  - pattern: blocked by tiny
    origin: mainline
    priority: 0
    min_share: 0
    likely_share: 0
    split_groups: [{keywords: [tiny_kernel]}, {keywords: [tiny_partner]}]
    candidate_paths: [a]
    rationale: R.
`

func TestMatchSelection(t *testing.T) {
	c := mustLoad(t, selectionCatalog)
	kernels := []Kernel{
		k("rope_kernel", "rope", 5, "", ""),
		k("store_kernel", "other", 5, "", ""),
		k("other_piece_kernel", "other", 5, "", ""),
		k("rmsnorm_kernel", "norm", 5, "", ""),
		k("allreduce_kernel", "communication", 5, "", ""),
		k("tiny_kernel", "other", 0.5, "", ""),
		k("tiny_partner", "other", 5, "", ""),
	}
	got := patterns(c.Match(kernels, Context{StageTotalUS: 100}))
	// big beats small (priority; same rows), subsumed is dropped by big,
	// wide beats narrow (span), tiny is selected but under 1% and not
	// shown, yet its row still blocks "blocked by tiny".
	want := []string{"big|Confirmed", "wide|Confirmed"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMatchCells(t *testing.T) {
	c := mustLoad(t, selectionCatalog)
	kernels := []Kernel{
		{Name: "rope_kernel", Category: "rope", GPUTimeUS: 5, Sites: []Site{
			{Location: "a.py:1 f", CPUOp: "op1"}, {Location: "b.py:2 g", CPUOp: "op2"}, {Location: "", CPUOp: "op3"}}},
		{Name: "store_small", Category: "other", GPUTimeUS: 0.5, Sites: []Site{{Location: "c.py:3 h"}}},
		{Name: "store_kernel", Category: "other", GPUTimeUS: 3, Sites: []Site{
			{Location: "a.py:1 f"}, {Location: "d.py:4 i"}, {Location: "e.py:5 j"}}},
	}
	got := c.Match(kernels, Context{StageTotalUS: 100})
	if len(got) != 1 || got[0].Pattern != "big" {
		t.Fatalf("got %q", patterns(got))
	}
	o := got[0]
	if !near(o.GPUTimeUS, 8.5, 1e-9) || !near(o.SharePct, 8.5, 1e-9) {
		t.Errorf("time %v share %v, want 8.5 and 8.5", o.GPUTimeUS, o.SharePct)
	}
	wantEv := []Evidence{{"rope_kernel", 5}, {"store_kernel", 3}} // store_small is under 1%
	if !reflect.DeepEqual(o.Evidence, wantEv) {
		t.Errorf("evidence %v, want %v", o.Evidence, wantEv)
	}
	wantLoc := []string{"a.py:1 f", "b.py:2 g", "c.py:3 h", "d.py:4 i"} // four, unique, no empty
	if !reflect.DeepEqual(o.CurrentLocations, wantLoc) {
		t.Errorf("locations %q, want %q", o.CurrentLocations, wantLoc)
	}
	if !reflect.DeepEqual(o.CandidatePaths, []string{"a"}) {
		t.Errorf("candidate paths %q", o.CandidatePaths)
	}
	if !strings.Contains(o.Rationale, "8.5%") || !strings.HasSuffix(o.Rationale, " R.") {
		t.Errorf("rationale %q: want the share and the pattern's sentence", o.Rationale)
	}
	// Match must not modify its input.
	if kernels[0].Sites[2].Location != "" || len(kernels) != 3 {
		t.Error("Match modified its input")
	}
}

func TestMatchReportCut(t *testing.T) {
	c := mustLoad(t, selectionCatalog)
	for _, tt := range []struct {
		us   float64
		want int
	}{{0.99, 0}, {1.0, 1}} {
		got := c.Match([]Kernel{k("rope", "rope", tt.us/2, "", ""), k("store", "other", tt.us/2, "", "")},
			Context{StageTotalUS: 100})
		if len(got) != tt.want {
			t.Errorf("share %v%%: %d rows, want %d", tt.us, len(got), tt.want)
		}
	}
}

func TestMatchConcurrent(t *testing.T) {
	c := mustDefault(t)
	kernels := []Kernel{k("void rotary_embedding_kernel<float>", "rope", 5, "", ""),
		k("store_kvcache<1>", "other", 5, "", "")}
	done := make(chan []string)
	for range 4 {
		go func() { done <- patterns(c.Match(kernels, Context{Framework: "sglang", StageTotalUS: 100})) }()
	}
	first := <-done
	for range 3 {
		if got := <-done; !reflect.DeepEqual(got, first) {
			t.Errorf("concurrent results differ: %q vs %q", got, first)
		}
	}
}

// BenchmarkMatch measures Match with the embedded catalogue on a stage of
// 400 kernel rows (a large decode step has a few hundred distinct kernels).
func BenchmarkMatch(b *testing.B) {
	c, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	base := []Kernel{
		k(fmhaB300, "attention", 8.8, graphSGL, "cudaGraphLaunch"),
		k(ropeB300, "rope", 2.4, "python/sglang/srt/layers/rotary_embedding.py:200 forward_cuda", "sgl_kernel::rotary_embedding"),
		k(storeKV, "other", 1.3, "python/sglang/srt/mem_cache/memory_pool.py:90 _set_kv_buffer_impl", "sgl_kernel::store_kvcache"),
		k(aiterAddRN, "norm", 10.9, graphSGL, "hipGraphLaunch"),
		k(actMulHIP, "activation", 5.1, "python/sglang/srt/layers/activation.py:83 forward_cuda", "sgl_kernel::silu_and_mul"),
		k("void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, std::array<char*, 1ul> >", "elementwise", 0.5, "python/sglang/srt/layers/sampler.py:80 forward", "aten::fill_"),
		k("Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT256x32x64_MI16x16x1_SN_LDSB1_AFC1_AFEM1_AFEM1_ASEM1_CLR1_CADS0", "gemm", 20, "python/sglang/srt/layers/quantization/unquant.py:136 apply", "aten::mm"),
		k("ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)", "communication", 4, "python/sglang/srt/distributed/parallel_state.py:520 _all_reduce_out_place", "c10d::allreduce_"),
	}
	var kernels []Kernel
	for i := 0; len(kernels) < 400; i++ {
		kk := base[i%len(base)]
		kk.Name = fmt.Sprintf("%s_%d", kk.Name, i)
		kernels = append(kernels, kk)
	}
	ctx := Context{Framework: "sglang", TPSize: 8, StageTotalUS: 10000}
	b.ReportAllocs()
	for b.Loop() {
		c.Match(kernels, ctx)
	}
}

// BenchmarkDefault measures parsing the embedded catalogue.
func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}
