// Package tracegen writes synthetic PyTorch profiler (Kineto) traces shaped
// like those of SGLang, vLLM and TensorRT-LLM serving engines, of any size,
// with known ground truth: every kernel's total GPU time, launch count and
// the Python line that launched it. Tests and benchmarks use it; it writes
// the exact line layout Kineto writes, so the loader's fast path applies.
package tracegen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
)

// Options describe the trace to write.
type Options struct {
	// Framework is "sglang", "vllm" or "trtllm".
	Framework string
	// Stage is "decode" or "extend": it picks the step annotations and the
	// kernel durations.
	Stage string
	// TargetBytes is the approximate size of the JSON text; steps are
	// repeated until it is reached. 0 writes Steps steps.
	TargetBytes int64
	// Steps is the number of steps when TargetBytes is 0 (default 3).
	Steps int
	// Layers is the number of transformer layers per step (default 4).
	Layers int
	// Seed makes the durations reproducible.
	Seed uint64
}

// KernelTruth is what the generator knows about one kernel name.
type KernelTruth struct {
	// Name is the kernel name exactly as the trace writes it; the analysis
	// shows it under its canonical form (analyzer.CanonicalKernelName).
	Name     string `json:"name"`
	Category string `json:"category"`
	TotalNS  int64  `json:"total_ns"`
	Launches int    `json:"launches"`
	Path     string `json:"path"` // repo-relative launch site
	Line     int    `json:"line"`
	Function string `json:"function"`
	CPUOp    string `json:"cpu_op"`
	Stream   int    `json:"stream"`
}

// Truth is the ground truth of a generated trace.
type Truth struct {
	Framework string        `json:"framework"`
	Stage     string        `json:"stage"`
	Steps     int           `json:"steps"`
	Events    int           `json:"events"`
	Bytes     int64         `json:"bytes"`
	Kernels   []KernelTruth `json:"kernels"` // sorted by total time, descending
}

// ErrOptions reports invalid options.
var ErrOptions = errors.New("invalid trace generator options")

// op is one model operation: a Python launch site, a CPU operator, and
// the kernel it launches.
type op struct {
	file, fn string
	line     int
	cpuOp    string
	kernel   string
	category string
	us       float64 // mean kernel duration, decode
	extendX  float64 // duration multiplier for extend
	comm     bool    // runs on the communication stream
}

type profile struct {
	root       []frame // outer frames of every step (scheduler, runner)
	layerFrame frame   // the model's decoder-layer forward
	ops        []op
	process    string
}

type frame struct {
	file, fn string
	line     int
}

