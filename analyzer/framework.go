package analyzer

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

// Framework names as the document writes them.
const (
	FrameworkAuto    = "auto"
	FrameworkSGLang  = "sglang"
	FrameworkVLLM    = "vllm"
	FrameworkTRTLLM  = "trtllm"
	FrameworkUnknown = "unknown"
)

// ErrBadFramework: a --framework value that names no supported framework.
var ErrBadFramework = errors.New("unknown framework")

// CanonicalFramework maps a user's framework name and its aliases
// (triage-behaviour.md §3.1) to auto, sglang, vllm or trtllm. Case,
// surrounding space and '_' versus '-' do not matter. Unlike the
// reference, an unrecognised name is an error rather than a silent "auto".
func CanonicalFramework(s string) (string, error) {
	key := strings.ReplaceAll(strings.ToLower(strings.Join(strings.Fields(s), " ")), "_", "-")
	switch key {
	case "", "auto":
		return FrameworkAuto, nil
	case "sglang", "sgl":
		return FrameworkSGLang, nil
	case "vllm":
		return FrameworkVLLM, nil
	case "trt", "tllm", "trtllm", "tensorrt-llm", "tensorrtllm", "trt-llm":
		return FrameworkTRTLLM, nil
	}
	return "", fmt.Errorf("%w %q: use auto, sglang, vllm or trtllm (aliases: sgl, trt, tllm, tensorrt-llm)", ErrBadFramework, s)
}

// FrameworkDisplayName is how the Triage View names a framework.
func FrameworkDisplayName(fw string) string {
	switch fw {
	case FrameworkSGLang:
		return "SGLang"
	case FrameworkVLLM:
		return "vLLM"
	case FrameworkTRTLLM:
		return "TensorRT-LLM"
	}
	return fw
}

// sglangServerArgKeys are keys only SGLang's server arguments have.
var sglangServerArgKeys = []string{"attention_backend", "sampling_backend", "disable_cuda_graph",
	"disable_piecewise_cuda_graph", "chunked_prefill_size", "schedule_policy"}

// Evidence weights: server arguments are the server's own statement; code
// paths and operator namespaces in the trace are what actually ran. A file
// or directory name is a label someone typed: it decides only when the
// server arguments and the trace hold no evidence at all.
const (
	weightServerArgs = 1000
	weightTraceName  = 1 // per distinct frame, operator or thread name
)

// pathHintKey holds the votes of file and directory names, apart from the
// rest.
const pathHintKey = "path:"

// frameworkEvidence accumulates votes per framework.
type frameworkEvidence map[string]int

// textFramework is the reference's text hint (triage-behaviour.md §3.2)
// with word boundaries: "nanovllm" is not vLLM.
func textFramework(text string) string {
	t := strings.ToLower(text)
	switch {
	case containsWord(t, "tensorrt_llm") || containsWord(t, "tensorrt-llm") || containsWord(t, "trtllm") ||
		containsWord(t, "pyexecutor"):
		return FrameworkTRTLLM
	case containsWord(t, "vllm"):
		return FrameworkVLLM
	case containsWord(t, "sglang") || containsWord(t, "sgl_kernel"):
		return FrameworkSGLang
	}
	return ""
}

// containsWord reports whether w occurs in s not preceded or followed by a
// letter or digit ('_' and '-' separate words here, so "sglang_b300" and
// "tp8_trtllm" match but "nanovllm" does not).
func containsWord(s, w string) bool {
	from := 0
	for {
		i := strings.Index(s[from:], w)
		if i < 0 {
			return false
		}
		i += from
		before := i == 0 || !isAlnum(s[i-1])
		j := i + len(w)
		after := j == len(s) || !isAlnum(s[j])
		if before && after {
			return true
		}
		from = i + 1
	}
}

