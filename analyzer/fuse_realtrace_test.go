package analyzer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/fuse"
)

// patCutlassFP8 is catalogue pattern 25, which the reference reports for
// any nvjet GEMM (docs/fusion.md, D10).
const patCutlassFP8 = "PR #22392 CUTLASS FP8 scaled MM replacing nvjet"

// torchEager is a real torch.profiler trace of a random bf16 decoder
// (PyTorch 2.11, H200): its GEMMs are cuBLASLt nvjet kernels launched by
// aten::mm, and nothing FP8 runs.
var torchEager = filepath.Join("..", "testdata", "torch-eager.json.gz")

func analyzeTorchEager(t *testing.T, catalog string) *analyzer.Document {
	t.Helper()
	doc, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: torchEager, FuseCatalog: catalog})
	if err != nil {
		t.Fatalf("Analyze %s: %v", torchEager, err)
	}
	return doc
}

func fuseRow(st analyzer.Stage, pattern string) (analyzer.FuseRow, bool) {
	for _, r := range st.Fuse {
		if r.Pattern == pattern {
			return r, true
		}
	}
	return analyzer.FuseRow{}, false
}

// TestRealTraceBF16GEMMsAreNotFP8ScaledMM: the bf16 nvjet GEMMs of the
// eager trace do not make the FP8 scaled-MM pattern fire, while the trace
// still gets its kernel and overlap tables and its breakdown.
func TestRealTraceBF16GEMMsAreNotFP8ScaledMM(t *testing.T) {
	c, err := fuse.Default()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range c.Patterns() {
		found = found || p.Name == patCutlassFP8
	}
	if !found {
		t.Fatalf("the embedded catalogue has no pattern %q", patCutlassFP8)
	}

	doc := analyzeTorchEager(t, "")
	stages := map[string]analyzer.Stage{}
	for _, st := range doc.Stages {
		stages[st.Stage] = st
	}
	for _, name := range []string{analyzer.StageExtend, analyzer.StageDecode} {
		st, ok := stages[name]
		if !ok {
			t.Errorf("no %s stage; stages: %d", name, len(doc.Stages))
			continue
		}
		// The premise: nvjet GEMMs launched by aten::mm run in this stage.
		nvjet := 0
		for _, k := range st.Kernels {
			if !strings.HasPrefix(k.Name, "nvjet_") {
				continue
			}
			nvjet++
			if k.Category != "gemm" {
				t.Errorf("[%s] %s: category %q, want gemm", name, k.Name, k.Category)
			}
			for _, s := range k.Sites {
				if s.CPUOp != "aten::mm" {
					t.Errorf("[%s] %s launched by %q, want aten::mm", name, k.Name, s.CPUOp)
				}
			}
		}
		if nvjet == 0 {
			t.Errorf("[%s] no nvjet kernel among %d rows", name, len(st.Kernels))
		}
		if r, ok := fuseRow(st, patCutlassFP8); ok {
			t.Errorf("[%s] %q reported: %s %.1f%%, evidence %v", name, patCutlassFP8, r.Confidence, r.SharePct, r.Evidence)
		}
		// The other tables are still there.
		if len(st.Kernels) < 20 {
			t.Errorf("[%s] %d kernel rows, want the whole table (over 20)", name, len(st.Kernels))
		}
		if len(st.Overlap) == 0 {
			t.Errorf("[%s] no overlap rows", name)
		}
		if st.Breakdown == nil || st.Breakdown.BusyUS <= 0 {
			t.Errorf("[%s] breakdown %+v, want busy time", name, st.Breakdown)
		}
	}
}

// TestRealTraceBareNvjetKeywordFires restores the reference's bare nvjet
// group through --fuse-catalog: the same trace then reports the pattern in
// the prefill stage (17.4%), so the test above depends on the catalogue's
// required FP8 evidence and not on rows failing to reach the matcher.
func TestRealTraceBareNvjetKeywordFires(t *testing.T) {
	user := filepath.Join(t.TempDir(), "bare-nvjet.yaml")
	src := `patterns:
  - pattern: "` + patCutlassFP8 + `"
    origin: inflight
    priority: 90
    min_share: 0.2
    likely_share: 1.0
    active: {keywords: ["cutlass_scaled_mm", "fp8_scaled_mm"]}
    split_groups:
      - keywords: ["nvjet", "_scaled_mm"]
      - keywords: ["memset", "memcpy128"]
    candidate_paths: ["PR #22392"]
    rationale: "The reference's definition."
`
	if err := os.WriteFile(user, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := analyzeTorchEager(t, user)
	for _, st := range doc.Stages {
		if st.Stage != analyzer.StageExtend {
			continue
		}
		r, ok := fuseRow(st, patCutlassFP8)
		if !ok {
			t.Fatalf("[extend] the bare nvjet keyword does not report %q; rows: %+v", patCutlassFP8, st.Fuse)
		}
		if r.Confidence != fuse.ConfidenceConfirmed || r.SharePct < 17.3 || r.SharePct > 17.5 {
			t.Errorf("[extend] %s %.2f%%, want Confirmed at 17.4%%", r.Confidence, r.SharePct)
		}
		for _, e := range r.Evidence {
			if !strings.HasPrefix(e.Kernel, "nvjet_sm90_tst_") {
				t.Errorf("[extend] evidence %q: want only the bf16 nvjet GEMMs", e.Kernel)
			}
		}
		return
	}
	t.Fatal("no extend stage")
}