func profileFor(framework string) (profile, error) {
	switch framework {
	case "sglang":
		return profile{
			process: "sglang::scheduler",
			root: []frame{
				{"python/sglang/srt/managers/scheduler.py", "event_loop_overlap", 1012},
				{"python/sglang/srt/managers/tp_worker.py", "forward_batch_generation", 301},
				{"python/sglang/srt/model_executor/model_runner.py", "forward", 2110},
				{"python/sglang/srt/models/qwen3.py", "forward", 402},
			},
			layerFrame: frame{"python/sglang/srt/models/qwen3.py", "forward", 297},
			ops: []op{
				{"python/sglang/srt/layers/layernorm.py", "forward_cuda", 177, "sgl_kernel::fused_add_rmsnorm", "void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>(__nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*, unsigned int, unsigned int, unsigned int, float, float)", "norm", 4.1, 6, false},
				{"python/sglang/srt/layers/linear.py", "forward", 1391, "aten::mm", "nvjet_tst_128x64_64x8_2x1_v_bz_coopA_NNT", "gemm", 14.5, 20, false},
				{"python/sglang/srt/layers/rotary_embedding.py", "forward_cuda", 224, "sgl_kernel::apply_rope_pos_ids_cos_sin_cache", "void flashinfer::BatchQKApplyRotaryPosIdsCosSinCacheKernel<true, 128u, 8u, 16u, __nv_bfloat16, long>(__nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*, float*, long*, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int)", "rope", 3.2, 8, false},
				{"python/sglang/srt/mem_cache/memory_pool.py", "set_kv_buffer", 604, "sgl_kernel::store_kvcache", "void (anonymous namespace)::store_kvcache<2048l, 4, false, long>(void*, void const*, long const*, long, long)", "kv_cache", 2.2, 10, false},
				{"python/sglang/srt/layers/attention/flashinfer_backend.py", "forward_decode", 690, "BatchDecodeWithPagedKVCacheRun", "void flashinfer::BatchDecodeWithPagedKVCacheKernel<(flashinfer::PosEncodingMode)0, 2u, 4u, 8u, 16u, 1u, 8u, flashinfer::DefaultAttention<false, false, false, false>, flashinfer::DecodeParams<__nv_bfloat16, __nv_bfloat16, __nv_bfloat16, int> >(flashinfer::DecodeParams<__nv_bfloat16, __nv_bfloat16, __nv_bfloat16, int>)", "attention", 21.0, 30, false},
				{"python/sglang/srt/layers/linear.py", "forward", 1391, "aten::mm", "nvjet_tst_64x32_64x16_4x1_v_bz_TNT", "gemm", 9.8, 20, false},
				{"python/sglang/srt/distributed/parallel_state.py", "_all_reduce_out_place", 520, "sglang::outplace_all_reduce", "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)", "communication", 11.0, 8, true},
				{"python/sglang/srt/layers/layernorm.py", "forward_cuda", 177, "sgl_kernel::fused_add_rmsnorm", "void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>(__nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*, unsigned int, unsigned int, unsigned int, float, float)", "norm", 4.1, 6, false},
				{"python/sglang/srt/layers/linear.py", "forward", 1391, "aten::mm", "nvjet_tst_192x128_64x4_2x1_v_bz_coopB_NNT", "gemm", 24.0, 22, false},
				{"python/sglang/srt/layers/activation.py", "forward_cuda", 77, "sgl_kernel::silu_and_mul", "void flashinfer::activation::act_and_mul_kernel<__nv_bfloat16, &(silu(float const&))>(__nv_bfloat16*, __nv_bfloat16 const*, int)", "activation", 3.9, 10, false},
				{"python/sglang/srt/layers/linear.py", "forward", 1391, "aten::mm", "nvjet_tst_128x64_64x8_2x1_v_bz_coopA_TNT", "gemm", 17.5, 22, false},
			},
		}, nil
	case "vllm":
		return profile{
			process: "VllmWorker",
			root: []frame{
				{"vllm/v1/engine/core.py", "step", 291},
				{"vllm/v1/worker/gpu_worker.py", "execute_model", 447},
				{"vllm/v1/worker/gpu_model_runner.py", "_model_forward", 3102},
				{"vllm/model_executor/models/qwen3.py", "forward", 310},
			},
			layerFrame: frame{"vllm/model_executor/models/qwen3.py", "forward", 236},
			ops: []op{
				{"vllm/model_executor/layers/layernorm.py", "forward_cuda", 203, "_C::fused_add_rms_norm", "void vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16*, long, c10::BFloat16*, c10::BFloat16 const*, float, int, int)", "norm", 4.0, 6, false},
				{"vllm/model_executor/layers/utils.py", "default_unquantized_gemm", 109, "aten::mm", "nvjet_tst_128x64_64x8_2x1_v_bz_coopA_NNT", "gemm", 14.0, 20, false},
				{"vllm/model_executor/layers/rotary_embedding/base.py", "forward_cuda", 127, "_C::rotary_embedding", "void vllm::rotary_embedding_kernel<c10::BFloat16, true>(long const*, c10::BFloat16*, c10::BFloat16*, c10::BFloat16 const*, int, long, long, long, int, int, int)", "rope", 3.0, 8, false},
				{"vllm/v1/attention/backends/flash_attn.py", "do_kv_cache_update", 611, "_C_cache_ops::reshape_and_cache_flash", "void vllm::reshape_and_cache_flash_kernel<__nv_bfloat16, __nv_bfloat16, (vllm::Fp8KVCacheDataType)0>(__nv_bfloat16 const*, __nv_bfloat16 const*, __nv_bfloat16*, __nv_bfloat16*, long const*, long, long, long, long, long, int, int, int, float const*, float const*)", "kv_cache", 2.4, 10, false},
				{"vllm/vllm_flash_attn/flash_attn_interface.py", "flash_attn_varlen_func", 300, "_vllm_fa3_C::fwd", "void flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128, 64, 128, 4, false, false, cutlass::bfloat16_t, Flash_kernel_traits<128, 64, 128, 4, cutlass::bfloat16_t> >, false, false, false, false, true, true, false, false>(flash::Flash_fwd_params)", "attention", 19.0, 30, false},
				{"vllm/model_executor/layers/utils.py", "default_unquantized_gemm", 109, "aten::mm", "nvjet_tst_64x32_64x16_4x1_v_bz_TNT", "gemm", 9.5, 20, false},
				{"vllm/distributed/device_communicators/pynccl.py", "all_reduce", 127, "vllm::all_reduce", "ncclDevKernel_AllReduce_Sum_bf16_RING_LL(ncclDevKernelArgsStorage<4096ul>)", "communication", 10.5, 8, true},
				{"vllm/model_executor/layers/layernorm.py", "forward_cuda", 203, "_C::fused_add_rms_norm", "void vllm::fused_add_rms_norm_kernel<c10::BFloat16, 8>(c10::BFloat16*, long, c10::BFloat16*, c10::BFloat16 const*, float, int, int)", "norm", 4.0, 6, false},
				{"vllm/model_executor/layers/utils.py", "default_unquantized_gemm", 109, "aten::mm", "nvjet_tst_192x128_64x4_2x1_v_bz_coopB_NNT", "gemm", 23.0, 22, false},
				{"vllm/model_executor/layers/activation.py", "forward_cuda", 142, "_C::silu_and_mul", "void vllm::act_and_mul_kernel<c10::BFloat16, &(c10::BFloat16 vllm::silu_kernel<c10::BFloat16>(c10::BFloat16 const&)), true>(c10::BFloat16*, c10::BFloat16 const*, int)", "activation", 3.8, 10, false},
				{"vllm/model_executor/layers/utils.py", "default_unquantized_gemm", 109, "aten::mm", "nvjet_tst_128x64_64x8_2x1_v_bz_coopA_TNT", "gemm", 17.0, 22, false},
			},
		}, nil
	case "trtllm":
		return profile{
			process: "trtllm::PyExecutor",
			root: []frame{
				{"tensorrt_llm/_torch/pyexecutor/py_executor.py", "_executor_loop", 1402},
				{"tensorrt_llm/_torch/pyexecutor/model_engine.py", "forward", 2315},
				{"tensorrt_llm/_torch/models/modeling_qwen3.py", "forward", 205},
			},
			layerFrame: frame{"tensorrt_llm/_torch/models/modeling_qwen3.py", "forward", 150},
			ops: []op{
				{"tensorrt_llm/_torch/modules/rms_norm.py", "forward", 88, "trtllm::flashinfer_fused_add_rmsnorm", "void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>(__nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*, unsigned int, unsigned int, unsigned int, float, float)", "norm", 4.0, 6, false},
				{"tensorrt_llm/_torch/modules/linear.py", "apply_linear", 245, "aten::mm", "nvjet_tst_128x64_64x8_2x1_v_bz_coopA_NNT", "gemm", 14.2, 20, false},
				{"tensorrt_llm/_torch/attention_backend/trtllm.py", "run", 512, "trtllm::attention_inplace", "void tensorrt_llm::kernels::mmha::masked_multihead_attention_kernel<__nv_bfloat16, __nv_bfloat16, 128, 128, 256, false, false, false>(tensorrt_llm::kernels::Multihead_attention_params<__nv_bfloat16, false>)", "attention", 22.0, 30, false},
				{"tensorrt_llm/_torch/modules/linear.py", "apply_linear", 245, "aten::mm", "nvjet_tst_64x32_64x16_4x1_v_bz_TNT", "gemm", 9.6, 20, false},
				{"tensorrt_llm/_torch/distributed/ops.py", "allreduce", 611, "trtllm::allreduce", "void tensorrt_llm::kernels::ar_fusion::allreduce_fusion_kernel_oneshot_lamport<__nv_bfloat16, 2, true>(tensorrt_llm::kernels::ar_fusion::AllReduceFusionParams)", "communication", 9.0, 8, true},
				{"tensorrt_llm/_torch/modules/linear.py", "apply_linear", 245, "aten::mm", "nvjet_tst_192x128_64x4_2x1_v_bz_coopB_NNT", "gemm", 23.5, 22, false},
				{"tensorrt_llm/_torch/custom_ops/flashinfer_custom_ops.py", "flashinfer_silu_and_mul", 32, "trtllm::flashinfer_silu_and_mul", "void flashinfer::activation::act_and_mul_kernel<__nv_bfloat16, &(silu(float const&))>(__nv_bfloat16*, __nv_bfloat16 const*, int)", "activation", 3.9, 10, false},
				{"tensorrt_llm/_torch/modules/linear.py", "apply_linear", 245, "aten::mm", "nvjet_tst_128x64_64x8_2x1_v_bz_coopA_TNT", "gemm", 17.2, 22, false},
			},
		}, nil
	}
	return profile{}, fmt.Errorf("%w: framework %q: use sglang, vllm or trtllm", ErrOptions, framework)
}

