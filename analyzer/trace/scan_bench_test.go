package trace

import (
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tracetriage/tracetriage/tracegen"
)

// benchText returns the traceEvents text (after '[') of a synthetic
// Kineto-layout trace of about n bytes, and the whole document.
func benchText(b *testing.B, n int64) (events, doc []byte) {
	b.Helper()
	var buf bytes.Buffer
	if _, err := tracegen.Write(&buf, tracegen.Options{Framework: "sglang", TargetBytes: n, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	doc = buf.Bytes()
	start := bytes.Index(doc, []byte(`"traceEvents": [`)) + len(`"traceEvents": [`)
	return doc[start:], doc
}

func reportCPU(b *testing.B, c0 time.Duration, n int) {
	if d := cpuTimeIn() - c0; d > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/d.Seconds(), "MB/cpu-s")
	}
}

// BenchmarkExtract compares, on one goroutine, the ways of turning the
// events text into a Trace: the fast scanner, gjson field extraction on each
// event (event extents found beforehand, outside the timing), and the
// general parser (encoding/json Decoder per event + gjson).
func BenchmarkExtract(b *testing.B) {
	data, doc := benchText(b, 32<<20)
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		c0 := cpuTimeIn()
		for b.Loop() {
			var sc eventScanner
			if st, _ := sc.parseChunk(data, true, NewBuilder("x")); st != chunkEnd {
				b.Fatalf("status %d", st)
			}
		}
		reportCPU(b, c0, len(data))
	})
	b.Run("gjson", func(b *testing.B) {
		var spans [][2]int
		for i := skipWS(data, 0); i < len(data) && data[i] == '{'; {
			end, ok := skipValue(data, i, 0)
			if !ok {
				b.Fatal("bad text")
			}
			spans = append(spans, [2]int{i, end})
			i = skipWS(data, end)
			if data[i] == ',' {
				i = skipWS(data, i+1)
			}
		}
		b.SetBytes(int64(len(data)))
		c0 := cpuTimeIn()
		for b.Loop() {
			bl := NewBuilder("x")
			var ev RawEvent
			for _, s := range spans {
				fillRaw(data[s[0]:s[1]], &ev)
				bl.Add(&ev)
			}
		}
		reportCPU(b, c0, len(data))
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		c0 := cpuTimeIn()
		for b.Loop() {
			if err := parseGeneral(context.Background(), bytes.NewReader(doc), NewBuilder("x")); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, c0, len(doc))
	})
}

// BenchmarkGunzip compares the standard library's gzip reader with
// klauspost/compress's on a gzipped synthetic trace.
func BenchmarkGunzip(b *testing.B) {
	_, doc := benchText(b, 64<<20)
	var zbuf bytes.Buffer
	zw, _ := stdgzip.NewWriterLevel(&zbuf, stdgzip.DefaultCompression)
	zw.Write(doc)
	zw.Close()
	z := zbuf.Bytes()
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		c0 := cpuTimeIn()
		for b.Loop() {
			zr, err := stdgzip.NewReader(bytes.NewReader(z))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, c0, len(doc))
	})
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		c0 := cpuTimeIn()
		for b.Loop() {
			zr, err := gzip.NewReader(bytes.NewReader(z))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, c0, len(doc))
	})
}
