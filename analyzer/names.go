package analyzer

import (
	"strconv"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// CanonicalKernelName is the row key of a kernel: see
// trace.CanonicalKernelName, which the trace generator shares.
func CanonicalKernelName(name string) string { return trace.CanonicalKernelName(name) }

// pathMarkers are the repository roots that path normalisation cuts at, in
// the order the reference searches them (triage-behaviour.md §7.1).
var pathMarkers = []struct{ marker, out string }{
	{"python/sglang/", "python/sglang/"},
	{"sgl_kernel/", "sgl_kernel/"},
	{"vllm/", "vllm/"},
	{"tensorrt_llm/", "tensorrt_llm/"},
	{"tensorrt-llm/", "tensorrt_llm/"},
}

// NormalizePath makes a Python source path repository-relative
// (triage-behaviour.md §7.1): it cuts at the first framework marker
// (python/sglang/, sgl_kernel/, vllm/, tensorrt_llm/), maps a bare sglang/
// package to python/sglang/, and otherwise drops a leading '/'.
//
// A marker counts only at the start of a path segment, so a
// "nanovllm/layers/linear.py" frame stays "nanovllm/layers/linear.py"
// instead of becoming the non-existent "vllm/layers/linear.py"
// (docs/differences.md).
func NormalizePath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	lower := strings.ToLower(p)
	for _, m := range pathMarkers {
		if i := segmentIndex(lower, m.marker); i >= 0 {
			return m.out + p[i+len(m.marker):]
		}
	}
	if i := segmentIndex(lower, "sglang/"); i >= 0 {
		return "python/" + p[i:]
	}
	return strings.TrimLeft(p, "/")
}

// segmentIndex finds the first occurrence of sub in s that starts a path
// segment (at 0 or after '/').
func segmentIndex(s, sub string) int {
	from := 0
	for {
		i := strings.Index(s[from:], sub)
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || s[i-1] == '/' {
			return i
		}
		from = i + 1
	}
}

// frameInfo is what the analysis needs of one Python frame name.
type frameInfo struct {
	raw      string
	location string // "path:line func", or the raw name when not in frame shape
	path     string // normalised; "" when the name is not "path(line): func"
	line     int
	function string
	priority int // launch-site priority (triage-behaviour.md §7.3)
	source   int // source-location priority of the location
	// shown: framework code and not a wrapper, so it is the line shown
	// when it is the chosen frame.
	shown bool
}

// parseFrame splits "path(line): func" and normalises it.
func parseFrame(raw string) frameInfo {
	fi := frameInfo{raw: raw, location: raw, function: raw}
	if open := strings.Index(raw, ".py("); open >= 0 {
		rest := raw[open+4:]
		if close := strings.Index(rest, "): "); close > 0 {
			if n, err := strconv.Atoi(rest[:close]); err == nil {
				fi.path = NormalizePath(raw[:open+3])
				fi.line = n
				fi.function = rest[close+3:]
				fi.location = fi.path + ":" + strconv.Itoa(n) + " " + fi.function
			}
		}
	}
	fi.priority = framePriority(raw, fi.location)
	fi.source = sourcePriority(fi.location)
	fi.shown = PreferredPath(fi.location) && !lowSignal(fi.location)
	return fi
}

var lowSignalFunctionTokens = []string{
	"__torch_function__", "__torch_dispatch__", "__call__", "_call_impl", "_wrapped_call_impl",
}

var lowSignalPathTokens = []string{
	"model_executor/parameter.py:", "model_executor/cuda_graph_runner.py:", "compilation/cuda_graph.py:",
	"pyexecutor/cuda_graph_runner.py:", "pyexecutor/py_executor.py:", "_torch/utils.py:",
	"torch/fx/graph_module.py:",
}

// lowSignal reports whether a normalised location is a wrapper rather than
// a real launch site (triage-behaviour.md §7.2).
func lowSignal(location string) bool {
	lower := strings.ToLower(location)
	for _, t := range lowSignalFunctionTokens {
		if strings.Contains(lower, strings.ToLower(t)) {
			return true
		}
	}
	for _, t := range lowSignalPathTokens {
		if strings.Contains(lower, t) {
			return true
		}
	}
	return false
}

var noisePrefixes = []string{
	"threading.py(", "multiprocessing/", "contextlib.py(", "torch/utils/_contextlib.py(", "runpy.py(",
	"asyncio/", "selectors.py(", "queue.py(", "socket.py(", "tqdm/_monitor.py(", "<string>(", "<built-in method ",
}