// Write writes a trace to w and returns its ground truth.
func Write(w io.Writer, opts Options) (*Truth, error) {
	p, err := profileFor(opts.Framework)
	if err != nil {
		return nil, err
	}
	if opts.Stage == "" {
		opts.Stage = "decode"
	}
	if opts.Stage != "decode" && opts.Stage != "extend" {
		return nil, fmt.Errorf("%w: stage %q: use decode or extend", ErrOptions, opts.Stage)
	}
	if opts.Layers <= 0 {
		opts.Layers = 4
	}
	if opts.Steps <= 0 {
		opts.Steps = 3
	}
	if opts.TargetBytes < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrOptions)
	}
	g := &gen{
		bw:    bufio.NewWriterSize(w, 1<<20),
		p:     p,
		opts:  opts,
		rng:   rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		truth: map[string]*KernelTruth{},
		cpu:   1_700_000_000_000_000_000, // ns, a realistic epoch-based start
		tid:   4242,
	}
	g.gpu = g.cpu
	g.header()
	steps := 0
	for {
		g.step()
		steps++
		if g.err != nil {
			break // the writer failed: written stops growing
		}
		if opts.TargetBytes > 0 {
			if g.written >= opts.TargetBytes {
				break
			}
		} else if steps >= opts.Steps {
			break
		}
	}
	g.footer()
	if err := g.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write trace: %w", err)
	}
	if g.err != nil {
		return nil, fmt.Errorf("write trace: %w", g.err)
	}
	t := &Truth{Framework: opts.Framework, Stage: opts.Stage, Steps: steps, Events: g.events, Bytes: g.written}
	for _, k := range g.truth {
		t.Kernels = append(t.Kernels, *k)
	}
	sort.Slice(t.Kernels, func(i, j int) bool {
		if t.Kernels[i].TotalNS != t.Kernels[j].TotalNS {
			return t.Kernels[i].TotalNS > t.Kernels[j].TotalNS
		}
		return t.Kernels[i].Name < t.Kernels[j].Name
	})
	return t, nil
}

