package analyzer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

func analyzeFixture(t *testing.T, opts Options) *Document {
	t.Helper()
	doc, err := Analyze(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func stageByName(t *testing.T, doc *Document, name string) *Stage {
	t.Helper()
	for i := range doc.Stages {
		if doc.Stages[i].Stage == name {
			return &doc.Stages[i]
		}
	}
	t.Fatalf("no stage %s in %+v", name, doc.Stages)
	return nil
}

func rowByName(t *testing.T, st *Stage, name string) *KernelRow {
	t.Helper()
	for i := range st.Kernels {
		if st.Kernels[i].Name == name {
			return &st.Kernels[i]
		}
	}
	t.Fatalf("no kernel %q in stage %s", name, st.Stage)
	return nil
}

func TestAnalyzeFixture(t *testing.T) {
	doc := analyzeFixture(t, Options{Input: filepath.Join("testdata", "sglang-mini-TP-0.trace.json")})
	if doc.Framework != FrameworkSGLang || doc.Mode != ModeSingle || doc.SchemaVersion != 1 {
		t.Errorf("header: %+v", doc)
	}
	if len(doc.Stages) != 2 || doc.Stages[0].Stage != StageExtend || doc.Stages[1].Stage != StageDecode {
		t.Fatalf("stages: %v", doc.Stages)
	}
	ext := stageByName(t, doc, StageExtend)
	if ext.GPUTimeUS != 39 || ext.BusyTimeUS != 35 {
		t.Errorf("extend gpu %v busy %v, want 39 and 35", ext.GPUTimeUS, ext.BusyTimeUS)
	}
	tests := []struct {
		stage, kernel, path string
		line                int
		cpuOp, attribution  string
	}{
		{StageExtend, "nvjet_tst_64x16", "python/sglang/srt/layers/linear.py", 50, "aten::mm", AttrExternalID},
		{StageExtend, "void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16>", "python/sglang/srt/layers/layernorm.py", 177, "sgl_kernel::fused_add_rmsnorm", AttrExternalID},
		{StageExtend, "triton_poi_fused_add_0", "python/sglang/srt/layers/linear.py", 50, "cuLaunchKernelEx", AttrLaunch},
		{StageDecode, "nvjet_tst_64x16", "", 0, "cudaGraphLaunch", AttrUnresolved},
		{StageDecode, "Memcpy HtoD (Pageable -> Device)", "", 0, "", AttrUnresolved},
	}
	for _, tt := range tests {
		row := rowByName(t, stageByName(t, doc, tt.stage), tt.kernel)
		if len(row.Sites) != 1 {
			t.Errorf("%s %s: %d sites", tt.stage, tt.kernel, len(row.Sites))
			continue
		}
		s := row.Sites[0]
		if s.Path != tt.path || s.Line != tt.line || s.CPUOp != tt.cpuOp || s.Attribution != tt.attribution || s.SharePct != 100 {
			t.Errorf("%s %s: site %+v", tt.stage, tt.kernel, s)
		}
	}
	replay := rowByName(t, stageByName(t, doc, StageDecode), "nvjet_tst_64x16").Sites[0]
	if replay.Function != GraphReplaySite || SiteLocation(replay) != GraphReplaySite {
		t.Errorf("graph replay site %+v", replay)
	}
	gemm := rowByName(t, ext, "nvjet_tst_64x16")
	if want := []string{"python/sglang/srt/model_executor/model_runner.py:100 forward", "python/sglang/srt/layers/linear.py:50 forward"}; strings.Join(gemm.Sites[0].Stack, "|") != strings.Join(want, "|") {
		t.Errorf("stack %q", gemm.Sites[0].Stack)
	}
	if math.Abs(gemm.SharePct-100*30.0/39) > 1e-9 || gemm.MaxUS != 30 || gemm.Launches != 1 {
		t.Errorf("gemm row %+v", gemm)
	}
	// The store_kvcache replay ran on another stream: busy time counts the overlap once.
	dec := stageByName(t, doc, StageDecode)
	if dec.GPUTimeUS != 21 || dec.BusyTimeUS != 16 {
		t.Errorf("decode gpu %v busy %v, want 21 and 16", dec.GPUTimeUS, dec.BusyTimeUS)
	}
	warn := strings.Join(doc.Warnings, "\n")
	for _, want := range []string{"1 event was skipped as malformed",
		"1.7% of GPU time could not be tied to a Python line: 1 kernel has no launch or CPU-op record in the trace", "2 kernels were replayed from CUDA/HIP graphs launched at python/sglang/srt/model_executor/model_runner.py:100 forward"} {
		if !strings.Contains(warn, want) {
			t.Errorf("warnings %q lack %q", warn, want)
		}
	}
	for _, st := range doc.Stages {
		if st.Overlap == nil || st.Fuse == nil || st.Breakdown == nil {
			t.Errorf("stage %s: overlap/fuse must be [] not null, breakdown present", st.Stage)
		}
	}
	// Overlap: in decode the two replayed kernels ran on two streams at once.
	if b := dec.Breakdown; b.BusyUS != 16 || b.ConcurrentUS != 5 {
		t.Errorf("decode breakdown %+v", b)
	}
	if len(ext.Overlap) == 0 || ext.Overlap[0].Scope != "python/sglang/srt/layers/layernorm.py:177 forward_cuda" {
		t.Errorf("extend overlap rows %+v", ext.Overlap)
	}
	// Fuse: the fused add+RMSNorm kernel already runs.
	if len(ext.Fuse) != 1 || ext.Fuse[0].Confidence != "Already fused" || ext.Fuse[0].CurrentLocations[0] != "python/sglang/srt/layers/layernorm.py:177 forward_cuda" {
		t.Errorf("extend fuse rows %+v", ext.Fuse)
	}
	if ext.Timeline != nil {
		t.Error("timeline without Options.Timeline")
	}
}

func TestAnalyzeTimeline(t *testing.T) {
	doc := analyzeFixture(t, Options{Input: filepath.Join("testdata", "sglang-mini-TP-0.trace.json"), Timeline: true, OverlapTableLimit: 1})
	for _, st := range doc.Stages {
		if st.Timeline == nil || st.Timeline.CenterKernel != st.Overlap[0].Kernel || len(st.Overlap) != 1 {
			t.Errorf("stage %s: timeline %+v, %d overlap rows", st.Stage, st.Timeline, len(st.Overlap))
		}
	}
}

func TestAnalyzeGraphCapture(t *testing.T) {
	doc := analyzeFixture(t, Options{
		MappingInput: filepath.Join("testdata", "sglang-mini-capture.json"),
		FormalInput:  filepath.Join("testdata", "sglang-mini-TP-0.trace.json"),
	})
	if doc.Mode != ModeTwo || len(doc.Inputs.Mapping) != 1 || len(doc.Inputs.Formal) != 1 {
		t.Fatalf("header %+v", doc)
	}
	dec := stageByName(t, doc, StageDecode)
	for kernel, want := range map[string]string{
		"nvjet_tst_64x16": "python/sglang/srt/layers/linear.py:60 forward",
		"void (anonymous namespace)::store_kvcache<2048l>": "python/sglang/srt/mem_cache/memory_pool.py:400 set_kv_buffer",
	} {
		s := rowByName(t, dec, kernel).Sites[0]
		if SiteLocation(s) != want || s.Attribution != AttrGraphCapture {
			t.Errorf("%s: site %+v, want %s via graph-capture", kernel, s, want)
		}
	}
	if s := rowByName(t, dec, "nvjet_tst_64x16").Sites[0]; s.CPUOp != "aten::mm" {
		t.Errorf("capture site CPU op %q, want aten::mm", s.CPUOp)
	}
	for _, w := range doc.Warnings {
		if strings.Contains(w, "replayed from CUDA/HIP graphs") {
			t.Errorf("replays attributed through the capture still warned: %s", w)
		}
	}
}

func TestAnalyzeCPUOnly(t *testing.T) {
	doc := analyzeFixture(t, Options{Input: filepath.Join("testdata", "cpu-only.json")})
	if len(doc.Stages) != 0 {
		t.Errorf("stages %+v", doc.Stages)
	}
	if len(doc.Warnings) == 0 || !strings.Contains(doc.Warnings[0], "has no GPU kernels") {
		t.Errorf("warnings %q", doc.Warnings)
	}
}

func TestAnalyzeOptionErrors(t *testing.T) {
	fix := filepath.Join("testdata", "sglang-mini-TP-0.trace.json")
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"nothing", Options{}, ErrBadOptions},
		{"both modes", Options{Input: fix, FormalInput: fix, MappingInput: fix}, ErrBadOptions},
		{"half of two-trace", Options{FormalInput: fix}, ErrBadOptions},
		{"framework", Options{Input: fix, Framework: "pytorch"}, ErrBadFramework},
	}
	for _, tt := range tests {
		if _, err := Analyze(context.Background(), tt.opts); !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestAnalyzeFrameworkOverride(t *testing.T) {
	doc := analyzeFixture(t, Options{Input: filepath.Join("testdata", "sglang-mini-TP-0.trace.json"), Framework: "TensorRT-LLM"})
	if doc.Framework != FrameworkTRTLLM {
		t.Errorf("framework %s", doc.Framework)
	}
}

func TestAnalyzeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, Options{Input: filepath.Join("testdata", "sglang-mini-TP-0.trace.json")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestAnalyzeProfileDirectory(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "sglang-mini-TP-0.trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "1700000000")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"run-TP-0-DECODE.trace.json", "run-TP-1-DECODE.trace.json"} {
		if err := os.WriteFile(filepath.Join(sub, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sub, "server_args.json"), []byte(`{"model_path": "Qwen/Qwen3-8B", "tp_size": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := analyzeFixture(t, Options{Input: dir})
	if len(doc.Inputs.Formal) != 1 || !strings.HasSuffix(doc.Inputs.Formal[0], "run-TP-0-DECODE.trace.json") {
		t.Errorf("inputs %v, want rank 0 only", doc.Inputs.Formal)
	}
	if doc.Model != "Qwen/Qwen3-8B" {
		t.Errorf("model %q", doc.Model)
	}
	if w := strings.Join(doc.Warnings, "\n"); !strings.Contains(w, "also holds traces of TP rank 1; the tables cover rank 0 only") {
		t.Errorf("no dropped-rank warning in %q", w)
	}
	// The file name says DECODE: every kernel is decode.
	if len(doc.Stages) != 1 || doc.Stages[0].Stage != StageDecode {
		t.Errorf("stages %v", doc.Stages)
	}
}

// A trace that recorded both the graph capture and its replays attributes
// the replays to the capture's launch lines on its own.
func TestAnalyzeOwnCapture(t *testing.T) {
	doc := analyzeFixture(t, Options{Input: filepath.Join("testdata", "sglang-mini-capture-and-replay.json")})
	dec := stageByName(t, doc, StageDecode)
	for kernel, want := range map[string]string{
		"nvjet_tst_64x16": "python/sglang/srt/layers/linear.py:60 forward",
		"void (anonymous namespace)::store_kvcache<2048l>": "python/sglang/srt/mem_cache/memory_pool.py:400 set_kv_buffer",
	} {
		row := rowByName(t, dec, kernel)
		if len(row.Sites) != 1 || SiteLocation(row.Sites[0]) != want || row.Sites[0].Attribution != AttrGraphCapture || row.Sites[0].Launches != row.Launches {
			t.Errorf("%s: sites %+v, want %s via graph-capture", kernel, row.Sites, want)
		}
	}
	// The eager kernels of the trace keep their own sites.
	if s := rowByName(t, stageByName(t, doc, StageExtend), "nvjet_tst_64x16").Sites[0]; s.Attribution != AttrExternalID || s.Line != 50 {
		t.Errorf("eager GEMM site %+v", s)
	}
	for _, w := range doc.Warnings {
		if strings.Contains(w, "replayed from CUDA/HIP graphs") {
			t.Errorf("attributed replays still warned: %s", w)
		}
	}
}

// A trace cut short fails with ErrTruncated; with Options.Partial its
// complete events are analysed, with a warning that says where it ends.
func TestAnalyzePartialTrace(t *testing.T) {
	data := testutil.TestdataJSON(t, "sglang-decode-small.json.gz")
	cut := filepath.Join(t.TempDir(), "cut-TP-0-DECODE.trace.json")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Analyze(context.Background(), Options{Input: cut}); !errors.Is(err, trace.ErrTruncated) {
		t.Fatalf("without Partial: %v, want ErrTruncated", err)
	}
	doc, err := Analyze(context.Background(), Options{Input: cut, Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	full, err := Analyze(context.Background(), Options{Input: filepath.Join(testutil.ModuleRoot(), "testdata", "sglang-decode-small.json.gz")})
	if err != nil {
		t.Fatal(err)
	}
	warn := strings.Join(doc.Warnings, "\n")
	if want := fmt.Sprintf("cut-TP-0-DECODE.trace.json: truncated: the JSON text ends early at byte offset %d", len(data)/2); !strings.Contains(warn, want) || !strings.Contains(warn, "the tables cover only the") {
		t.Errorf("warnings %q lack %q", warn, want)
	}
	launches := func(d *Document) (n int) {
		for _, k := range stageByName(t, d, StageDecode).Kernels {
			n += k.Launches
		}
		return n
	}
	if got, all := launches(doc), launches(full); got == 0 || got >= all {
		t.Errorf("partial trace: %d kernel launches, want some of the full trace's %d", got, all)
	}
}

// The idle split on the real PyTorch traces of testdata: the eager decode
// waits for the host most of its span (the warning names where), its
// CUDA-graph replay hardly at all.
func TestIdleWaitingForTheHost(t *testing.T) {
	data := filepath.Join(testutil.ModuleRoot(), "testdata")
	eager := analyzeFixture(t, Options{Input: filepath.Join(data, "torch-eager.json.gz")})
	b := stageByName(t, eager, StageDecode).Breakdown
	if share := b.IdleHostUS / b.SpanUS; share < 0.8 || b.IdleHostUS+b.IdleQueuedUS > b.IdleUS+0.01 {
		t.Errorf("eager decode: host %.1f us, queued %.1f us, idle %.1f us of %.1f us", b.IdleHostUS, b.IdleQueuedUS, b.IdleUS, b.SpanUS)
	}
	if len(b.IdleHostBySite) == 0 || !strings.HasPrefix(b.IdleHostBySite[0].Scope, "capture_torch_trace.py:") {
		t.Errorf("eager decode sites %+v", b.IdleHostBySite)
	}
	if w := strings.Join(eager.Warnings, "\n"); !strings.Contains(w, "decode: the GPU was idle") || !strings.Contains(w, "before launches from capture_torch_trace.py:") {
		t.Errorf("eager warnings %q", w)
	}
	replay := analyzeFixture(t, Options{Input: filepath.Join(data, "torch-cudagraph-replay.json.gz")})
	if b := stageByName(t, replay, StageDecode).Breakdown; b.IdleHostUS/b.SpanUS > 0.1 {
		t.Errorf("graph replay: host %.1f us of %.1f us", b.IdleHostUS, b.SpanUS)
	}
	if w := strings.Join(replay.Warnings, "\n"); strings.Contains(w, "waiting for the host") {
		t.Errorf("graph replay warns of host waits: %q", w)
	}
}
