package analyzer

import "strings"

// Kernel categories of the Kernel Table. The first eleven are the
// reference's (triage-behaviour.md §8.1); CategoryKVCache is ours.
const (
	CategoryCommunication = "communication"
	CategoryMemory        = "memory"
	CategoryKVCache       = "kv_cache"
	CategoryHybridLinear  = "hybrid_linear"
	CategoryAttention     = "attention"
	CategoryMoE           = "moe"
	CategoryGEMM          = "gemm"
	CategoryNorm          = "norm"
	CategoryRoPE          = "rope"
	CategorySoftmax       = "softmax"
	CategoryActivation    = "activation"
	CategoryQuantize      = "quantize"
	CategoryReduceTopK    = "reduce_topk"
	CategorySamplingIO    = "sampling_io"
	CategoryElementwise   = "elementwise"
	CategoryOther         = "other"
)

var (
	commStrong = []string{"nccl", "allreduce", "all_reduce", "reduce_scatter", "allgather", "all_gather",
		"alltoall", "all_to_all", "cross_device_reduce", "deepep", "mooncake"}
	memoryStrong = []string{"memcpy", "memset", "dma", "prefetch"}
	memoryWeak   = []string{"copy", "fill"}
	commWeak     = []string{"broadcast", "dispatch", "combine"}
	computeLike  = []string{"gemm", "gemv", "matmul", "cublas", "cutlass", "wgmma", "mma", "bmm", "nvjet", "fmha",
		"attention", "flash_attn", "flashattention", "flash_attention", "grouped_mm", "groupgemm", "moe", "expert",
		"cijk_", "flash_fwd", "flash_bwd"}

	// kvCacheWrite: kernels that write new keys and values into the paged
	// KV cache (SGLang store_kvcache, vLLM reshape_and_cache[_flash],
	// concat_and_cache_mla, nano-vllm store_kvcache_kernel).
	kvCacheWrite = []string{"store_kvcache", "reshape_and_cache", "concat_and_cache", "set_kv_buffer"}

	// normStrong: names that say norm outright, tested before the GEMM
	// keywords so that a CuTe/CUTLASS-built fused add+RMSNorm is a norm.
	normStrong = []string{"rmsnorm", "layernorm", "rms_norm", "layer_norm"}
)

type categoryGroup struct {
	name     string
	keywords []string
}

var categoryGroups = []categoryGroup{
	{CategoryHybridLinear, []string{"gdn", "gated_delta", "mamba", "selective_scan", "ssd", "causal_conv", "ssm"}},
	{CategoryAttention, []string{"flash_attn", "flashattention", "flash_attention", "fmha", "attention", "mla",
		"paged_attention", "decode_attention",
		// beyond the reference: FlashAttention 2/3 kernels (flash::flash_fwd_*,
		// pytorch_flash::flash_fwd_kernel) and flashinfer's paged kernels
		"flash_fwd", "flash_bwd", "batchdecodewith", "batchprefillwith", "singledecodewith", "singleprefillwith"}},
	{CategoryMoE, []string{"fused_moe", "grouped_mm", "groupgemm", "group_gemm", "moe", "expert", "groupproblemshape",
		// beyond the reference: MoE routing kernels (_combined_routing_compute)
		"routing"}},
	{CategoryNorm, normStrong},
	{CategoryGEMM, []string{"gemm", "gemv", "matmul", "cublas", "cutlass", "wgmma", "mma", "bmm", "nvjet"}},
	{CategoryNorm, []string{"rmsnorm", "layernorm", "_norm_", " norm", "normkernel"}},
	{CategoryRoPE, []string{"rotary", "rope", "mrope"}},
	{CategorySoftmax, []string{"softmax"}},
	{CategoryActivation, []string{"silu", "gelu", "relu", "act_and_mul", "sigmoid"}},
	{CategoryQuantize, []string{"quant", "fp8", "mxfp", "nvfp4", "dequant", "cvt"}},
	{CategoryReduceTopK, []string{"topk", "reduce", "argmax", "argtopk", "sampling", "multinomial"}},
	{CategorySamplingIO, []string{"prepare_inputs", "write_req_to", "catarraybatched", "prepare_next", "copy_next"}},
	{CategoryElementwise, []string{"elementwise", "vectorized_elementwise_kernel", "unrolled_elementwise_kernel",
		"gpu_kernel_impl", "binary_internal", "unaryfunctor", "add_kernel", "sub_kernel", "mul_kernel", "div_",
		"floor_kernel", "log_kernel", "neg_kernel"}},
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Categorize returns the Kernel Table category of a raw kernel name: the
// reference's first-match substring rules (triage-behaviour.md §8.1) with
// the corrections listed in docs/differences.md: ROCm Tensile/hipBLASLt
// Cijk_ GEMMs are gemm, FlashAttention and flashinfer paged-attention
// kernels are attention, KV-cache writes are kv_cache, norms built with
// CUTLASS/CuTe or fused by Inductor (triton_*_fused_*mean*rsqrt*) are norm,
// and MoE routing kernels are moe.
func Categorize(name string) string {
	n := strings.ToLower(name)
	switch {
	case containsAny(n, commStrong):
		return CategoryCommunication
	case containsAny(n, memoryStrong):
		return CategoryMemory
	case strings.HasPrefix(n, "cijk_") || strings.Contains(n, "_cijk_"):
		return CategoryGEMM
	case containsAny(n, kvCacheWrite):
		return CategoryKVCache
	case strings.HasPrefix(n, "triton_") && strings.Contains(n, "_fused_") &&
		strings.Contains(n, "mean") && strings.Contains(n, "rsqrt"):
		return CategoryNorm
	}
	compute := containsAny(n, computeLike)
	if !compute && containsAny(n, memoryWeak) {
		return CategoryMemory
	}
	for _, g := range categoryGroups {
		if containsAny(n, g.keywords) {
			return g.name
		}
	}
	if !compute && containsAny(n, commWeak) {
		return CategoryCommunication
	}
	return CategoryOther
}