type gen struct {
	bw      *bufio.Writer
	p       profile
	opts    Options
	rng     *rand.Rand
	truth   map[string]*KernelTruth
	cpu     int64 // CPU clock, ns
	gpu     int64 // end of the last kernel on the compute stream, ns
	commEnd int64 // end of the last kernel on the communication stream
	tid     int
	extID   int64
	corr    int64
	pyID    int64
	events  int
	first   bool
	written int64
	err     error
	buf     []byte
}

const (
	pid          = 4242
	computeStrm  = 7
	commStream   = 13
	launchCostNS = 5_000
)

func (g *gen) write(b []byte) {
	if g.err != nil {
		return
	}
	n, err := g.bw.Write(b)
	g.written += int64(n)
	g.err = err
}

func (g *gen) header() {
	g.write([]byte(`{
  "schemaVersion": 1,
  "deviceProperties": [
    {
      "id": 0, "name": "NVIDIA H100 80GB HBM3", "totalGlobalMem": 85045379072,
      "computeMajor": 9, "computeMinor": 0,
      "maxThreadsPerBlock": 1024, "maxThreadsPerMultiprocessor": 2048,
      "regsPerBlock": 65536, "warpSize": 32,
      "sharedMemPerBlock": 49152, "numSms": 132
    }
  ],
  "with_stack": 1,
  "distributedInfo": {"backend": "nccl", "rank": 0, "world_size": 2},
  "displayTimeUnit": "ms",
  "traceEvents": [`))
	g.first = true
	g.meta("process_name", pid, 0, g.p.process)
	g.meta("thread_name", pid, g.tid, "python")
	g.meta("process_name", 0, 0, "GPU 0")
	g.meta("thread_name", 0, computeStrm, "stream 7")
	g.meta("thread_name", 0, commStream, "stream 13")
}

