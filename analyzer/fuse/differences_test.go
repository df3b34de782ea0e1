package fuse

import (
	"reflect"
	"strings"
	"testing"
)

// One test per deliberate difference from the reference tool, numbered as
// in docs/fusion.md. Kernel names are taken from the real traces.

const (
	patRMSNorm      = "Fused residual add + RMSNorm"
	patAllreduce    = "FlashInfer unified allreduce_fusion"
	patActMul       = "Fused activation-and-mul (SwiGLU / GeGLU)"
	patRopeKV       = "Fused QK RoPE reshape + KV cache write"
	patMoEActQuant  = "Fused MoE activation + quant / re-quant"
	patCutlassFP8   = "PR #22392 CUTLASS FP8 scaled MM replacing nvjet"
	patAttnQuant    = "vLLM-origin Attention + Quantization"
	patRMSQuant     = "vLLM-origin RMSNorm + Quantization"
	patVLLMAddNorm  = "vLLM fused residual add + RMSNorm"
	fmhaB300        = "fmhaSm100fKernel_QkvBfloat16OBfloat16H128PagedKvCausalP64VarSeqQ8Kv128PersistentSwapsAbForGen"
	pagedAttnMI300  = "void paged_attention_ll4mi_QKV_mfma16_kernel<0, __hip_bfloat16, __hip_bfloat16, (vllm::Fp8KVCacheDataType)0, 1, 128, 256, false, 4, 1, ck_tile::ComposedAttention<0u, false> >"
	ropeB300        = "void (anonymous namespace)::fused_rope_kernel<true, 128l, true, __nv_bfloat16, long, 16u>"
	storeKV         = "void (anonymous namespace)::store_kvcache<2048l, 4, true, long>"
	flashinferAddRN = "kernel_cutlass_kernel_flashinfernormkernelsfused_add_rmsnormFusedAddRMSNormKernel_object_at__tensorptrbf16gmemalign128o409640961"
	aiterAddRN      = "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib"
	aiterRN         = "_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi64ELi8ELb0ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib"
	ckAddRN         = "_ZN7ck_tile6kentryILi1ENS_12Rmsnorm2dFwdINS_18Rmsnorm2dFwdTraitsILb1ELb0ELb0ELb0ELNS_21Rmsnorm2dFusedAddEnumE1ELNS_23Rmsnorm2dFusedQuantEnumE0ELNS_22Rmsnorm2dSensitiveEnumE0EEEEEvv"
	ckRN            = "_ZN7ck_tile6kentryILi1ENS_12Rmsnorm2dFwdINS_18Rmsnorm2dFwdTraitsILb1ELb0ELb0ELb0ELNS_21Rmsnorm2dFusedAddEnumE0ELNS_23Rmsnorm2dFusedQuantEnumE0ELNS_22Rmsnorm2dSensitiveEnumE0EEEEEvv"
	actMulHIP       = "_ZN7sgl_hip10activation18act_and_mul_kernelI14__hip_bfloat16TnPFT_RKS3_EXadL_Z4siluIS2_ES3_S5_EEEEvPS3_PS4_i"
	reshapeCacheBF  = "void vllm::reshape_and_cache_flash_kernel<__hip_bfloat16, __hip_bfloat16, (vllm::Fp8KVCacheDataType)0>"
	graphSGL        = "python/sglang/srt/model_executor/model_runner.py:3373 _forward_raw"
)

func rows(os []Opportunity) map[string]Opportunity {
	m := map[string]Opportunity{}
	for _, o := range os {
		m[o.Pattern] = o
	}
	return m
}

func evidenceNames(o Opportunity) []string {
	var out []string
	for _, e := range o.Evidence {
		out = append(out, e.Kernel)
	}
	return out
}

