package analyzer

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tracetriage/tracetriage/analyzer/fuse"
	"github.com/tracetriage/tracetriage/analyzer/overlap"
	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/internal/testutil"
	"github.com/tracetriage/tracetriage/tracegen"
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
		if _, err := buildStages(context.Background(), doc, []loaded{{target: tg, t: t}}, nil, "", split{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(t.Kernels)), "kernels")
	b.ReportMetric(float64(len(t.Frames)), "frames")
}

// writeGenerated writes a generated SGLang-shaped decode trace of about
// size bytes and returns its path.
func writeGenerated(b *testing.B, size int64) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "sglang-decode.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if _, err := tracegen.Write(w, tracegen.Options{Framework: "sglang", Stage: "decode", TargetBytes: size, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkEngineGenerated measures everything after loading (kernel
// table, overlap, fusion) on a generated 50 MB trace; MB/s is of the JSON
// text the trace was loaded from, and MB/cpu-s of the same per CPU-second
// of the process (all goroutines): on a machine shared with other work,
// it varies much less than MB/s.
func BenchmarkEngineGenerated(b *testing.B) {
	path := writeGenerated(b, 50<<20)
	t, err := trace.Load(context.Background(), path, trace.Options{})
	if err != nil {
		b.Fatal(err)
	}
	catalog, err := fuse.Default()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(t.Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		doc := &Document{Stages: []Stage{}, Warnings: []string{}}
		ks, err := buildStages(context.Background(), doc, []loaded{{target: trace.Target{Path: path, Stage: StageAll, Rank: -1}, t: t}}, nil, "", split{})
		if err != nil {
			b.Fatal(err)
		}
		addOpportunities(doc, ks, catalog, fuse.Context{Framework: FrameworkSGLang}, overlap.Options{}, false)
	}
	if d := cpuTime() - c0; d > 0 {
		b.ReportMetric(float64(t.Bytes)*float64(b.N)/1e6/d.Seconds(), "MB/cpu-s")
	}
}

// cpuTime is the CPU time (user + system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAnalyze measures the whole analysis (load, kernel table,
// overlap, fusion) of a generated 50 MB SGLang-shaped decode trace;
// MB/s is of JSON text.
func BenchmarkAnalyze(b *testing.B) {
	path := writeGenerated(b, 50<<20)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for range b.N {
		if _, err := Analyze(context.Background(), Options{Input: path}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeFile measures the whole analysis of the trace file named
// by TRACETRIAGE_BENCH_TRACE (for example a 1 GB trace written by
// `tracetriage gen`); it is skipped when the variable is unset. MB/s is of
// the file's bytes.
func BenchmarkAnalyzeFile(b *testing.B) {
	path := os.Getenv("TRACETRIAGE_BENCH_TRACE")
	if path == "" {
		b.Skip("TRACETRIAGE_BENCH_TRACE is not set")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Analyze(context.Background(), Options{Input: path}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineFile measures the analysis after loading of the trace file
// named by TRACETRIAGE_BENCH_TRACE (skipped when unset) as Analyze runs it:
// the trace is the analysis's own (its frames are dropped once indexed) and
// the heap is collected where Analyze collects. Each iteration loads the
// file with the timer stopped; MB/s is of the file's JSON.
func BenchmarkEngineFile(b *testing.B) {
	path := os.Getenv("TRACETRIAGE_BENCH_TRACE")
	if path == "" {
		b.Skip("TRACETRIAGE_BENCH_TRACE is not set")
	}
	catalog, err := fuse.Default()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var size int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		t, err := trace.Load(ctx, path, trace.Options{})
		if err != nil {
			b.Fatal(err)
		}
		size = t.Bytes
		collect(size)
		b.StartTimer()
		doc := &Document{Stages: []Stage{}, Warnings: []string{}}
		l := []loaded{{target: trace.Target{Path: path, Stage: StageAll, Rank: -1}, t: t, owned: true}}
		t = nil
		ks, err := buildStages(ctx, doc, l, nil, "", split{})
		if err != nil {
			b.Fatal(err)
		}
		l = nil
		collect(size)
		addOpportunities(doc, ks, catalog, fuse.Context{Framework: FrameworkSGLang}, overlap.Options{}, false)
	}
	b.SetBytes(size)
}
