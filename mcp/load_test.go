package mcp

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/internal/testutil"
)

// httpClients starts n MCP clients on the server's streamable HTTP
// transport, served by httptest on 127.0.0.1.
func httpClients(t testing.TB, srv *Server, n int) []*client.Client {
	t.Helper()
	ts := httptest.NewServer(srv.HTTPHandler())
	t.Cleanup(ts.Close)
	var cls []*client.Client
	for i := 0; i < n; i++ {
		cl, err := client.NewStreamableHttpClient(ts.URL + "/mcp")
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := cl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		req := mcp.InitializeRequest{}
		req.Params.ProtocolVersion = testProtocolVersion
		req.Params.ClientInfo = mcp.Implementation{Name: "load", Version: "1"}
		if _, err := cl.Initialize(ctx, req); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		cls = append(cls, cl)
	}
	return cls
}

// heapSampler records the peak live heap (measured after a collection)
// while a load runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for {
			if live := heapNow(); live > h.peak.Load() {
				h.peak.Store(live)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// heapNow returns the live heap: HeapAlloc right after a collection.
func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// callsAllowance is the memory of 50 calls in flight, both ends of the
// connection counted (this process is the server and its clients):
// request and response JSON, schema validation, trimmed copies. 50 warm
// calls measured about 16 MB; the allowance is 0.5 MB a call.
const callsAllowance = 50 << 19

// fireConcurrently makes n analyze_trace calls at once over the clients,
// the i-th on traces[i%len(traces)], and returns the tool or protocol
// errors.
func fireConcurrently(cls []*client.Client, n int, traces []string) []string {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []string
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			req := mcp.CallToolRequest{}
			req.Params.Name = "analyze_trace"
			req.Params.Arguments = map[string]any{"input": traces[i%len(traces)]}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			res, err := cls[i%len(cls)].CallTool(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Sprintf("call %d: %v", i, err))
			case res.IsError:
				errs = append(errs, fmt.Sprintf("call %d: %s", i, resultText(res)))
			}
		}(i)
	}
	close(start)
	wg.Wait()
	return errs
}

// TestLoadHTTPFiftyConcurrent: 50 concurrent analyze_trace calls over HTTP,
// on one trace and on ten, with documents large enough (15 MB) that an
// unbounded cache would show: no errors, one analysis per trace, and the
// live heap within the cache budget plus the documents being analysed and
// answered.
func TestLoadHTTPFiftyConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	var names []string
	files := map[string]*analyzer.Document{}
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("t%d.json.gz", i)
		files[name] = nil
		names = append(names, name)
	}
	gen := func(name string) *analyzer.Document {
		return makeDoc(strings.TrimSuffix(name, ".json.gz"), []string{"extend", "decode"}, 2500, 4, 8)
	}
	one := estimateDocSize(gen(names[0]))
	budget := 3 * one
	e := newTestEnv(t, files, func(c *Config) { c.CacheBytes = budget })
	e.engine.gen = gen
	e.engine.delay = 20 * time.Millisecond
	cls := httpClients(t, e.srv, 10)

	// The fake engine builds a fresh document per analysis, so what stays
	// live is what the cache keeps plus the calls in flight.
	base := heapNow()
	h := sampleHeap()
	if errs := fireConcurrently(cls, 50, names[:1]); len(errs) > 0 {
		t.Fatalf("same trace: %d errors, first: %s", len(errs), errs[0])
	}
	if n := e.engine.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent calls on one trace ran %d analyses, want 1", n)
	}
	if errs := fireConcurrently(cls, 50, names); len(errs) > 0 {
		t.Fatalf("ten traces: %d errors, first: %s", len(errs), errs[0])
	}
	peak := h.finish()
	st := e.srv.cache.stats()
	if st.Bytes > st.Budget {
		t.Fatalf("cache holds %d bytes, over its budget %d", st.Bytes, st.Budget)
	}
	grow := int64(peak) - int64(base)
	// Beyond the cache: the document being analysed (the "one trace"), the
	// one just answered, which its waiters may still be trimming after the
	// cache evicted it, and the calls in flight.
	limit := budget + 2*one + callsAllowance
	t.Logf("one document ≈ %.1f MB, budget %.1f MB; peak heap growth %.1f MB; cache %d entries, %.1f MB; analyses %d",
		float64(one)/1e6, float64(budget)/1e6, float64(grow)/1e6, st.Entries, float64(st.Bytes)/1e6, st.Analyses)
	if grow > limit {
		t.Fatalf("peak heap grew %d bytes, over the cache budget plus two documents plus the calls in flight (%d)", grow, limit)
	}
}