func isAlnum(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// nameFramework recognises a framework from one frame, operator or thread
// name of the trace: a normalised source path or an operator namespace.
func nameFramework(name string, isFrame bool) string {
	if isFrame {
		fi := parseFrame(name)
		if fi.path == "" {
			return ""
		}
		switch {
		case strings.HasPrefix(fi.path, "python/sglang/") || strings.HasPrefix(fi.path, "sgl_kernel/"):
			return FrameworkSGLang
		case strings.HasPrefix(fi.path, "vllm/"):
			return FrameworkVLLM
		case strings.HasPrefix(fi.path, "tensorrt_llm/"):
			return FrameworkTRTLLM
		}
		return ""
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "sgl_kernel::") || strings.HasPrefix(lower, "sglang::") ||
		strings.HasPrefix(lower, "sglang_profiler::"):
		return FrameworkSGLang
	case strings.HasPrefix(lower, "vllm::") || strings.HasPrefix(lower, "_c_cache_ops::") ||
		strings.HasPrefix(lower, "_vllm_fa"):
		return FrameworkVLLM
	case strings.HasPrefix(lower, "trtllm::") || strings.HasPrefix(lower, "tensorrt_llm::"):
		return FrameworkTRTLLM
	}
	return ""
}

// addTrace votes with the distinct frame names, CPU operator names and
// thread names of a trace.
func (e frameworkEvidence) addTrace(t *trace.Trace) {
	seen := map[trace.Str]bool{}
	vote := func(id trace.Str, isFrame bool) {
		if seen[id] {
			return
		}
		seen[id] = true
		if fw := nameFramework(t.S(id), isFrame); fw != "" {
			e[fw] += weightTraceName
		}
	}
	for i := range t.Frames {
		vote(t.Frames[i].Name, true)
	}
	for i := range t.CPUOps {
		vote(t.CPUOps[i].Name, false)
	}
	for _, name := range t.ThreadNames {
		if fw := textFramework(t.S(name)); fw != "" && !seen[name] {
			seen[name] = true
			e[fw] += weightTraceName
		}
	}
}

// addServerArgs votes with the server's arguments (§3.2).
func (e frameworkEvidence) addServerArgs(sa *trace.ServerArgs) {
	if sa == nil || len(sa.Raw) == 0 {
		return
	}
	for k := range sa.Raw {
		for _, s := range sglangServerArgKeys {
			if strings.EqualFold(k, s) {
				e[FrameworkSGLang] += weightServerArgs
				return
			}
		}
	}
	keys := make([]string, 0, len(sa.Raw))
	for k := range sa.Raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	text := strings.Join(keys, " ")
	for _, k := range keys {
		if v, ok := sa.Raw[k].(string); ok {
			text += " " + v
		}
	}
	if fw := textFramework(text); fw != "" {
		e[fw] += weightServerArgs
	}
}

// addPath votes with the words of a trace's file and directory names.
func (e frameworkEvidence) addPath(p string) {
	if fw := textFramework(filepath.ToSlash(p)); fw != "" {
		e[pathHintKey+fw]++
	}
}

// decide returns the framework with the most evidence from server
// arguments and trace contents; when those hold none, the one the file
// names point at; else unknown. Ties go to the order sglang, vllm, trtllm.
func (e frameworkEvidence) decide() string {
	for _, prefix := range []string{"", pathHintKey} {
		best, bestScore := FrameworkUnknown, 0
		for _, fw := range []string{FrameworkSGLang, FrameworkVLLM, FrameworkTRTLLM} {
			if e[prefix+fw] > bestScore {
				best, bestScore = fw, e[prefix+fw]
			}
		}
		if bestScore > 0 {
			return best
		}
	}
	return FrameworkUnknown
}

// decideTwo decides the framework of a two-trace analysis: the formal
// trace's when the two inputs show different frameworks (doc.Frameworks
// then names both, as the reference's "Mapping framework"/"Formal
// framework" lines do), else the one their evidence together shows.
func decideTwo(doc *Document, formal, mapping frameworkEvidence) string {
	ff, mf := formal.decide(), mapping.decide()
	if ff != FrameworkUnknown && mf != FrameworkUnknown && ff != mf {
		doc.Frameworks = &TwoFrameworks{Mapping: mf, Formal: ff}
		return ff
	}
	both := frameworkEvidence{}
	for _, e := range []frameworkEvidence{formal, mapping} {
		for k, v := range e {
			both[k] += v
		}
	}
	return both.decide()
}