// frameworkRanks are the priorities both rankings give a location under a
// serving framework's source tree (triage-behaviour.md §7.3).
var frameworkRanks = []struct {
	prefix string
	rank   int
}{
	{"python/sglang/", 300}, {"sglang/", 290}, {"vllm/", 285}, {"tensorrt_llm/", 280}, {"sgl_kernel/", 260},
}

// frameworkRank ranks a normalised location under a framework's tree,
// less the low-signal penalty; ok is false outside every framework tree.
func frameworkRank(norm string) (rank int, ok bool) {
	for _, f := range frameworkRanks {
		if strings.HasPrefix(norm, f.prefix) {
			return f.rank - lowSignalPenalty(norm), true
		}
	}
	return 0, false
}

// lowSignalPenalty is what a low-signal location loses in either ranking.
func lowSignalPenalty(location string) int {
	if lowSignal(location) {
		return 80
	}
	return 0
}

// framePriority ranks a frame as a launch site (triage-behaviour.md §7.3).
func framePriority(raw, norm string) int {
	for _, p := range noisePrefixes {
		if strings.HasPrefix(raw, p) {
			return -20
		}
	}
	if p, ok := frameworkRank(norm); ok {
		return p
	}
	if strings.HasPrefix(norm, "triton_kernels/") {
		return 220 - lowSignalPenalty(norm)
	}
	switch {
	case strings.HasPrefix(norm, "triton/runtime/"), strings.HasPrefix(norm, "triton/backends/"),
		strings.HasPrefix(norm, "torch/_ops.py"), strings.HasPrefix(norm, "torch/nn/modules/module.py"):
		return 0
	case strings.HasPrefix(raw, "/data/") || strings.HasPrefix(raw, "/Users/"):
		switch {
		case strings.Contains(raw, "/sglang/"):
			return 120
		case strings.Contains(raw, "/vllm/"):
			return 118
		case strings.Contains(raw, "/TensorRT-LLM/") || strings.Contains(raw, "/tensorrt_llm/"):
			return 116
		}
		return 100
	case strings.Contains(raw, ".py(") && strings.Contains(raw, "/sglang/"):
		return 110
	case strings.Contains(raw, ".py(") && strings.Contains(raw, "/vllm/"):
		return 108
	case strings.Contains(raw, ".py(") && (strings.Contains(raw, "/TensorRT-LLM/") || strings.Contains(raw, "/tensorrt_llm/")):
		return 106
	case strings.Contains(norm, ".py:") && (strings.Contains(raw, "site-packages") || strings.HasPrefix(norm, "torch/")):
		return 45
	case strings.Contains(norm, ".py:"):
		return 35
	}
	return 0
}

// sourcePriority ranks a candidate site location (triage-behaviour.md §7.3,
// "source-location priority").
func sourcePriority(location string) int {
	if location == "" || location == "unresolved" {
		return -100
	}
	if p, ok := frameworkRank(location); ok {
		return p
	}
	penalty := lowSignalPenalty(location)
	switch {
	case strings.HasPrefix(location, "python/"):
		return 180 - penalty
	case generatedCode(location):
		return 0
	case strings.HasPrefix(location, "torch/") || strings.Contains(location, "/torch/") || kernelLibrary(location):
		return 20
	case strings.Contains(location, ".py:"):
		return 120 - penalty
	}
	return 0
}

// kernelLibraries are packages that wrap kernels for the model code that
// calls them: a frame inside one is the how, not the where.
var kernelLibraries = []string{"flash_attn/", "flashinfer/", "xformers/", "triton/"}

func kernelLibrary(location string) bool {
	for _, l := range kernelLibraries {
		if strings.HasPrefix(location, l) || strings.Contains(location, "/"+l) {
			return true
		}
	}
	return false
}

// generatedCode reports code written at run time by torch.compile
// (Inductor's cache directory): no one can open that line.
func generatedCode(location string) bool {
	return strings.Contains(location, "torchinductor_")
}

// PreferredPath reports whether a repository-relative path belongs to a
// serving framework's own source (python/sglang/, sglang/, vllm/,
// tensorrt_llm/, sgl_kernel/): the sites the Triage View shows first.
func PreferredPath(path string) bool {
	for _, p := range []string{"python/sglang/", "sglang/", "vllm/", "tensorrt_llm/", "sgl_kernel/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
