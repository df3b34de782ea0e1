package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tracetriage/tracetriage/analyzer"
)

// testProtocolVersion pins the handshake revision the in-process tests speak.
const testProtocolVersion = "2025-06-18"

// fakeEngine serves documents by trace file base name and counts analyses.
type fakeEngine struct {
	docs  map[string]*analyzer.Document
	calls atomic.Int64
	delay time.Duration
	// progressSteps, when > 0, makes Analyze report that many steps.
	progressSteps int
	err           error
	panicMsg      string
	lastOpts      atomic.Pointer[analyzer.Options]
	// gen, when set, builds a fresh document per analysis (by base name).
	gen func(name string) *analyzer.Document
}

func (f *fakeEngine) Analyze(ctx context.Context, opts analyzer.Options) (*analyzer.Document, error) {
	f.calls.Add(1)
	f.lastOpts.Store(&opts)
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if f.err != nil {
		return nil, f.err
	}
	total := int64(1000)
	for i := 1; i <= f.progressSteps; i++ {
		if opts.Progress != nil {
			opts.Progress(int64(i)*total/int64(f.progressSteps), total)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
	if f.delay > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(f.delay):
		}
	}
	in := opts.Input
	if in == "" {
		in = opts.FormalInput
	}
	if f.gen != nil {
		return f.gen(filepath.Base(in)), nil
	}
	d, ok := f.docs[filepath.Base(in)]
	if !ok {
		return nil, fmt.Errorf("not a trace: %s", in)
	}
	return d, nil
}

// testEnv is a server with a root directory of fake trace files and an
// initialized in-process client.
type testEnv struct {
	root   string
	engine *fakeEngine
	srv    *Server
	cl     *client.Client
}

func newTestEnv(t testing.TB, docs map[string]*analyzer.Document, mutate func(*Config)) *testEnv {
	t.Helper()
	root := t.TempDir()
	for name := range docs {
		if err := os.WriteFile(filepath.Join(root, name), []byte(`{"traceEvents":[]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng := &fakeEngine{docs: docs}
	cfg := Config{Version: "test", Roots: []string{root}, Deps: Deps{Analyze: eng.Analyze}}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl := startClient(t, srv)
	return &testEnv{root: root, engine: eng, srv: srv, cl: cl}
}

func startClient(t testing.TB, srv *Server, opts ...client.ClientOption) *client.Client {
	t.Helper()
	cl, err := client.NewInProcessClientWithOptions(srv.MCPServer(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = testProtocolVersion
	req.Params.ClientInfo = mcp.Implementation{Name: "tracetriage-test", Version: "1"}
	if _, err := cl.Initialize(ctx, req); err != nil {
		t.Fatal(err)
	}
	return cl
}

// call invokes a tool and fails the test on a protocol error (tool errors
// are results, never protocol errors).
func (e *testEnv) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	return callTool(t, e.cl, name, args)
}

func callTool(t testing.TB, cl *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := cl.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: protocol error %v (tool errors must be isError results)", name, err)
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// decode turns a result's structured content into T.
func decode[T any](t testing.TB, res *mcp.CallToolResult) T {
	t.Helper()
	var out T
	if res.IsError {
		t.Fatalf("unexpected tool error: %s", resultText(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("structured content: %v\n%s", err, b)
	}
	return out
}

func wantError(t *testing.T, res *mcp.CallToolResult, substrs ...string) {
	t.Helper()
	if !res.IsError {
		t.Fatalf("want an isError result, got success: %s", resultText(res))
	}
	txt := resultText(res)
	for _, s := range substrs {
		if !strings.Contains(txt, s) {
			t.Errorf("error %q does not mention %q", txt, s)
		}
	}
}

// makeDoc builds a document with nKernels kernels per stage, hottest
// first, each with nSites sites of depth frames; kernel i takes
// (nKernels-i)*10 µs.
func makeDoc(prefix string, stages []string, nKernels, nSites, depth int) *analyzer.Document {
	d := &analyzer.Document{
		SchemaVersion: analyzer.SchemaVersion,
		Tool:          analyzer.Tool{Name: "tracetriage", Version: "test"},
		Mode:          "single-trace",
		Framework:     "sglang",
		Model:         "Qwen/Qwen3-8B",
		Inputs:        analyzer.Inputs{Formal: []string{prefix + ".json.gz"}, Mapping: []string{}},
		Warnings:      []string{},
	}
	for _, st := range stages {
		s := analyzer.Stage{Stage: st, Overlap: []analyzer.OverlapRow{}, Fuse: []analyzer.FuseRow{}}
		var total float64
		for i := 0; i < nKernels; i++ {
			total += float64(nKernels-i) * 10
		}
		s.GPUTimeUS, s.BusyTimeUS = total, total*0.9
		for i := 0; i < nKernels; i++ {
			t := float64(nKernels-i) * 10
			k := analyzer.KernelRow{
				Name: fmt.Sprintf("%s_kernel_%02d<bf16>", prefix, i), Category: "gemm",
				GPUTimeUS: t, SharePct: 100 * t / total, Launches: 4 * (i + 1), MaxUS: t / 2,
			}
			for j := 0; j < nSites; j++ {
				var stack []string
				for f := 0; f < depth; f++ {
					stack = append(stack, fmt.Sprintf("python/sglang/srt/layers/mod%d.py:%d forward_%d", f, 10+f, f))
				}
				k.Sites = append(k.Sites, analyzer.Site{
					Path: fmt.Sprintf("python/sglang/srt/layers/layer%d.py", j), Line: 100 + i,
					Function: "forward_cuda", SharePct: 100 / float64(nSites), Launches: 4 * (i + 1) / nSites,
					CPUOp: "aten::mm", Stack: stack, Attribution: analyzer.AttrExternalID,
				})
			}
			s.Kernels = append(s.Kernels, k)
		}
		for i := 0; i < min(3, nKernels); i++ {
			s.Overlap = append(s.Overlap, analyzer.OverlapRow{Priority: "P1", Verdict: "headroom", Kernel: s.Kernels[i].Name, Category: "communication",
				Scope: "python/sglang/srt/distributed/parallel_state.py:520 _all_reduce_out_place", GPUTimeUS: 30, SharePct: 3, ExclusivePct: 60, HiddenPct: 40, DepRisk: "low", Recommendation: "try overlap"})
			s.Fuse = append(s.Fuse, analyzer.FuseRow{Pattern: fmt.Sprintf("pattern %d", i), Confidence: "Confirmed", GPUTimeUS: 20, SharePct: 2,
				Evidence: []analyzer.Evidence{{Kernel: s.Kernels[i].Name, SharePct: 2}}, CurrentLocations: []string{"python/sglang/srt/layers/layernorm.py:177 forward_cuda"},
				CandidatePaths: []string{"python/sglang/srt/layers/layernorm.py"}, Rationale: "fused kernel exists"})
		}
		d.Stages = append(d.Stages, s)
	}
	return d
}