func (g *gen) footer() {
	g.write([]byte("\n],\n  \"traceName\": \"synthetic.pt.trace.json\"\n}\n"))
}

func (g *gen) sep() {
	if g.first {
		g.first = false
		return
	}
	g.write([]byte(","))
}

func appendTS(b []byte, ns int64) []byte {
	b = strconv.AppendInt(b, ns/1000, 10)
	b = append(b, '.')
	f := ns % 1000
	b = append(b, byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	return b
}

func (g *gen) meta(name string, p, t int, value string) {
	g.sep()
	b := g.buf[:0]
	b = append(b, "\n  {\n    \"name\": \""...)
	b = append(b, name...)
	b = append(b, "\", \"ph\": \"M\", \"ts\": 0, \"pid\": "...)
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, ", \"tid\": "...)
	b = strconv.AppendInt(b, int64(t), 10)
	b = append(b, ",\n    \"args\": {\n      \"name\": "...)
	b = strconv.AppendQuote(b, value)
	b = append(b, "\n    }\n  }"...)
	g.buf = b
	g.write(b)
	g.events++
}

// complete writes an "X" event; args is the text inside "args": { }.
func (g *gen) complete(cat, name string, p, t int, ts, dur int64, args []byte) {
	g.sep()
	b := g.buf[:0]
	b = append(b, "\n  {\n    \"ph\": \"X\", \"cat\": \""...)
	b = append(b, cat...)
	b = append(b, "\", \"name\": "...)
	b = strconv.AppendQuote(b, name)
	b = append(b, ", \"pid\": "...)
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, ", \"tid\": "...)
	b = strconv.AppendInt(b, int64(t), 10)
	b = append(b, ",\n    \"ts\": "...)
	b = appendTS(b, ts)
	b = append(b, ", \"dur\": "...)
	b = appendTS(b, dur)
	b = append(b, ",\n    \"args\": {\n      "...)
	b = append(b, args...)
	b = append(b, "\n    }\n  }"...)
	g.buf = b
	g.write(b)
	g.events++
}

func (g *gen) flow(ph string, id int64, p, t int, ts int64) {
	g.sep()
	b := g.buf[:0]
	b = append(b, "\n  {\n    \"ph\": \""...)
	b = append(b, ph...)
	b = append(b, "\", \"id\": "...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, ", \"pid\": "...)
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, ", \"tid\": "...)
	b = strconv.AppendInt(b, int64(t), 10)
	b = append(b, ", \"ts\": "...)
	b = appendTS(b, ts)
	b = append(b, ",\n    \"cat\": \"ac2g\", \"name\": \"ac2g\""...)
	if ph == "f" {
		b = append(b, ", \"bp\": \"e\""...)
	}
	b = append(b, "\n  }"...)
	g.buf = b
	g.write(b)
	g.events++
}

func (g *gen) pyFrame(f frame, ts, dur int64, parent int64) int64 {
	g.pyID++
	args := make([]byte, 0, 64)
	args = append(args, "\"Python parent id\": "...)
	if parent == 0 {
		args = append(args, "null"...)
	} else {
		args = strconv.AppendInt(args, parent, 10)
	}
	args = append(args, ", \"Python id\": "...)
	args = strconv.AppendInt(args, g.pyID, 10)
	g.complete("python_function", f.file+"("+strconv.Itoa(f.line)+"): "+f.fn, pid, g.tid, ts, dur, args)
	return g.pyID
}

