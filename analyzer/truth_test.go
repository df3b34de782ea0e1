package analyzer_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/tracegen"
)

// TestGroundTruth analyses synthetic traces whose every kernel's GPU time,
// launch count, category, launch line and CPU op are known, for each
// framework shape the generator writes.
func TestGroundTruth(t *testing.T) {
	for _, tc := range []struct{ framework, stage string }{
		{"sglang", "decode"}, {"sglang", "extend"}, {"vllm", "extend"}, {"vllm", "decode"}, {"trtllm", "decode"},
	} {
		t.Run(tc.framework+"-"+tc.stage, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.framework+"-trace.json")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w := bufio.NewWriter(f)
			truth, err := tracegen.Write(w, tracegen.Options{Framework: tc.framework, Stage: tc.stage, Steps: 3, Layers: 4, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			doc, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: path})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Framework != truth.Framework {
				t.Errorf("framework %s, truth %s", doc.Framework, truth.Framework)
			}
			if len(doc.Stages) != 1 || doc.Stages[0].Stage != truth.Stage {
				t.Fatalf("stages %v, truth %s", doc.Stages, truth.Stage)
			}
			rows := map[string]analyzer.KernelRow{}
			for _, k := range doc.Stages[0].Kernels {
				rows[k.Name] = k
			}
			if len(rows) != len(truth.Kernels) {
				t.Errorf("%d kernel rows, truth %d", len(rows), len(truth.Kernels))
			}
			for _, want := range truth.Kernels {
				got, ok := rows[analyzer.CanonicalKernelName(want.Name)]
				if !ok {
					t.Errorf("no row for %s", want.Name)
					continue
				}
				if int64(got.GPUTimeUS*1000+0.5) != want.TotalNS || got.Launches != want.Launches || got.Category != want.Category {
					t.Errorf("%s: %.3f us / %d launches / %s, truth %d ns / %d / %s",
						want.Name, got.GPUTimeUS, got.Launches, got.Category, want.TotalNS, want.Launches, want.Category)
				}
				s := got.Sites[0]
				if s.Path != want.Path || s.Line != want.Line || s.Function != want.Function || s.CPUOp != want.CPUOp || s.SharePct != 100 {
					t.Errorf("%s: site %s:%d %s (%s, %.0f%%), truth %s:%d %s (%s)",
						want.Name, s.Path, s.Line, s.Function, s.CPUOp, s.SharePct, want.Path, want.Line, want.Function, want.CPUOp)
				}
			}
		})
	}
}
