package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
)

// The -update flag (rewrite golden files) is bundleUpdate, defined in
// bundle_test.go; a test binary can register it only once.

func triageFixtureDoc(t *testing.T) *analyzer.Document {
	t.Helper()
	doc, err := analyzer.Analyze(context.Background(), analyzer.Options{
		Input: filepath.Join("..", "analyzer", "testdata", "sglang-mini-TP-0.trace.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	doc.Inputs.Formal = []string{"testdata/sglang-mini-TP-0.trace.json"} // stable across checkouts
	return doc
}

func triageGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *bundleUpdate {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./render -update after checking):\n%s", name, got)
	}
}

func TestTriageGolden(t *testing.T) {
	doc := triageFixtureDoc(t)
	for _, tt := range []struct {
		file string
		opts TriageOptions
	}{
		{"triage_text.golden", TriageOptions{}},
		{"triage_markdown.golden", TriageOptions{Format: TriageFormatMarkdown}},
		{"triage_limit1.golden", TriageOptions{KernelTableLimit: 1}},
	} {
		var buf bytes.Buffer
		if err := Triage(&buf, doc, tt.opts); err != nil {
			t.Fatal(err)
		}
		triageGolden(t, tt.file, buf.Bytes())
	}
}

func TestTriageLayout(t *testing.T) {
	doc := triageFixtureDoc(t)
	var buf bytes.Buffer
	if err := Triage(&buf, doc, TriageOptions{}); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{
		"Triage View\nMode: single-trace\nFramework: SGLang\nInput traces: testdata/sglang-mini-TP-0.trace.json\n\nKernel Table\n##### extend/prefill\n",
		"| Kernel | Category | GPU time | Share | Launches | Python location (site share) | CPU op |\n| --- | --- | ---: | ---: | ---: | --- | --- |\n",
		"| nvjet_tst_64x16 | gemm | 0.030 ms | 76.9% | 1 | python/sglang/srt/layers/linear.py:50 forward | aten::mm |\n",
		"\n\n##### decode\n",
		"| Memcpy HtoD (Pageable -> Device) | memory | 0.001 ms | 4.8% | 1 | unresolved | - |\n",
		"Overlap Opportunity Table\n##### extend/prefill\n| Priority | Verdict | Kernel | Python scope | Formal signal | Dep risk | Recommendation |\n",
		"| P1 | headroom | void flashinfer::norm::FusedAddRMSNormKernel<8u, __nv_bfloat16> | python/sglang/srt/layers/layernorm.py:177 forward_cuda | 5.0 us, share 14.3%, excl 100.0% / hid 0.0% | low | try fusion |\n",
		"Fuse Opportunity Table\n##### extend/prefill\n",
		"| forward_cuda @ python/sglang/srt/layers/layernorm.py:177 |",
		"GPU Time Breakdown\n##### extend/prefill\n| Measure | GPU time | Share of span |\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if strings.HasSuffix(text, "\n\n") || strings.Contains(text, " \n") {
		t.Error("trailing blank line or trailing spaces")
	}
}

func TestSiteSummary(t *testing.T) {
	site := func(path string, line int, share float64, op string) analyzer.Site {
		return analyzer.Site{Path: path, Line: line, Function: "f", SharePct: share, CPUOp: op}
	}
	tests := []struct {
		name      string
		sites     []analyzer.Site
		loc, cpus string
	}{
		{"none", nil, "unresolved", "-"},
		{"one", []analyzer.Site{site("vllm/a.py", 1, 100, "aten::mm")}, "vllm/a.py:1 f", "aten::mm"},
		{"framework sites first, top two, shares shown", []analyzer.Site{
			site("torch/x.py", 9, 50, "aten::mm"), site("vllm/a.py", 1, 30, "aten::mm"),
			site("vllm/b.py", 2, 15, "aten::add"), site("vllm/c.py", 3, 5, "aten::mul")},
			"vllm/a.py:1 f (site share 30%)<br>vllm/b.py:2 f (site share 15%)", "aten::mm<br>aten::add"},
		{"no framework site: all sites", []analyzer.Site{
			site("transformers/m.py", 1, 70, "aten::mm"), {SharePct: 30, Attribution: analyzer.AttrUnresolved}},
			"transformers/m.py:1 f (site share 70%)<br>unresolved (site share 30%)", "aten::mm"},
		{"same CPU op once", []analyzer.Site{site("vllm/a.py", 1, 60, "aten::copy_"), site("vllm/b.py", 2, 40, "aten::copy_")},
			"vllm/a.py:1 f (site share 60%)<br>vllm/b.py:2 f (site share 40%)", "aten::copy_"},
	}
	for _, tt := range tests {
		loc, cpus := SiteSummary(tt.sites)
		if loc != tt.loc || cpus != tt.cpus {
			t.Errorf("%s: got %q / %q, want %q / %q", tt.name, loc, cpus, tt.loc, tt.cpus)
		}
	}
}

func TestTriageEdgeCases(t *testing.T) {
	// No stages: the placeholder row, as a bare table.
	doc := &analyzer.Document{Mode: analyzer.ModeSingle, Framework: "unknown", Inputs: analyzer.Inputs{Formal: []string{"a.json"}},
		Warnings: []string{"a.json has no GPU kernels (a CPU-only capture?)"}}
	var buf bytes.Buffer
	if err := Triage(&buf, doc, TriageOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Kernel Table\n| Kernel |") || !strings.Contains(buf.String(), "| No kernel rows at or above 1.0% share. | - | - | - | - | - | - |") ||
		!strings.Contains(buf.String(), "- a.json has no GPU kernels") {
		t.Errorf("empty document:\n%s", buf.String())
	}
	// Only an "all" stage: no headings; a pipe in a name is escaped.
	doc.Stages = []analyzer.Stage{{Stage: "all", Kernels: []analyzer.KernelRow{{Name: "k|x", Category: "other", GPUTimeUS: 1500, SharePct: 100, Launches: 2}}}}
	buf.Reset()
	if err := Triage(&buf, doc, TriageOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "#####") || !strings.Contains(buf.String(), `| k\|x | other | 1.50 ms | 100.0% | 2 | unresolved | - |`) {
		t.Errorf("all-only document:\n%s", buf.String())
	}
	if err := Triage(&buf, doc, TriageOptions{Format: "html"}); err == nil {
		t.Error("unknown format accepted")
	}
}

// Two traces of different frameworks print one line each instead of
// "Framework:" (triage-behaviour.md §11), in text and Markdown.
func TestTriageTwoFrameworks(t *testing.T) {
	doc := triageFixtureDoc(t)
	doc.Mode = analyzer.ModeTwo
	doc.Inputs.Mapping = []string{"eager.json"}
	doc.Frameworks = &analyzer.TwoFrameworks{Mapping: analyzer.FrameworkSGLang, Formal: analyzer.FrameworkVLLM}
	for format, want := range map[string]string{
		TriageFormatText:     "Mode: mapping-formal\nMapping framework: SGLang\nFormal framework: vLLM\nMapping traces: eager.json\n",
		TriageFormatMarkdown: "- Mapping framework: SGLang\n- Formal framework: vLLM\n",
	} {
		var buf bytes.Buffer
		if err := Triage(&buf, doc, TriageOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
		if text := buf.String(); !strings.Contains(text, want) || strings.Contains(text, "\nFramework:") || strings.Contains(text, "- Framework:") {
			t.Errorf("format %v: header lacks %q or still has a Framework line:\n%s", format, want, text[:min(len(text), 300)])
		}
	}
}
