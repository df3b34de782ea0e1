package analyzer

import "testing"

func TestCategorize(t *testing.T) {
	tests := []struct{ name, want string }{
		// the reference's rules
		{"ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)", "communication"},
		{"Memcpy DtoD (Device -> Device)", "memory"},
		{"nvjet_sm103_tst_256x16_64x6_4x1_v_bz_TNT", "gemm"},
		{"fmhaSm100fKernel_QkvBfloat16OBfloat16H128PagedKvCausalP64VarSeqQ8Kv128PersistentSwapsAbForGen", "attention"},
		{"void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>", "norm"},
		{"void vllm::rotary_embedding_kernel<c10::BFloat16, true>", "rope"},
		{"void (anonymous namespace)::act_and_mul_kernel<__nv_bfloat16, 0, true, false>", "activation"},
		{"_topk_forward", "reduce_topk"},
		{"triton_poi_fused__to_copy_cat_0", "memory"},
		{"void at::native::vectorized_gather_kernel<16, long>", "other"},
		{"gemma_rmsnorm", "norm"}, // the reference said gemm ("gemm" in "gemma")
		// corrections (docs/differences.md)
		{"Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT32x32x256_MI16x16x1_SN_LDSB1", "gemm"},
		{"void pytorch_flash::flash_fwd_kernel<pytorch_flash::Flash_fwd_kernel_traits<64, 128, 128, 4, false, false, cutlass::bfloat16_t>>", "attention"},
		{"void flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, cutlass::bfloat16_t>>", "attention"},
		{"void flash::flash_fwd_splitkv_combine_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, cutlass::bfloat16_t>, 4, 1, true>", "attention"},
		{"void (anonymous namespace)::store_kvcache<2048l, 4, true, long>", "kv_cache"},
		{"store_kvcache_kernel", "kv_cache"},
		{"void vllm::reshape_and_cache_flash_kernel<__hip_bfloat16, __hip_bfloat16, (vllm::Fp8KVCacheDataType)0>", "kv_cache"},
		{"triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0", "norm"},
		{"triton_per_fused__to_copy_add_mean_mul_pow_rsqrt_0", "norm"},
		{"kernel_cutlass_kernel_flashinfernormkernelsfused_add_rmsnormFusedAddRMSNormKernel_object_at__tensorptrbf16", "norm"},
		{"_combined_routing_compute", "moe"},
		{"_combined_routing_memset", "memory"},
		{"void flashinfer::BatchDecodeWithPagedKVCacheKernel<2u, 4u, 8u, 16u, 1u, 8u>", "attention"},
	}
	for _, tt := range tests {
		if got := Categorize(tt.name); got != tt.want {
			t.Errorf("Categorize(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
