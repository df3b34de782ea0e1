package trace

import (
	"bytes"
	"testing"

	"github.com/tracetriage/tracetriage/tracegen"
)

// BenchmarkScanChunk measures the scanner and Builder on one goroutine over
// in-memory Kineto-layout text (no I/O, no merge): the per-core speed.
func BenchmarkScanChunk(b *testing.B) {
	var buf bytes.Buffer
	if _, err := tracegen.Write(&buf, tracegen.Options{Framework: "sglang", TargetBytes: 32 << 20, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	start := bytes.Index(data, []byte(`"traceEvents": [`)) + len(`"traceEvents": [`)
	data = data[start:]
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	c0 := cpuTime()
	defer func() { reportCPU(b, c0, int64(len(data))) }()
	for b.Loop() {
		var sc eventScanner
		bl := NewBuilder("x")
		if st, _ := sc.parseChunk(data, true, bl); st != chunkEnd {
			b.Fatalf("status %d", st)
		}
	}
}
