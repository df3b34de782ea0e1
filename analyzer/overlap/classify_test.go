package overlap

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		want string
		// differs names the deliberate difference from the reference
		// classifier (spec §9.2); "" when the reference agrees.
		differs string
	}{
		// Memory and communication come first.
		{"Memcpy DtoD (Device -> Device)", Memory, ""},
		{"Memset (Device)", Memory, ""},
		{"ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)", Communication, ""},
		{"ncclKernel_SendRecv_RING_SIMPLE_Sum_int8_t(ncclDevComm*, unsigned long, ncclWork*)", Communication, ""},
		{"void (anonymous namespace)::multimem_all_reduce_kernel<c10::BFloat16, 8>", Communication, ""},
		{"cross_device_reduce_1stage<__nv_bfloat16, 8>", Communication, ""},
		{"void deep_ep::internode::dispatch<8, 1024>", Communication, "deep_ep spelling"},
		{"rcclKernel_AllGather", Communication, ""},
		{"void vllm::quickreduce::allreduce_prototype_twoshot<T>", Communication, ""},
		{"ncclDevKernel_Broadcast_RING_LL(ncclDevKernelArgsStorage<4096ul>)", Communication, ""},

		// Compute, including the reference's parity traps.
		{"nvjet_sm103_tst_256x16_64x6_4x1_v_bz_TNT", Compute, "nvjet is other in the reference"},
		{"nvjet_tst_64x64_64x16_2x1_2cta_v_bz_bias_TNT", Compute, "nvjet is other in the reference"},
		{"Cijk_Alik_Bljk_BBS_BH_Bias_HA_S_SAV_UserArgs_MT32x16x512_MI16x16x1_SN_LDSB1", Compute, "Cijk is other in the reference"},
		{"sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_cublas", Compute, ""},
		{"void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64, 128, 128, 4, false, false, cutlass::bfloat16_t>>", Compute, ""},
		{"void flash::flash_fwd_splitkv_combine_kernel<Flash_fwd_kernel_traits<128>>", Compute, ""},
		{"fmhaSm100fKernel_QkvBfloat16OBfloat16H128PagedKvCausalP64VarSeqQ8Kv128PersistentSwapsAbForGen", Compute, ""},
		{"void flashinfer::BatchDecodeWithPagedKVCacheKernel<true, 2u, 4u>", Compute, "flashinfer attention keeps compute without the bare flash word"},
		{"void paged_attention_ll4mi_QKV_mfma16_kernel<0, __hip_bfloat16>", Compute, ""},
		{"_matmul_ogs_NNT_bf16xbf16xmxfp4_16x128x256x1_swiglu", Compute, ""},
		{"bmm_MxE4m3_MxE2m1MxE4m3_Fp32_t128x16x256u2_s3", Compute, ""},
		{"void cutlass::Kernel2<cutlass_80_wmma_tensorop_bf16_s161616gemm_bf16_16x16_128x2_tn_align8>", Compute, ""},
		{"_ZN19cutlass_cudnn_train6KernelINS_4conv6kernel23ImplicitGemmConvolutionINS1_11threadblock22ImplicitGemmMultistageINS_4gemm9GemmShapeILi128ELi128ELi32EEENS_4dmaE", Compute, "reference: memory, via the accidental dma"},
		{"void implicit_convolve_sgemm<float, float, 128, 5, 5, 3, 3, 3, 1, false, false, true>", Compute, ""},
		{"triton_tem_fused_mm_0", Compute, ""},
		{"create_flashinfer_kv_indices_triton", Compute, ""},

		// Not compute, although the reference says so.
		{"kernel_cutlass_kernel_flashinfernormkernelsfused_add_rmsnormFusedAddRMSNormKernel_object_at__tensorptrbf16", Elementwise, "reference: compute (cutlass, flash)"},
		{"void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>", Elementwise, "reference: compute (flash)"},
		{"void flashinfer::activation::act_and_mul_kernel<__nv_bfloat16, silu>", Elementwise, "reference: compute (flash)"},
		{"triton_poi_fused__to_copy_1", Elementwise, "reference: compute (triton)"},
		{"triton_red_fused__to_copy_add_mean_mul_pow_rsqrt_0", Elementwise, "reference: compute (triton)"},
		{"triton_per_fused__to_copy_add_mean_mul_pow_rsqrt_0", Elementwise, "reference: compute (triton)"},
		{"void moe::dev::finalize::finalizeKernelVecLoad<moe::dev::finalize::KernelParams<cutlass::bfloat16_t, cutlass::bfloat16_t, 4, true> >", Other, "reference: compute (cutlass template argument)"},
		{"void vllm::convert_fp8_kernel<float>", Other, "reference: compute (conv in convert)"},
		{"void vllm::reshape_and_cache_flash_kernel<__nv_bfloat16, unsigned char>", Other, "reference: compute (flash)"},

		// Elementwise.
		{"_ZN5aiter24add_rmsnorm_quant_kernelIDF16bDF16bLi256ELi16ELb1ELb0ELb1ELi1EEEvPT0_PT_PfS4_S4_S4_diiiiiiib", Elementwise, ""},
		{"void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<long>, std::array<char*, 1ul> >", Elementwise, ""},
		{"void vllm::rotary_embedding_kernel<c10::BFloat16, true>", Elementwise, ""},
		{"_topk_forward", Elementwise, ""},

		// Weak memory and communication words.
		{"void at::native::(anonymous namespace)::CatArrayBatchedCopy<float, unsigned int, 2, 128, 1>", Memory, ""},
		{"void cub::DeviceReduceByKeyKernel<cub::DispatchReduceByKey<long*, long*>>", Other, "reference: communication (dispatch in a template argument)"},
		{"_combined_routing_compute", Other, "reference: communication (combine in MoE routing)"},
		{"moe_dispatch_tokens", Other, "reference: communication (dispatch in MoE permutation)"},
		{"broadcast_kernel", Communication, ""},

		{"store_kvcache_kernel", Other, ""},
		{"", Other, ""},
	}
	for _, tt := range tests {
		if got := Classify(tt.name); got != tt.want {
			t.Errorf("Classify(%q) = %s, want %s (%s)", tt.name, got, tt.want, tt.differs)
		}
	}
}

func TestStripTemplateArgs(t *testing.T) {
	tests := map[string]string{
		"void k<a<b>, c>(int)": "void k(int)",
		"plain":                "plain",
		"a<b":                  "a",
		"a>b<c>":               "a>b",
	}
	for in, want := range tests {
		if got := stripTemplateArgs(in); got != want {
			t.Errorf("stripTemplateArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

// classifyAll cuts large stages into ranges classified on several
// goroutines; every kernel must get Classify's category and
// isCopyEngine's answer for its name.
func TestClassifyAllLarge(t *testing.T) {
	names := []string{"ncclKernel_AllReduce", "Memcpy DtoD", "gemm_bf16", "silu_kernel", "mystery", "Memset (Device)"}
	kernels := make([]Kernel, 5*minClassifyRange+7)
	for i := range kernels {
		kernels[i].Name = names[(i/3+i%5)%len(names)]
	}
	cats, ce := classifyAll(kernels)
	for i, k := range kernels {
		if cats[i] != Classify(k.Name) || ce[i] != isCopyEngine(k.Name) {
			t.Fatalf("kernel %d (%s): %s %v, want %s %v", i, k.Name, cats[i], ce[i], Classify(k.Name), isCopyEngine(k.Name))
		}
	}
}