// D1: attention kernels read the KV cache; their names (PagedKv,
// PagedKVCache, Fp8KVCacheDataType) do not make them KV-cache writes.
func TestDiff1AttentionIsNotKVCacheWrite(t *testing.T) {
	c := mustDefault(t)
	ctx := Context{Framework: "sglang", StageTotalUS: 100}
	for _, attn := range []string{fmhaB300, pagedAttnMI300} {
		got := rows(c.Match([]Kernel{
			k(attn, "attention", 8.8, graphSGL, "cudaGraphLaunch"),
			k(ropeB300, "rope", 2.4, graphSGL, "cudaGraphLaunch"),
			k(storeKV, "other", 1.3, graphSGL, "cudaGraphLaunch"),
		}, ctx))
		o, ok := got[patRopeKV]
		if !ok {
			t.Fatalf("%s: no %q row", attn, patRopeKV)
		}
		if !near(o.SharePct, 3.7, 1e-9) || o.Confidence != ConfidenceConfirmed {
			t.Errorf("%s: %s %.2f%%, want Confirmed 3.7%% (the reference prints 12.5%%)", attn, o.Confidence, o.SharePct)
		}
		if want := []string{ropeB300, storeKV}; !reflect.DeepEqual(evidenceNames(o), want) {
			t.Errorf("evidence %q, want %q", evidenceNames(o), want)
		}
		// Without a real KV-cache write the pattern does not fire at all; the
		// reference fires on rotary + attention.
		got = rows(c.Match([]Kernel{
			k(attn, "attention", 8.8, graphSGL, "cudaGraphLaunch"),
			k(ropeB300, "rope", 2.4, graphSGL, "cudaGraphLaunch"),
		}, ctx))
		if o, ok := got[patRopeKV]; ok {
			t.Errorf("%s: %q fires on attention alone (%.1f%%)", attn, patRopeKV, o.SharePct)
		}
	}
}

// D2: a fusion that already runs is reported as "Already fused", not as an
// opportunity.
func TestDiff2AlreadyFused(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		fw, pattern string
		kernel      Kernel
	}{
		// The reference's classifier calls this one gemm (cutlass).
		{"sglang", patRMSNorm, k(flashinferAddRN, "gemm", 6.5, graphSGL, "cudaGraphLaunch")},
		{"sglang", patActMul, k(actMulHIP, "activation", 2.6, "python/sglang/srt/layers/activation.py:83 forward_cuda", "sgl_kernel::silu_and_mul")},
		{"vllm", patVLLMAddNorm, k("vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>", "norm", 3.9, "vllm/_custom_ops.py:334 fused_add_rms_norm", "_C::fused_add_rms_norm")},
	}
	for _, tt := range tests {
		got := c.Match([]Kernel{tt.kernel}, Context{Framework: tt.fw, StageTotalUS: 100})
		if len(got) != 1 || got[0].Pattern != tt.pattern || got[0].Confidence != ConfidenceAlreadyFused {
			t.Errorf("%s: got %q, want [%s|Already fused]", tt.kernel.Name, patterns(got), tt.pattern)
			continue
		}
		if r := got[0].Rationale; !strings.Contains(r, "already runs") || !strings.Contains(r, "nothing is left to fuse") {
			t.Errorf("rationale %q does not say the fusion is applied", r)
		}
	}
}

