package analyzer

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
)

func TestCanonicalFramework(t *testing.T) {
	for in, want := range map[string]string{
		"": "auto", "Auto": "auto", "sgl": "sglang", " SGLang ": "sglang", "vllm": "vllm",
		"TensorRT_LLM": "trtllm", "tllm": "trtllm", "trt": "trtllm", "tensorrt-llm": "trtllm",
	} {
		if got, err := CanonicalFramework(in); err != nil || got != want {
			t.Errorf("CanonicalFramework(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := CanonicalFramework("pytorch"); err == nil {
		t.Error("CanonicalFramework(pytorch) accepted")
	}
}

func traceWithFrames(names ...string) *trace.Trace {
	tr := &trace.Trace{Strings: trace.NewStrings(), ThreadNames: map[trace.ThreadKey]trace.Str{}}
	for _, n := range names {
		tr.Frames = append(tr.Frames, trace.Frame{Name: tr.Strings.InternString(n)})
	}
	return tr
}

func TestFrameworkEvidence(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		frames []string
		want   string
	}{
		{"sglang frames beat a trtllm file name", "run_trtllm_cmp.json.gz",
			[]string{"python/sglang/srt/layers/linear.py(10): forward", "python/sglang/srt/models/qwen3.py(20): forward"}, FrameworkSGLang},
		{"nano-vllm is not vLLM", "nanovllm_rtx4080_decode.json", []string{"nanovllm/layers/linear.py(72): forward"}, FrameworkUnknown},
		{"no evidence is unknown", "trace.json", []string{"transformers/models/qwen2/modeling_qwen2.py(150): forward"}, FrameworkUnknown},
		{"file name decides without trace evidence", "vllm_b200.json", nil, FrameworkVLLM},
		{"vllm site-packages", "x.json", []string{"/usr/lib/python3/dist-packages/vllm/v1/worker/gpu_model_runner.py(3102): _model_forward"}, FrameworkVLLM},
	}
	for _, tt := range tests {
		ev := frameworkEvidence{}
		ev.addPath(tt.path)
		ev.addTrace(traceWithFrames(tt.frames...))
		if got := ev.decide(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	ev := frameworkEvidence{}
	ev.addServerArgs(&trace.ServerArgs{Raw: map[string]any{"chunked_prefill_size": 8192}})
	ev.addTrace(traceWithFrames("vllm/a.py(1): f"))
	if got := ev.decide(); got != FrameworkSGLang {
		t.Errorf("sglang server args: got %q", got)
	}
}

// Two traces of different frameworks: each is named, and the formal one
// decides the document's framework (triage-behaviour.md §11).
func TestTwoTraceFrameworks(t *testing.T) {
	data := filepath.Join("..", "testdata")
	sgl := filepath.Join(data, "sglang-decode-small.json.gz")
	vllm := filepath.Join(data, "vllm-extend-small.json.gz")
	tests := []struct {
		mapping, formal string
		want            string
		both            *TwoFrameworks
	}{
		{sgl, vllm, FrameworkVLLM, &TwoFrameworks{Mapping: FrameworkSGLang, Formal: FrameworkVLLM}},
		{vllm, sgl, FrameworkSGLang, &TwoFrameworks{Mapping: FrameworkVLLM, Formal: FrameworkSGLang}},
		{sgl, sgl, FrameworkSGLang, nil},
	}
	for _, tc := range tests {
		doc, err := Analyze(context.Background(), Options{MappingInput: tc.mapping, FormalInput: tc.formal})
		if err != nil {
			t.Fatal(err)
		}
		if doc.Framework != tc.want || !reflect.DeepEqual(doc.Frameworks, tc.both) {
			t.Errorf("%s + %s: framework %q, frameworks %+v; want %q, %+v",
				filepath.Base(tc.mapping), filepath.Base(tc.formal), doc.Framework, doc.Frameworks, tc.want, tc.both)
		}
	}
}