// step writes one serving step: an annotation, the outer Python frames and
// every layer's operations.
func (g *gen) step() {
	start := g.cpu
	perOp := int64(30_000) // CPU time per op, ns
	layerDur := perOp * int64(len(g.p.ops))
	total := layerDur*int64(g.opts.Layers) + 20_000
	annot := "step[DECODE bs=16]"
	if g.opts.Stage == "extend" {
		annot = "step[EXTEND bs=4 toks=4096]"
	}
	switch g.opts.Framework {
	case "vllm":
		annot = "execute_context_0(0)_generation_16(16)"
		if g.opts.Stage == "extend" {
			annot = "execute_context_4(4096)_generation_0(0)"
		}
	case "trtllm":
		annot = "generation_step"
		if g.opts.Stage == "extend" {
			annot = "context_step"
		}
	}
	g.extID++
	g.complete("user_annotation", annot, pid, g.tid, start, total, []byte(`"External id": `+strconv.FormatInt(g.extID, 10)))
	parent := int64(0)
	for i, f := range g.p.root {
		off := int64(i) * 1_000
		parent = g.pyFrame(f, start+off, total-2*off, parent)
	}
	cur := start + int64(len(g.p.root))*1_000
	for l := 0; l < g.opts.Layers; l++ {
		layerID := g.pyFrame(g.p.layerFrame, cur, layerDur-1_000, parent)
		t := cur + 500
		for _, o := range g.p.ops {
			g.op(o, t, perOp-1_000, layerID)
			t += perOp
		}
		cur += layerDur
	}
	g.cpu = start + total + 50_000
}

func (g *gen) op(o op, ts, dur int64, parent int64) {
	f := frame{o.file, o.fn, o.line}
	leaf := g.pyFrame(f, ts, dur, parent)
	g.pyID++
	g.complete("python_function", "<built-in method "+o.fn+" of PyCapsule object at 0x7f3a2c1d9e40>", pid, g.tid, ts+500, dur-1_000,
		[]byte(`"Python parent id": `+strconv.FormatInt(leaf, 10)+`, "Python id": `+strconv.FormatInt(g.pyID, 10)))
	g.extID++
	ext := g.extID
	opTS, opDur := ts+1_000, dur-2_000
	g.complete("cpu_op", o.cpuOp, pid, g.tid, opTS, opDur,
		[]byte(`"External id": `+strconv.FormatInt(ext, 10)+`, "Record function id": 0, "Ev Idx": 0`))
	g.corr++
	corr := g.corr
	launchTS := opTS + opDur - launchCostNS - 500
	g.complete("cuda_runtime", "cudaLaunchKernel", pid, g.tid, launchTS, launchCostNS,
		[]byte(`"External id": `+strconv.FormatInt(ext, 10)+`, "cbid": 211, "correlation": `+strconv.FormatInt(corr, 10)))
	g.flow("s", corr, pid, g.tid, launchTS)

	mean := o.us
	if g.opts.Stage == "extend" {
		mean *= o.extendX
	}
	kdur := int64(mean * 1000 * (0.9 + 0.2*g.rng.Float64()))
	if kdur < 1_000 {
		kdur = 1_000
	}
	stream := computeStrm
	kts := max(g.gpu, launchTS+launchCostNS)
	if o.comm {
		stream = commStream
		kts = max(g.commEnd, launchTS+launchCostNS)
		g.commEnd = kts + kdur
	} else {
		g.gpu = kts + kdur
	}
	g.complete("kernel", o.kernel, 0, stream, kts, kdur,
		[]byte(`"External id": `+strconv.FormatInt(ext, 10)+`, "queued": 0, "device": 0, "context": 1, "stream": `+
			strconv.Itoa(stream)+`, "correlation": `+strconv.FormatInt(corr, 10)+`, "registers per thread": 32, "grid": [132, 1, 1], "block": [128, 1, 1]`))
	g.flow("f", corr, 0, stream, kts)

	name := o.kernel
	kt := g.truth[name]
	if kt == nil {
		kt = &KernelTruth{Name: name, Category: o.category, Path: o.file, Line: o.line, Function: o.fn, CPUOp: o.cpuOp, Stream: stream}
		g.truth[name] = kt
	}
	kt.TotalNS += kdur
	kt.Launches++
}