// D3: quantisation keywords no longer count GEMMs of unquantised layers,
// MXFP4 GEMMs, norm trait enums, KV-cache type names or the MoE's input
// quantisation; the attention group takes attention kernels only.
func TestDiff3QuantisationKeywords(t *testing.T) {
	c := mustDefault(t)
	t.Run("vLLM B200 attention + quant", func(t *testing.T) {
		ks := []Kernel{
			k("fmhaSm100aKernel_QkvE4m3OBfloat16H64PagedKvCausalP16VarSeqQ128Kv128PersistentContext", "attention", 2.3, "vllm/attention/layer.py:290 forward", "vllm::unified_attention_with_output"),
			k("nvjet_tst_64x64_64x16_2x1_2cta_v_bz_bias_TNT", "gemm", 2.5, "vllm/model_executor/layers/utils.py:99 default_unquantized_gemm", "aten::addmm"),
			k("void tensorrt_llm::kernels::quantize_with_block_size<(tensorrt_llm::BlockScaleQuantizationType)2, __nv_bfloat16, 32, true>", "quantize", 1.4, "vllm/model_executor/layers/fused_moe/layer.py:1696 forward_native", "vllm::moe_forward"),
			k("void vllm::reshape_and_cache_flash_kernel<__nv_bfloat16, unsigned char, (vllm::Fp8KVCacheDataType)1>", "quantize", 1.4, "vllm/v1/attention/backends/flashinfer.py:1064 forward", "_C_cache_ops::reshape_and_cache_flash"),
			k("Memcpy HtoD (Pinned -> Device)", "memory", 0.2, "vllm/v1/attention/backends/flashinfer.py:664 build", "aten::copy_"),
		}
		ctx := Context{Framework: "vllm", StageTotalUS: 100}
		if o, ok := rows(c.Match(ks, ctx))[patAttnQuant]; ok {
			t.Errorf("%q fires at %.1f%% on: %q", patAttnQuant, o.SharePct, evidenceNames(o))
		}
		// A quantisation kernel launched from outside the attention layer
		// (e.g. the input of the next FP8 GEMM) still makes it fire ...
		quant := k("void vllm::scaled_fp8_quant_kernel_strided<c10::BFloat16, c10::Float8_e4m3fn>", "quantize", 0.9, "vllm/_custom_ops.py:1678 scaled_fp8_quant", "_C::static_scaled_fp8_quant")
		quant.Sites[0].Stack = []string{"vllm/model_executor/models/gpt_oss.py:130 forward",
			"vllm/model_executor/layers/linear.py:1400 forward", "vllm/_custom_ops.py:1678 scaled_fp8_quant"}
		o, ok := rows(c.Match(append(ks, quant), ctx))[patAttnQuant]
		if !ok || !near(o.SharePct, 3.2, 1e-9) {
			t.Errorf("with a quant kernel outside attention: got %+v, want the pattern at 3.2%%", o)
		}
		// ... but not the FP8 query quantisation launched inside the
		// attention layer (the stack of the B200 trace), which feeds
		// attention rather than following it.
		quant.Sites[0].Stack = []string{"vllm/model_executor/models/gpt_oss.py:130 forward",
			"vllm/attention/layer.py:290 forward", "vllm/model_executor/layers/quantization/input_quant_fp8.py:67 forward_cuda",
			"vllm/_custom_ops.py:1678 scaled_fp8_quant"}
		if o, ok := rows(c.Match(append(ks, quant), ctx))[patAttnQuant]; ok {
			t.Errorf("the query quantisation makes %q fire at %.1f%%", patAttnQuant, o.SharePct)
		}
		norm := k("vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>", "norm", 3.9, "vllm/_custom_ops.py:334 fused_add_rms_norm", "_C::fused_add_rms_norm")
		if o, ok := rows(c.Match(append(ks, quant, norm), ctx))[patRMSQuant]; ok {
			t.Errorf("the query quantisation makes %q fire at %.1f%%", patRMSQuant, o.SharePct)
		}
	})
	t.Run("vLLM MI300 RMSNorm + quant", func(t *testing.T) {
		ks := []Kernel{
			k("_ZN7ck_tile6kentryILi1ENS_12Rmsnorm2dFwdINS_23Rmsnorm2dFusedQuantEnumE0EEEvv", "norm", 3.0, "", "hipGraphLaunch"),
			k("_matmul_ogs_NNT_bf16xbf16xmxfp4_16x128x256x1", "gemm", 35.1, "", "hipGraphLaunch"),
			k("Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT448x32x64", "other", 2.6, "vllm/model_executor/layers/utils.py:122 rocm_unquantized_gemm_impl", "hipExtModuleLaunchKernel"),
			k(reshapeCacheBF, "quantize", 1.3, "", "hipGraphLaunch"),
		}
		if o, ok := rows(c.Match(ks, Context{Framework: "vllm", StageTotalUS: 100}))[patRMSQuant]; ok {
			t.Errorf("%q fires at %.1f%% on: %q", patRMSQuant, o.SharePct, evidenceNames(o))
		}
	})
	t.Run("SGLang MoE activation + quant on a dense model", func(t *testing.T) {
		ks := []Kernel{
			k(actMulHIP, "activation", 2.6, "python/sglang/srt/layers/activation.py:83 forward_cuda", "sgl_kernel::silu_and_mul"),
			k("Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT128x256x32", "other", 40, "python/sglang/srt/layers/quantization/unquant.py:136 apply", "aten::mm"),
		}
		if o, ok := rows(c.Match(ks, Context{Framework: "sglang", StageTotalUS: 100}))[patMoEActQuant]; ok {
			t.Errorf("%q fires at %.1f%% on: %q", patMoEActQuant, o.SharePct, evidenceNames(o))
		}
	})
}

