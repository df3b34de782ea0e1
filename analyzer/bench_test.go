package analyzer

import (
	"context"
	"testing"

	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// BenchmarkEngine measures the analysis after loading (stages, sites,
// rows) on the largest real serving trace with Python stacks.
func BenchmarkEngine(b *testing.B) {
	path := testutil.SharedFile(b, "traces/llm-serving/sglang_mi300x_qwen3-8b_prefilldecode.json.gz")
	t, err := trace.Load(context.Background(), path, trace.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tg := trace.Target{Path: path, Stage: StageAll, Rank: -1}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		doc := &Document{Stages: []Stage{}, Warnings: []string{}}
		if _, err := buildStages(context.Background(), doc, []loaded{{target: tg, t: t}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(t.Kernels)), "kernels")
	b.ReportMetric(float64(len(t.Frames)), "frames")
}