// realTraces returns the llm-serving traces from ../shared and the largest
// uncompressed size among them, skipping while the engine is not built.
func realTraces(t testing.TB) ([]string, int64) {
	dir := filepath.Join(testutil.SharedDir(t), "traces", "llm-serving")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var largest int64
	for _, e := range ents {
		if !strings.Contains(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		paths = append(paths, p)
		if n := uncompressedSize(t, p); n > largest {
			largest = n
		}
	}
	if _, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: paths[0]}); errors.Is(err, analyzer.ErrNotImplemented) {
		t.Skip("the analysis engine of this build is not built yet")
	}
	return paths, largest
}

func uncompressedSize(t testing.TB, p string) int64 {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLoadHTTPRealTraces: 50 concurrent analyze_trace calls over HTTP with
// the real engine, on one real trace and on all of ../shared's
// llm-serving traces: no errors, and the live heap within the cache budget
// plus the largest trace (uncompressed).
func TestLoadHTTPRealTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	traces, largest := realTraces(t)
	// A budget of a few documents, so that the cache evicts.
	const budget = 96 << 10
	srv, err := New(Config{Roots: []string{filepath.Dir(traces[0])}, CacheBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	cls := httpClients(t, srv, 10)
	base := heapNow()
	h := sampleHeap()
	if errs := fireConcurrently(cls, 50, traces[:1]); len(errs) > 0 {
		t.Fatalf("same trace: %d errors, first: %s", len(errs), errs[0])
	}
	if errs := fireConcurrently(cls, 50, traces); len(errs) > 0 {
		t.Fatalf("%d traces: %d errors, first: %s", len(traces), len(errs), errs[0])
	}
	peak := h.finish()
	st := srv.cache.stats()
	grow := int64(peak) - int64(base)
	t.Logf("%d traces, largest %.1f MB uncompressed; peak heap growth %.1f MB; cache %d entries, %.3f MB of %.3f MB; analyses %d",
		len(traces), float64(largest)/1e6, float64(grow)/1e6, st.Entries, float64(st.Bytes)/1e6, float64(budget)/1e6, st.Analyses)
	if st.Bytes > st.Budget {
		t.Errorf("cache holds %d bytes, over its budget %d", st.Bytes, st.Budget)
	}
	// One analysis per trace, plus the first trace again if the cache
	// evicted it before its second round of calls.
	if st.Analyses > int64(len(traces))+1 {
		t.Errorf("%d analyses for %d traces: the cache or single flight failed", st.Analyses, len(traces))
	}
	if limit := int64(budget) + largest + callsAllowance; grow > limit {
		t.Fatalf("peak heap grew %d bytes, over the cache budget plus the largest trace plus the calls in flight (%d)", grow, limit)
	}
}

// BenchmarkWarmAnalyzeTrace measures analyze_trace on a cached trace, over
// the in-process transport and over streamable HTTP on loopback, and
// reports the median (p50-ms) with the mean.
func BenchmarkWarmAnalyzeTrace(b *testing.B) {
	doc := makeDoc("w", []string{"extend", "decode"}, 300, 3, 12)
	for _, transport := range []string{"inprocess", "http"} {
		b.Run("synthetic-"+transport, func(b *testing.B) {
			benchWarm(b, transport, map[string]*analyzer.Document{"w.json.gz": doc}, "w.json.gz", nil)
		})
	}
	if traces, _ := realTracesOrNil(b); traces != nil {
		for _, transport := range []string{"inprocess", "http"} {
			b.Run("real-"+transport, func(b *testing.B) {
				benchWarm(b, transport, nil, traces[0], &Config{Roots: []string{filepath.Dir(traces[0])}})
			})
		}
	}
}

func realTracesOrNil(b *testing.B) (traces []string, ok bool) {
	dir := os.Getenv("TRACETRIAGE_SHARED")
	if dir == "" {
		dir = filepath.Join(testutil.ModuleRoot(), "..", "shared")
	}
	p := filepath.Join(dir, filepath.FromSlash(e2eTrace))
	if _, err := os.Stat(p); err != nil {
		return nil, false
	}
	if _, err := analyzer.Analyze(context.Background(), analyzer.Options{Input: p}); err != nil {
		return nil, false
	}
	return []string{p}, true
}

func benchWarm(b *testing.B, transport string, docs map[string]*analyzer.Document, input string, cfg *Config) {
	var srv *Server
	if cfg == nil {
		e := newTestEnv(b, docs, nil)
		srv = e.srv
		input = filepath.Join(e.root, input)
	} else {
		var err error
		if srv, err = New(*cfg); err != nil {
			b.Fatal(err)
		}
	}
	var cl *client.Client
	if transport == "http" {
		cl = httpClients(b, srv, 1)[0]
	} else {
		cl = startClient(b, srv)
	}
	args := map[string]any{"input": input}
	if res := callTool(b, cl, "analyze_trace", args); res.IsError { // warm the cache
		b.Fatal(resultText(res))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res := callTool(b, cl, "analyze_trace", args)
		lat = append(lat, time.Since(t0))
		if res.IsError {
			b.Fatal(resultText(res))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// TestAnalyzeTraceRealAnswerSize: with the defaults, the answer of
// analyze_trace on every real llm-serving trace stays well under 20k
// tokens (about 4 bytes a token), structured and text content together.
func TestAnalyzeTraceRealAnswerSize(t *testing.T) {
	if testing.Short() {
		t.Skip("reads every real trace; skipped in -short mode")
	}
	traces, _ := realTraces(t)
	srv, err := New(Config{Roots: []string{filepath.Dir(traces[0])}})
	if err != nil {
		t.Fatal(err)
	}
	cl := startClient(t, srv)
	for _, p := range traces {
		res := callTool(t, cl, "analyze_trace", map[string]any{"input": p})
		if res.IsError {
			t.Errorf("%s: %s", filepath.Base(p), resultText(res))
			continue
		}
		sc, _ := json.Marshal(res.StructuredContent)
		size := len(sc) + len(resultText(res))
		t.Logf("%s: %d bytes (~%d tokens)", filepath.Base(p), size, size/4)
		if size/4 > 12000 {
			t.Errorf("%s: default answer is about %d tokens, want well under 20k", filepath.Base(p), size/4)
		}
	}
}

// TestAnalyzeTraceTimeline: the timeline comes only when asked for, from
// the same cached analysis.
func TestAnalyzeTraceTimeline(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a real trace; skipped in -short mode")
	}
	p := testutil.SharedFile(t, "traces/distributed/hta_sampled_rank-0.json.gz")
	srv, err := New(Config{Roots: []string{filepath.Dir(p)}})
	if err != nil {
		t.Fatal(err)
	}
	cl := startClient(t, srv)
	plain := decode[AnalyzeTraceOutput](t, callTool(t, cl, "analyze_trace", map[string]any{"input": p}))
	res := callTool(t, cl, "analyze_trace", map[string]any{"input": p, "timeline": true})
	with := decode[AnalyzeTraceOutput](t, res)
	if !with.Cached {
		t.Error("the timeline call did not reuse the cached analysis")
	}
	for _, st := range plain.Stages {
		if st.Timeline != nil {
			t.Errorf("%s: timeline returned without being asked for", st.Stage)
		}
	}
	if len(with.Stages) == 0 || with.Stages[0].Timeline == nil || len(with.Stages[0].Timeline.Streams) == 0 {
		t.Fatalf("no timeline in %+v", with.Stages)
	}
	if !strings.Contains(resultText(res), "legend:") {
		t.Errorf("markdown lacks the timeline:\n%s", resultText(res))
	}
}

// A trace cut short is an error that points to partial; with partial: true
// the real engine analyses its complete events and warns where it ends.
func TestAnalyzeTracePartial(t *testing.T) {
	gz, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(), "testdata", "sglang-decode-small.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "cut.json.gz")
	if err := os.WriteFile(p, gz[:len(gz)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	cl := startClient(t, srv)
	wantError(t, callTool(t, cl, "analyze_trace", map[string]any{"input": p}), "the gzip stream ends early", "partial: true")
	out := decode[AnalyzeTraceOutput](t, callTool(t, cl, "analyze_trace", map[string]any{"input": p, "partial": true}))
	if out.Cached {
		t.Error("the partial analysis was served from the cache of the failed one")
	}
	if w := strings.Join(out.Warnings, "\n"); !strings.Contains(w, "cut.json.gz: truncated: the gzip stream ends early") || !strings.Contains(w, "the tables cover only the") {
		t.Errorf("warnings %q", w)
	}
	if len(out.Stages) == 0 || len(out.Stages[0].Kernels) == 0 {
		t.Errorf("no kernels in the partial analysis: %+v", out.Stages)
	}
}

// analyze_trace's Markdown gives each stage's busy and idle shares, with
// the host's part, from the real engine on the eager PyTorch trace.
func TestAnalyzeTraceIdleSummary(t *testing.T) {
	p := filepath.Join(testutil.ModuleRoot(), "testdata", "torch-eager.json.gz")
	srv, err := New(Config{Roots: []string{filepath.Dir(p)}})
	if err != nil {
		t.Fatal(err)
	}
	res := callTool(t, startClient(t, srv), "analyze_trace", map[string]any{"input": p, "stage": "decode"})
	txt := resultText(res)
	for _, want := range []string{"GPU busy ", "waiting for the host to launch (most before launches from capture_torch_trace.py:"} {
		if !strings.Contains(txt, want) {
			t.Errorf("markdown lacks %q:\n%s", want, txt)
		}
	}
}

// compare_traces shows what CUDA graphs change beyond kernel times: on the
// eager and the CUDA-graph PyTorch traces of testdata, the decode GPU's
// waits for the host drop from most of the span to a few percent.
func TestCompareTracesHostWaits(t *testing.T) {
	dir := filepath.Join(testutil.ModuleRoot(), "testdata")
	srv, err := New(Config{Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	res := callTool(t, startClient(t, srv), "compare_traces", map[string]any{
		"before": filepath.Join(dir, "torch-eager.json.gz"), "after": filepath.Join(dir, "torch-cudagraph-replay.json.gz"), "stage": "decode"})
	out := decode[CompareTracesOutput](t, res)
	if len(out.Stages) != 1 {
		t.Fatalf("stages %+v", out.Stages)
	}
	st := out.Stages[0]
	if st.BeforeIdleHostPct < 80 || st.AfterIdleHostPct > 10 || st.BeforeSpanUS <= st.AfterSpanUS {
		t.Errorf("host waits %.1f%% -> %.1f%%, span %.0f -> %.0f us", st.BeforeIdleHostPct, st.AfterIdleHostPct, st.BeforeSpanUS, st.AfterSpanUS)
	}
	if txt := resultText(res); !strings.Contains(txt, "GPU idle waiting for the host: ") {
		t.Errorf("markdown:\n%s", txt)
	}
}