// D4: fused kernels are recognised by their own names, so graph replays
// (CPU op cudaGraphLaunch/hipGraphLaunch) are recognised too.
func TestDiff4FusedKernelsByNameUnderGraphReplay(t *testing.T) {
	c := mustDefault(t)
	for _, name := range []string{actMulHIP, "void (anonymous namespace)::act_and_mul_kernel<__nv_bfloat16, ((anonymous namespace)::ActivationKind)0, true, false>"} {
		got := patterns(c.Match([]Kernel{k(name, "activation", 5.1, graphSGL, "hipGraphLaunch")}, Context{Framework: "sglang", StageTotalUS: 100}))
		if want := []string{patActMul + "|Already fused"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

// D5: vendor kernels that fuse the residual add into RMSNorm (AMD aiter,
// ck_tile) count as fused add + RMSNorm; their plain-RMSNorm variants do not.
func TestDiff5VendorFusedAddRMSNorm(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		name, fw string
		kernel   Kernel
		want     []string
	}{
		{"aiter with ADD_RESIDUAL, graph replay", "sglang", k(aiterAddRN, "norm", 10.9, graphSGL, "hipGraphLaunch"), []string{patRMSNorm + "|Already fused"}},
		{"aiter with ADD_RESIDUAL, eager", "sglang", k(aiterAddRN, "norm", 1.6, "python/sglang/srt/utils/kernel_shape_profiler.py:302 impl", "aiter::add_rmsnorm"), []string{patRMSNorm + "|Already fused"}},
		{"aiter plain RMSNorm", "sglang", k(aiterRN, "norm", 3.4, "python/sglang/srt/utils/kernel_shape_profiler.py:302 impl", "aiter::rmsnorm"), nil},
		{"ck_tile fused add, vLLM", "vllm", k(ckAddRN, "norm", 3.0, "", "hipGraphLaunch"), []string{patVLLMAddNorm + "|Already fused"}},
		{"ck_tile fused add, SGLang", "sglang", k(ckAddRN, "norm", 3.0, "", "hipGraphLaunch"), []string{patRMSNorm + "|Already fused"}},
		{"ck_tile without add", "vllm", k(ckRN, "norm", 3.0, "", "hipGraphLaunch"), nil},
	}
	for _, tt := range tests {
		got := patterns(c.Match([]Kernel{tt.kernel}, Context{Framework: tt.fw, StageTotalUS: 100}))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// D6: the location and CPU op of a graph-launch site say where the graph
// was replayed, not what the kernel is, so they are not matched.
func TestDiff6GraphLaunchSitesNotMatched(t *testing.T) {
	c := mustDefault(t)
	site := "python/sglang/srt/layers/communicator.py:640 apply_flashinfer_allreduce_fusion"
	ctx := Context{Framework: "sglang", TPSize: 2, StageTotalUS: 100}
	for _, tt := range []struct {
		op   string
		want []string
	}{
		{"cudaGraphLaunch", nil},
		{"hipGraphLaunch", nil},
		{"cudaLaunchKernel", []string{patAllreduce + "|Already fused"}},
	} {
		got := patterns(c.Match([]Kernel{k("nvjet_tst_64x8_64x16_4x1_v_bz_TNT", "gemm", 5, site, tt.op)}, ctx))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CPU op %s: got %q, want %q", tt.op, got, tt.want)
		}
	}
}

// D7: FlashInfer's FusedAddRMSNormKernel is the norm of the unfused path
// (all-reduce, then add + RMSNorm); with an all-reduce next to it, allreduce
// fusion is an opportunity, not "present".
func TestDiff7AllreduceFusionOpportunity(t *testing.T) {
	c := mustDefault(t)
	ks := []Kernel{
		k("void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>", "norm", 6.5, "python/sglang/srt/layers/layernorm.py:177 forward_cuda", "sgl_kernel::fused_add_rmsnorm"),
		k("void cross_device_reduce_1stage<__nv_bfloat16, 8>", "communication", 5, "python/sglang/srt/distributed/device_communicators/custom_all_reduce.py:300 custom_all_reduce", "sgl_kernel::all_reduce"),
	}
	got := c.Match(ks, Context{Framework: "sglang", TPSize: 8, StageTotalUS: 100})
	if len(got) == 0 || got[0].Pattern != patAllreduce || got[0].Confidence != ConfidenceConfirmed || !near(got[0].SharePct, 11.5, 1e-9) {
		t.Fatalf("got %q, want %s Confirmed at 11.5%% first", patterns(got), patAllreduce)
	}
	// At TP 1 the pattern is gated off and the norm is an applied fusion.
	got = c.Match(ks, Context{Framework: "sglang", TPSize: 1, StageTotalUS: 100})
	if want := []string{patRMSNorm + "|Already fused"}; !reflect.DeepEqual(patterns(got), want) {
		t.Errorf("TP 1: got %q, want %q", patterns(got), want)
	}
}

// D8: opportunities come before applied fusions, whatever their priority.
func TestDiff8OpportunitiesFirst(t *testing.T) {
	c := mustDefault(t)
	ks := []Kernel{
		k("void cutlass_scaled_mm_sm90<fp8>", "gemm", 20, "sgl-kernel/python/sgl_kernel/gemm.py:50 fp8_scaled_mm", "sgl_kernel::fp8_scaled_mm"),
		k(ropeB300, "rope", 2.4, "python/sglang/srt/layers/rotary_embedding.py:200 forward_cuda", "sgl_kernel::rotary_embedding"),
		k(storeKV, "other", 1.3, "python/sglang/srt/mem_cache/memory_pool.py:90 _set_kv_buffer_impl", "sgl_kernel::store_kvcache"),
	}
	got := patterns(c.Match(ks, Context{Framework: "sglang", StageTotalUS: 100}))
	// By priority alone the PR #22392 row (90) would come before the RoPE +
	// KV-cache row (40).
	want := []string{patRopeKV + "|Confirmed", patCutlassFP8 + "|Already fused"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// D9: a compacted keyword matches inside one field, never across the
// boundary of two (the vLLM B200 gpt-oss trace: "embedding" + "aten::gather"
// compacted to "…embeddingatengather…", which holds "gate", and fired the
// DeepSeek-V3 router GEMM pattern on a model without that router).
func TestDiff9CompactedKeywordsStayInOneField(t *testing.T) {
	c := mustDefault(t)
	ks := []Kernel{
		k("void at::native::vectorized_gather_kernel<16, long>", "other", 0.4, "vllm/model_executor/layers/vocab_parallel_embedding.py:71 embedding", "aten::gather"),
		k("nvjet_tst_64x64_64x16_2x1_2cta_v_bz_bias_TNT", "gemm", 2.5, "vllm/model_executor/layers/utils.py:99 default_unquantized_gemm", "aten::addmm"),
	}
	for _, o := range c.Match(ks, Context{Framework: "vllm", StageTotalUS: 100}) {
		if o.Pattern == "vLLM-origin DSV3 router GEMM" {
			t.Fatalf("the router pattern matched through a keyword straddling two fields: %+v", o)
		}
	}
	// A keyword inside one field still matches when compacted: "router
	// logits" finds "RouterLogits" in a kernel name.
	ks[0] = k("void moe::dev::routerLogitsGemmKernel<__nv_bfloat16>", "gemm", 3, "vllm/model_executor/layers/fused_moe/router/gate_linear.py:40 forward", "aten::mm")
	found := false
	for _, o := range c.Match(ks, Context{Framework: "vllm", StageTotalUS: 100}) {
		found = found || o.Pattern == "vLLM-origin DSV3 router GEMM"
	}
	if !found {
		t.Error("a router GEMM launched from the router's gate_linear.py no longer matches")
	}
}

// D10: an nvjet GEMM is a piece of the FP8 scaled-MM pattern only with FP8
// evidence in one of its fields. The bf16 rows are those of the extend stage
// of testdata/torch-eager.json.gz (PyTorch 2.11, H200: aten::mm, and a
// memset launched by cuDNN attention), where the reference's keyword "nvjet"
// makes the pattern Confirmed at 17.4 %. The FP8 names are those
// torch._scaled_mm launched on an H200 with PyTorch 2.11: cuBLASLt names FP8
// kernels nvjet_*_qqtst_* (tensor-wise scales) and nvjet_*_qrtst_* (row-wise
// scales), bf16 ones nvjet_*_tst_*.
func TestDiff10FP8ScaledMMNeedsFP8Evidence(t *testing.T) {
	c := mustDefault(t)
	ctx := Context{StageTotalUS: 100}
	memset := k("Memset (Device)", "memory", 0.6, "capture_torch_trace.py:58 forward", "aten::_cudnn_attention_forward")
	bf16 := func(op string) []Kernel {
		return []Kernel{
			k("nvjet_sm90_tst_64x48_64x15_2x4_h_bz_TNT", "gemm", 7.7, "capture_torch_trace.py:58 forward", op),
			k("nvjet_sm90_tst_176x64_64x7_1x2_h_bz_TNN", "gemm", 4.5, "capture_torch_trace.py:76 forward", op),
			k("nvjet_sm90_tst_96x64_64x10_1x2_h_bz_TNN", "gemm", 3.6, "capture_torch_trace.py:58 forward", op),
			k("nvjet_sm90_tst_64x8_64x16_2x1_v_bz_TNT", "gemm", 1.0, "capture_torch_trace.py:103 forward", op),
			memset,
		}
	}
	if o, ok := rows(c.Match(bf16("aten::mm"), ctx))[patCutlassFP8]; ok {
		t.Errorf("bf16 GEMMs (aten::mm) read as FP8 scaled MMs: %s %.1f%% %q", o.Confidence, o.SharePct, evidenceNames(o))
	}
	// The same rows launched by torch._scaled_mm are FP8 GEMMs: the reference's
	// figure comes back.
	o, ok := rows(c.Match(bf16("aten::_scaled_mm"), ctx))[patCutlassFP8]
	if !ok || o.Confidence != ConfidenceConfirmed || !near(o.SharePct, 17.4, 1e-9) {
		t.Errorf("aten::_scaled_mm rows: got %+v, want Confirmed at 17.4%%", o)
	}

	tests := []struct {
		name   string
		kernel Kernel
		want   bool
	}{
		{"FP8 tensor-wise name under graph replay", k("nvjet_sm90_qqtst_64x8_128x16_4x1_v_bz_algo2_TNT", "gemm", 5, graphSGL, "cudaGraphLaunch"), true},
		{"FP8 row-wise name under graph replay", k("nvjet_sm90_qrtst_48x64_128x15_4x2_h_bz_algo2_TNN", "gemm", 5, graphSGL, "cudaGraphLaunch"), true},
		{"FP8 name, eager", k("nvjet_sm90_qqtst_128x64_128x8_1x2_h_bz_algo2_TNT", "gemm", 5, "capture.py:12 forward", "aten::_scaled_mm"), true},
		{"FP8 layer location, CPU op unknown", k("nvjet_tst_64x32_64x16_4x1_v_bz_TNT", "gemm", 5, "python/sglang/srt/layers/quantization/fp8_utils.py:588 apply_fp8_linear", ""), true},
		{"bf16 name under graph replay", k("nvjet_sm90_tst_8x64_64x16_4x1_v_bz_TNN", "gemm", 5, graphSGL, "cudaGraphLaunch"), false},
		{"bf16 GEMM of an unquantised vLLM layer", k("nvjet_tst_64x64_64x16_2x1_2cta_v_bz_bias_TNT", "gemm", 5, "vllm/model_executor/layers/utils.py:99 default_unquantized_gemm", "aten::addmm"), false},
		// "fp8" in the graph launch's own location says nothing about the kernel (D6).
		{"FP8 word only at the graph launch", k("nvjet_sm90_tst_8x64_64x16_4x1_v_bz_TNN", "gemm", 5, "python/sglang/srt/layers/quantization/fp8_utils.py:588 apply_fp8_linear", "cudaGraphLaunch"), false},
	}
	for _, tt := range tests {
		_, got := rows(c.Match([]Kernel{tt.kernel, memset}, ctx))[patCutlassFP8]
		if got != tt.want {
			t.Errorf("%s: %q reported %v, want %v", tt.name, patCutlassFP8, got, tt.want)
		}
	}

	// With the CUTLASS kernel running, bf16 nvjet GEMMs are not left-over
	// pieces: the pattern is Already fused.
	cutlass := k("void cutlass_scaled_mm_sm90<fp8>", "gemm", 20, "sgl-kernel/python/sgl_kernel/gemm.py:50 fp8_scaled_mm", "sgl_kernel::fp8_scaled_mm")
	o, ok = rows(c.Match(append(bf16("aten::mm"), cutlass), Context{Framework: "sglang", StageTotalUS: 100}))[patCutlassFP8]
	if !ok || o.Confidence != ConfidenceAlreadyFused || !near(o.SharePct, 20, 1e-9) {
		t.Errorf("CUTLASS kernel with bf16 GEMMs: got %+v, want Already fused at 20%%", o)
	}
}

// D11: the DeepSeek-V3.2 indexer pattern counts only pieces launched from
// the DeepSeek model. The rows are those of the real HTA training trace
// hta_nccl_metadata_rank0_ws2 (a convolutional model, no indexer), where
// "wk" hit cuDNN's nhwcToNchwKernel and "gemm" every CUTLASS GEMM and
// implicit-GEMM convolution: Confirmed at 20.7 % of the trace.
func TestDiff11IndexerProjectionsNeedTheDeepSeekModel(t *testing.T) {
	c := mustDefault(t)
	ks := []Kernel{
		k("void cudnn::ops::nhwcToNchwKernel<float, float, float, true, false, (cudnnKernelDataType_t)0>", "memory", 1.5, "", "cudaLaunchKernel"),
		k("void cutlass::Kernel<cutlass_80_tensorop_s1688gemm_256x64_16x4_nn_align4>", "gemm", 3.4, "", "cudaLaunchKernel"),
		k("void cutlass::Kernel<cutlass_80_tensorop_s1688gemm_256x64_16x4_nt_align4>", "gemm", 3.1, "", "cudaLaunchKernel"),
		k("void cutlass::Kernel<cutlass_80_tensorop_s1688gemm_64x64_16x6_tn_align4>", "gemm", 2.8, "", "cudaLaunchKernel"),
	}
	const pat = "vLLM-origin DSV3.2 fused indexer projections"
	for _, fw := range []string{"unknown", "vllm"} {
		if o, ok := rows(c.Match(ks, Context{Framework: fw, StageTotalUS: 100}))[pat]; ok {
			t.Errorf("framework %s: %q fires at %.1f%% on %q", fw, pat, o.SharePct, evidenceNames(o))
		}
	}
	// Launched from the DeepSeek model, the same rows match the reference's
	// keywords again: the requirement scopes the pattern to the model it is
	// about; it does not make "wk" a better keyword (docs/fusion.md, Known
	// limits).
	for i := range ks {
		ks[i].Sites[0].Stack = []string{"vllm/model_executor/models/deepseek_v2.py:1090 forward", "vllm/model_executor/layers/linear.py:310 forward"}
	}
	o, ok := rows(c.Match(ks, Context{Framework: "vllm", StageTotalUS: 100}))[pat]
	if !ok || o.Confidence != ConfidenceConfirmed || !near(o.SharePct, 10.8, 1e-9) {
		t.Errorf("rows launched from deepseek_v2.py: got %+v, want Confirmed at 10.8%%", o)
	}
}
