package overlap

import (
	"runtime"
	"strings"
	"sync"
)

// Overlap categories returned by Classify.
const (
	Compute       = "compute"
	Communication = "communication"
	Memory        = "memory"
	Elementwise   = "elementwise"
	Other         = "other"
)

// categoryPriority ranks categories when several kernels on other streams
// overlap one kernel: the "dominant overlapper" is the one with the highest
// priority (then the longest).
var categoryPriority = map[string]int{
	Compute:       4,
	Communication: 3,
	Memory:        2,
	Elementwise:   1,
	Other:         0,
}

var (
	memoryStrong = []string{"memcpy", "memset"}
	// memoryHint words are memory only when the name does not look like
	// compute: mangled GEMM names contain "dma" by accident, and CUTLASS
	// templates name their prefetch stages.
	memoryHint = []string{"dma", "prefetch"}
	memoryWeak = []string{"fill", "copy"}

	// commStrong is the reference list plus the collective libraries and
	// kernels it misses (RCCL, DeepEP's deep_ep namespace, symmetric-memory
	// multimem all-reduce, NCCL send/recv, quick-reduce, MSCCL++).
	commStrong = []string{
		"allreduce", "all_reduce", "reduce_scatter", "allgather", "all_gather",
		"nccl", "rccl", "cross_device_reduce", "deepep", "deep_ep", "a2a",
		"alltoall", "all_to_all", "allreduce_fusion", "mooncake", "multimem",
		"sendrecv", "quickreduce", "mscclpp",
	}
	commWeak = []string{"broadcast", "dispatch", "combine"}
	// commWeakVeto: names that hit a weak communication word but are MoE
	// routing or local token permutation, not communication.
	commWeakVeto = []string{"routing", "moe", "expert", "topk"}

	// computeWords are matched against the kernel name with its template
	// arguments removed. The reference's bare "flash" (which swept in every
	// flashinfer norm/activation/sampling kernel) is replaced by the
	// FlashAttention spellings, and cuBLASLt nvjet_* and ROCm Tensile Cijk_*
	// GEMMs are added. "conv" is matched separately (convertKernel is not a
	// convolution).
	computeWords = []string{
		"cublas", "cudnn", "cutlass", "triton", "gemm", "gemv", "matmul",
		"grouped_mm", "attention", "fmha", "marlin", "fused_moe", "moe_kernel",
		"groupgemm", "mma", "wgmma", "bmm", "mm_kernel", "nvjet", "cijk_",
		"flash_attn", "flashattn", "flash_fwd", "flash_bwd", "flash::",
		"flashattention", "flash_attention", "flash_mla", "flashmla",
		"withpagedkvcache", "withraggedkvcache", "withkvcache",
	}

	// normWords are normalisation kernels; they are elementwise even when
	// their name also carries a compute word (flashinfer's CuTe DSL norms
	// are named kernel_cutlass_kernel_flashinfer...rmsnorm...).
	normWords = []string{"rmsnorm", "layernorm", "rms_norm", "layer_norm"}

	elementwiseWords = []string{
		"sigmoid", "silu", "gelu", "relu", "softmax", "layernorm", "rmsnorm",
		"norm", "rotary", "rope", "topk", "gate", "bias", "_cast", "index",
		"gather", "scatter", "masked", "elementwise", "activation",
	}

	// inductorElementwise are the name prefixes TorchInductor gives its
	// generated pointwise and reduction Triton kernels.
	inductorElementwise = []string{"triton_poi_", "triton_red_", "triton_per_"}
)

// Classify returns the overlap category of a kernel name: "compute",
// "communication", "memory", "elementwise" or "other" (spec §9.2, with the
// deliberate differences listed in docs/overlap.md). The first matching rule
// wins: memory (memcpy, memset; dma, prefetch unless compute), communication (NCCL, all-reduce...),
// TorchInductor pointwise/reduction kernels and normalisation kernels
// (elementwise), compute (GEMM, attention...), elementwise words, weak memory
// words (fill, copy) and weak communication words (broadcast, dispatch,
// combine; not for MoE routing) outside template arguments, then other.
// Compute words are matched outside template arguments too.
func Classify(name string) string {
	lowered := strings.ToLower(name)
	base := stripTemplateArgs(lowered)
	computeLike := isComputeName(base)
	switch {
	case containsAny(lowered, memoryStrong):
		return Memory
	case containsAny(base, memoryHint) && !computeLike:
		return Memory
	case containsAny(lowered, commStrong):
		return Communication
	case hasAnyPrefix(lowered, inductorElementwise):
		return Elementwise
	case containsAny(lowered, normWords):
		return Elementwise
	case computeLike:
		return Compute
	case containsAny(lowered, elementwiseWords):
		return Elementwise
	case containsAny(base, memoryWeak):
		return Memory
	case containsAny(base, commWeak) && !containsAny(lowered, commWeakVeto):
		return Communication
	}
	return Other
}

// isComputeName reports whether a lower-cased name without template
// arguments names a compute kernel.
func isComputeName(base string) bool {
	if containsAny(base, computeWords) {
		return true
	}
	// "conv" (convolution) but not "convert".
	for s := base; ; {
		i := strings.Index(s, "conv")
		if i < 0 {
			return false
		}
		if !strings.HasPrefix(s[i:], "convert") {
			return true
		}
		s = s[i+len("convert"):]
	}
}

// stripTemplateArgs removes balanced <...> spans from a kernel name, so
// that words inside template arguments (cutlass::bfloat16_t,
// FillFunctor...) do not decide whether the kernel itself is compute.
func stripTemplateArgs(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			depth++
		case c == '>' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// classifyAll returns the category of every kernel and whether it is
// copy-engine work (isCopyEngine), classifying each distinct name once
// per range; large stages are cut into ranges classified on GOMAXPROCS
// goroutines.
func classifyAll(kernels []Kernel) (cats []string, copyEngine []bool) {
	n := len(kernels)
	cats, copyEngine = make([]string, n), make([]bool, n)
	parts := min(runtime.GOMAXPROCS(0), n/minClassifyRange)
	if parts < 2 {
		classifyRange(kernels, cats, copyEngine)
		return cats, copyEngine
	}
	var wg sync.WaitGroup
	for r := range parts {
		lo, hi := r*n/parts, (r+1)*n/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			classifyRange(kernels[lo:hi], cats[lo:hi], copyEngine[lo:hi])
		}()
	}
	wg.Wait()
	return cats, copyEngine
}

// minClassifyRange is the fewest kernels classifyAll gives a goroutine.
const minClassifyRange = 16384

// classifyRange fills cats and copyEngine for kernels (same lengths).
func classifyRange(kernels []Kernel, cats []string, copyEngine []bool) {
	type class struct {
		cat string
		ce  bool
	}
	cache := map[string]class{}
	// A few names alternate (a decode step's kernels): recent is a small
	// cache in front of the map, cheaper than hashing names.
	var recent [64]struct {
		name string
		c    class
		ok   bool
	}
	var last class
	for i := range kernels {
		name := kernels[i].Name
		if i == 0 || name != kernels[i-1].Name {
			slot := &recent[nameSlot(name)]
			if !slot.ok || slot.name != name {
				c, ok := cache[name]
				if !ok {
					c = class{Classify(name), isCopyEngine(name)}
					cache[name] = c
				}
				slot.name, slot.c, slot.ok = name, c, true
			}
			last = slot.c
		}
		cats[i], copyEngine[i] = last.cat, last.ce
	}
}
