package lsp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// bigDocument is a synthetic analysis about the size of a large serving
// trace: files × lines launch sites, each with kernels in two stages.
func bigDocument(files, lines, kernelsPerLine int) *analyzer.Document {
	doc := &analyzer.Document{SchemaVersion: analyzer.SchemaVersion, Framework: "sglang"}
	for _, stage := range []string{"decode", "all"} {
		st := analyzer.Stage{Stage: stage, GPUTimeUS: 1e6, Overlap: []analyzer.OverlapRow{}, Fuse: []analyzer.FuseRow{}}
		for f := 0; f < files; f++ {
			path := fmt.Sprintf("python/sglang/srt/layers/mod%03d/impl.py", f)
			for l := 0; l < lines; l++ {
				for k := 0; k < kernelsPerLine; k++ {
					st.Kernels = append(st.Kernels, analyzer.KernelRow{
						Name:      fmt.Sprintf("void kernel_%d_%d_%d<__nv_bfloat16, 128>(Params)", f, l, k),
						Category:  "gemm",
						GPUTimeUS: float64(1 + (f*lines+l)%97),
						SharePct:  0.01,
						Launches:  10,
						Sites: []analyzer.Site{{
							Path: path, Line: 10 + l*5, Function: "forward", SharePct: 100, Launches: 10,
							CPUOp: "aten::mm", Stack: []string{"python/sglang/srt/models/m.py:1 forward", fmt.Sprintf("%s:%d forward", path, 10+l*5)},
						}},
					})
				}
			}
			st.Fuse = append(st.Fuse, analyzer.FuseRow{
				Pattern: "Fused thing", Confidence: "Likely", SharePct: 0.1,
				CurrentLocations: []string{fmt.Sprintf("forward @ %s:10", path)},
				CandidatePaths:   []string{"python/sglang/srt/layers/fused.py"},
			})
		}
		doc.Stages = append(doc.Stages, st)
	}
	return doc
}

// bigSource is a Python file whose kernel lines sit inside one function.
func bigSource(lines int) string {
	var b strings.Builder
	b.WriteString("class Impl:\n    def forward(self, x):\n")
	for i := 3; i <= 10+lines*5; i++ {
		b.WriteString("        x = op(x)\n")
	}
	return b.String()
}

// BenchmarkHover measures a hover round trip over the wire (client encode,
// pipe, server decode, index lookup, Markdown, encode, client decode) with
// an index of 300 files × 40 lines × 3 kernels × 2 stages loaded, and
// reports the 50th and 99th percentile latency.
func BenchmarkHover(b *testing.B) {
	benchHover(b, bigDocument(300, 40, 3), "python/sglang/srt/layers/mod150/impl.py", 10+5*20, bigSource(40))
}

// BenchmarkHoverRealTrace is BenchmarkHover with the analysis of a real
// vLLM trace loaded, on its hottest line.
func BenchmarkHoverRealTrace(b *testing.B) {
	trace := testutil.SharedFile(b, "traces/llm-serving/vllm_b200_gptoss_tp8_rank0_eager.json.gz")
	doc, err := Analyze(context.Background(), analyzer.Options{Input: trace})
	if errors.Is(err, analyzer.ErrNotImplemented) {
		b.Skip("the analysis engine is not built in this tree yet")
	}
	if err != nil {
		b.Fatal(err)
	}
	hot := NewIndex(doc, "").Hot(1, 0)
	if len(hot) == 0 {
		b.Fatal("no line launched kernels")
	}
	benchHover(b, doc, hot[0].Path, hot[0].Line, strings.Repeat("x = 1\n", hot[0].Line+1))
}

// benchHover measures hovers on line (1-based) of key, opened with text.
func benchHover(b *testing.B, doc *analyzer.Document, key string, line int, text string) {
	h := startBench(b, doc)
	u := uri.File("/ws/" + key)
	if err := h.server.DidOpen(h.ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: u, LanguageID: "python", Version: 1, Text: text,
	}}); err != nil {
		b.Fatal(err)
	}
	params := &protocol.HoverParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Position:     protocol.Position{Line: uint32(line - 1), Character: 8},
	}}
	if hv, err := h.server.Hover(h.ctx, params); err != nil || hv == nil {
		b.Fatalf("hover = %v, %v", hv, err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		hv, err := h.server.Hover(h.ctx, params)
		lat = append(lat, time.Since(t0))
		if err != nil || hv == nil {
			b.Fatalf("hover = %v, %v", hv, err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkHoverMarkdown measures the server side alone: lookup and render.
func BenchmarkHoverMarkdown(b *testing.B) {
	ix := NewIndex(bigDocument(300, 40, 3), "")
	key := ix.Resolve("/ws/python/sglang/srt/layers/mod150/impl.py", []string{"/ws"})
	if key == "" {
		b.Fatal("not resolved")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := ix.Resolve("/ws/python/sglang/srt/layers/mod150/impl.py", []string{"/ws"})
		if hoverMarkdown(ix, ix.Line(key, 110)) == "" {
			b.Fatal("empty")
		}
	}
}

// BenchmarkIndex measures building the index of a large analysis.
func BenchmarkIndex(b *testing.B) {
	doc := bigDocument(300, 40, 3)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		NewIndex(doc, "")
	}
}

// startBench starts a server whose analysis is doc, over a pipe.
func startBench(b *testing.B, doc *analyzer.Document) *harness {
	b.Helper()
	return startWith(b, Options{Analyze: func(context.Context, analyzer.Options) (*analyzer.Document, error) { return doc, nil }},
		"/ws", map[string]any{"trace": "/ws/t.json"})
}
