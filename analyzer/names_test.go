package analyzer

import "testing"

func TestCanonicalKernelName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"void k<float>(int*, int)", "void k<float>"},
		{"void  k<T>(at::X<(anonymous)>(int))", "void k<T>"},
		{"ncclDevKernel_AllReduce(ncclDevKernelArgsStorage<4096ul>)", "ncclDevKernel_AllReduce(ncclDevKernelArgsStorage<4096ul>)"},
		{"kernel at 0x7f3a12 done", "kernel at 0xADDR done"},
		{"k(ptr=0xdeadBEEF)", "k(ptr=0xADDR)"},
		// A tile size is not an address (the reference printed MT320xADDRx64).
		{"Cijk_Alik_Bljk_MT320x224x64_MI16x16x1", "Cijk_Alik_Bljk_MT320x224x64_MI16x16x1"},
		{"Memcpy DtoD (Device -> Device)", "Memcpy DtoD (Device -> Device)"},
	}
	for _, tt := range tests {
		if got := CanonicalKernelName(tt.in); got != tt.want {
			t.Errorf("CanonicalKernelName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/local/lib/python3.12/dist-packages/vllm/model_executor/x.py", "vllm/model_executor/x.py"},
		{"/sgl-workspace/sglang/python/sglang/srt/layers/layernorm.py", "python/sglang/srt/layers/layernorm.py"},
		{"/opt/sgl-kernel/python/sgl_kernel/gemm.py", "sgl_kernel/gemm.py"},
		{"/x/site-packages/sglang/srt/x.py", "python/sglang/srt/x.py"},
		{"/app/TensorRT-LLM/tensorrt_llm/_torch/x.py", "tensorrt_llm/_torch/x.py"},
		{`C:\src\vllm\v1\a.py`, "vllm/v1/a.py"},
		{"/usr/lib/python3.11/threading.py", "usr/lib/python3.11/threading.py"},
		// nano-vllm is not vLLM (the reference printed vllm/layers/linear.py).
		{"nanovllm/layers/linear.py", "nanovllm/layers/linear.py"},
		{"/home/u/nano-vllm/nanovllm/engine/model_runner.py", "home/u/nano-vllm/nanovllm/engine/model_runner.py"},
	}
	for _, tt := range tests {
		if got := NormalizePath(tt.in); got != tt.want {
			t.Errorf("NormalizePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseFrameAndPriority(t *testing.T) {
	tests := []struct {
		raw, loc string
		prio     int
	}{
		{"/sgl/python/sglang/srt/layers/layernorm.py(177): forward_cuda", "python/sglang/srt/layers/layernorm.py:177 forward_cuda", 300},
		{"vllm/model_executor/parameter.py(12): load", "vllm/model_executor/parameter.py:12 load", 205},
		{"torch/nn/modules/module.py(1743): _call_impl", "torch/nn/modules/module.py:1743 _call_impl", 0},
		{"torch/nn/modules/linear.py(124): forward", "torch/nn/modules/linear.py:124 forward", 45},
		{"transformers/models/qwen2/modeling_qwen2.py(150): forward", "transformers/models/qwen2/modeling_qwen2.py:150 forward", 35},
		{"threading.py(1010): run", "threading.py:1010 run", -20},
		{"<built-in method mm of type object at 0x7f>", "<built-in method mm of type object at 0x7f>", -20},
		{"nn.Module: Linear_0", "nn.Module: Linear_0", 0},
	}
	for _, tt := range tests {
		fi := parseFrame(tt.raw)
		if fi.location != tt.loc || fi.priority != tt.prio {
			t.Errorf("parseFrame(%q) = %q prio %d, want %q prio %d", tt.raw, fi.location, fi.priority, tt.loc, tt.prio)
		}
	}
}
