package trace_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tracetriage/tracetriage/analyzer/trace"
	"github.com/tracetriage/tracetriage/tracegen"
)

// traceFile points the Load benchmarks at an existing trace (scripts/bench.sh
// uses it); by default they generate a Kineto-layout trace.
var (
	traceFile = flag.String("tracefile", "", "benchmark Load on this trace file instead of a generated one")
	general   = flag.Bool("general", false, "BenchmarkLoadFile: force the general parser")
)

const benchBytes = 64 << 20

// benchTrace writes a synthetic SGLang-shaped trace of benchBytes of JSON.
func benchTrace(b *testing.B, gz bool) string {
	b.Helper()
	if *traceFile != "" {
		return *traceFile
	}
	name := "bench.json"
	if gz {
		name += ".gz"
	}
	p := filepath.Join(b.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	opts := tracegen.Options{Framework: "sglang", Stage: "decode", TargetBytes: benchBytes, Seed: 1}
	if gz {
		zw, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
		if _, err := tracegen.Write(zw, opts); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
	} else if _, err := tracegen.Write(f, opts); err != nil {
		b.Fatal(err)
	}
	return p
}

func benchLoad(b *testing.B, path string, opts trace.Options) {
	ctx := context.Background()
	var size int64
	runtime.GC()
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		t, err := trace.Load(ctx, path, opts)
		if err != nil {
			b.Fatal(err)
		}
		size = t.Bytes
	}
	b.SetBytes(size)
	if d := cpuTime() - c0; d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/d.Seconds(), "MB/cpu-s")
	}
}

// cpuTime is the CPU time (user+system) of the process so far: on a machine
// shared with other work, MB per CPU-second varies much less than MB/s.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoad measures MB/s of uncompressed JSON through Load: the fast
// path and the general parser, from plain and gzip files.
func BenchmarkLoad(b *testing.B) {
	for _, gz := range []bool{false, true} {
		path := benchTrace(b, gz)
		kind := "plain"
		if gz {
			kind = "gzip"
		}
		b.Run(kind+"/fast", func(b *testing.B) { benchLoad(b, path, trace.Options{}) })
		b.Run(kind+"/general", func(b *testing.B) { benchLoad(b, path, trace.Options{General: true}) })
		if *traceFile != "" {
			break
		}
	}
}

// BenchmarkLoadFile loads only -tracefile (plain or gzip) with the default
// options; scripts/bench.sh runs it under /usr/bin/time for peak RSS.
func BenchmarkLoadFile(b *testing.B) {
	if *traceFile == "" {
		b.Skip("set -tracefile")
	}
	benchLoad(b, *traceFile, trace.Options{General: *general})
}

// BenchmarkLoadTruncated measures how long a trace cut at three quarters
// takes to fail (the fast path, then the general parser from where it
// stopped) and, with Partial, to give its complete events; MB/s are of the
// text up to the cut.
func BenchmarkLoadTruncated(b *testing.B) {
	full, err := os.ReadFile(benchTrace(b, false))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "cut.json")
	if err := os.WriteFile(path, full[:len(full)*3/4], 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("error", func(b *testing.B) {
		b.SetBytes(int64(len(full) * 3 / 4))
		for b.Loop() {
			if _, err := trace.Load(context.Background(), path, trace.Options{}); !errors.Is(err, trace.ErrTruncated) {
				b.Fatalf("Load = %v, want ErrTruncated", err)
			}
		}
	})
	b.Run("partial", func(b *testing.B) { benchLoad(b, path, trace.Options{Partial: true}) })
}
