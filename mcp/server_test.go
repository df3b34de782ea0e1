package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tracetriage/tracetriage/analyzer"
	"github.com/tracetriage/tracetriage/analyzer/trace"
)

var update = flag.Bool("update", false, "rewrite the tool-schema snapshots in __toolsnaps__")

func updateSnaps() bool { return *update || os.Getenv("UPDATE_TOOLSNAPS") != "" }

// wantTools is the registration order clients see.
var wantTools = []string{"analyze_trace", "kernel_sites", "compare_traces", "capture_trace", "probe_server", "render_bundle", "check_ci_runner_labels"}

func TestToolsListOrderAndAnnotations(t *testing.T) {
	e := newTestEnv(t, nil, nil)
	res, err := e.cl.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		a := tool.Annotations
		if tool.OutputSchema.Type != "object" {
			t.Errorf("%s: no object output schema", tool.Name)
		}
		if tool.Name == "capture_trace" {
			// It makes the server write new trace files and reaches a
			// network service; it overwrites nothing.
			if *a.ReadOnlyHint || *a.DestructiveHint || *a.IdempotentHint || !*a.OpenWorldHint {
				t.Errorf("%s: annotations %+v, want not read-only, non-destructive, not idempotent, open-world", tool.Name, a)
			}
			continue
		}
		if tool.Name == "probe_server" {
			// It changes nothing but reaches a network service, and each
			// call sends new requests.
			if !*a.ReadOnlyHint || *a.DestructiveHint || *a.IdempotentHint || !*a.OpenWorldHint {
				t.Errorf("%s: annotations %+v, want read-only, non-destructive, not idempotent, open-world", tool.Name, a)
			}
			continue
		}
		if a.ReadOnlyHint == nil || !*a.ReadOnlyHint || *a.DestructiveHint || !*a.IdempotentHint || *a.OpenWorldHint {
			t.Errorf("%s: annotations %+v, want read-only, non-destructive, idempotent, closed-world", tool.Name, a)
		}
	}
	// mcp-go lists tools sorted by name; registration follows wantTools.
	sorted := slices.Sorted(slices.Values(wantTools))
	if !slices.Equal(names, sorted) {
		t.Fatalf("tools %v, want %v", names, sorted)
	}
	var registered []string
	for _, st := range e.srv.tools() {
		registered = append(registered, st.Tool.Name)
	}
	if !slices.Equal(registered, wantTools) {
		t.Fatalf("registration order %v, want %v", registered, wantTools)
	}
}

// TestToolSnapshots pins each tool's name, description, annotations and
// schemas. Run with -update (or UPDATE_TOOLSNAPS=1) after a deliberate
// change and review the diff.
func TestToolSnapshots(t *testing.T) {
	srv, err := New(Config{Roots: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range srv.tools() {
		got, err := json.MarshalIndent(st.Tool, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("__toolsnaps__", st.Tool.Name+".json")
		if updateSnaps() {
			if err := os.MkdirAll("__toolsnaps__", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./mcp -run TestToolSnapshots -update to create it)", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed; if deliberate, run go test ./mcp -run TestToolSnapshots -update and review the diff.\ngot:\n%s", path, got)
		}
	}
}

func TestAnalyzeTraceTrimsAndKeepsTotals(t *testing.T) {
	doc := makeDoc("a", []string{"extend", "decode"}, 30, 4, 12)
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": doc}, nil)

	res := e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz", "top_k": 5})
	out := decode[AnalyzeTraceOutput](t, res)
	if len(out.Stages) != 2 || out.Stages[0].Stage != "extend" || out.Stages[1].Stage != "decode" {
		t.Fatalf("stages %+v", out.Stages)
	}
	st := out.Stages[1]
	if len(st.Kernels) != 5 || st.Kernels[0].Name != doc.Stages[1].Kernels[0].Name {
		t.Fatalf("want the 5 hottest kernels, got %d starting %q", len(st.Kernels), st.Kernels[0].Name)
	}
	if st.GPUTimeUS != doc.Stages[1].GPUTimeUS {
		t.Errorf("stage total %v, want the untrimmed %v", st.GPUTimeUS, doc.Stages[1].GPUTimeUS)
	}
	if n := len(st.Kernels[0].Sites); n != defaultMaxSites {
		t.Errorf("sites per kernel %d, want %d", n, defaultMaxSites)
	}
	if n := len(st.Kernels[0].Sites[0].Stack); n != maxStackFrames {
		t.Errorf("stack frames %d, want %d", n, maxStackFrames)
	}
	if got, want := st.Kernels[0].Sites[0].Stack[maxStackFrames-1], doc.Stages[1].Kernels[0].Sites[0].Stack[11]; got != want {
		t.Errorf("innermost frame %q, want %q", got, want)
	}
	tot := out.Totals[1]
	var shown, all float64
	for i, k := range doc.Stages[1].Kernels {
		all += k.GPUTimeUS
		if i < 5 {
			shown += k.GPUTimeUS
		}
	}
	if tot.Kernels != 30 || tot.KernelsShown != 5 || tot.SitesTrimmed != 5*2 || tot.OmittedTimeUS != round2(all-shown) {
		t.Errorf("totals %+v", tot)
	}
	if want := round2(100 * shown / doc.Stages[1].GPUTimeUS); tot.ShownSharePct != want {
		t.Errorf("shown share %v, want %v", tot.ShownSharePct, want)
	}
	// The cached document is not modified by trimming.
	if len(doc.Stages[1].Kernels) != 30 || len(doc.Stages[1].Kernels[0].Sites) != 4 || len(doc.Stages[1].Kernels[0].Sites[0].Stack) != 12 {
		t.Fatal("trimming modified the engine's document")
	}
	txt := resultText(res)
	for _, want := range []string{"### decode", "| kernel |", "a_kernel_00", "python/sglang/srt/layers/layer0.py:100", "fuse [Confirmed] pattern 0"} {
		if !strings.Contains(txt, want) {
			t.Errorf("markdown lacks %q:\n%s", want, txt)
		}
	}
}

func TestAnalyzeTraceSelection(t *testing.T) {
	doc := makeDoc("a", []string{"extend", "decode"}, 8, 1, 2)
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": doc}, nil)
	out := decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{
		"input": "a.json.gz", "stage": "prefill", "tables": []string{"fuse"}, "framework": "SGLang",
	}))
	if len(out.Stages) != 1 || out.Stages[0].Stage != "extend" {
		t.Fatalf("stage prefill should select extend, got %+v", out.Stages)
	}
	if len(out.Stages[0].Kernels) != 0 || len(out.Stages[0].Overlap) != 0 || len(out.Stages[0].Fuse) != 3 {
		t.Fatalf("tables=[fuse]: got %d kernels, %d overlap, %d fuse", len(out.Stages[0].Kernels), len(out.Stages[0].Overlap), len(out.Stages[0].Fuse))
	}
	if got := e.engine.lastOpts.Load().Framework; got != "sglang" {
		t.Errorf("framework passed to the engine %q, want sglang", got)
	}
}

func TestAnalyzeTraceMappingFormal(t *testing.T) {
	doc := makeDoc("f", []string{"decode"}, 3, 1, 1)
	e := newTestEnv(t, map[string]*analyzer.Document{"f.json.gz": doc, "m.json.gz": doc}, nil)
	out := decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"mapping_input": "m.json.gz", "formal_input": "f.json.gz"}))
	if len(out.Stages) != 1 {
		t.Fatalf("stages %+v", out.Stages)
	}
	o := e.engine.lastOpts.Load()
	if o.Input != "" || filepath.Base(o.MappingInput) != "m.json.gz" || filepath.Base(o.FormalInput) != "f.json.gz" {
		t.Errorf("options %+v", o)
	}
}

// TestAnalyzeTraceDefaultSizeBudget checks that a large analysis, with the
// defaults, answers well under 20k tokens (about 4 bytes a token).
func TestAnalyzeTraceDefaultSizeBudget(t *testing.T) {
	doc := makeDoc("big", []string{"extend", "decode", "all"}, 400, 12, 40)
	for i := range doc.Stages {
		for j := 0; j < 40; j++ {
			doc.Stages[i].Overlap = append(doc.Stages[i].Overlap, doc.Stages[i].Overlap[0])
			doc.Stages[i].Fuse = append(doc.Stages[i].Fuse, doc.Stages[i].Fuse[0])
		}
	}
	e := newTestEnv(t, map[string]*analyzer.Document{"big.json.gz": doc}, nil)
	res := e.call(t, "analyze_trace", map[string]any{"input": "big.json.gz"})
	sc, _ := json.Marshal(res.StructuredContent)
	size := len(sc) + len(resultText(res))
	if tokens := size / 4; tokens > 12000 {
		t.Fatalf("default answer is about %d tokens (%d bytes), want well under 20k", tokens, size)
	}
	t.Logf("default answer on a 3×400-kernel document: %d bytes (~%d tokens)", size, size/4)
}

func TestAnalyzeTraceArgumentErrors(t *testing.T) {
	doc := makeDoc("a", []string{"decode"}, 3, 1, 1)
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": doc}, nil)
	cases := []struct {
		name string
		args map[string]any
		want []string
	}{
		{"no trace", map[string]any{}, []string{"no trace given", e.srv.roots.operator[0]}},
		{"both modes", map[string]any{"input": "a.json.gz", "formal_input": "a.json.gz"}, []string{"either input"}},
		{"half pair", map[string]any{"mapping_input": "a.json.gz"}, []string{"both mapping_input and formal_input"}},
		{"framework", map[string]any{"input": "a.json.gz", "framework": "tgi"}, []string{"framework", "sglang"}},
		{"stage", map[string]any{"input": "a.json.gz", "stage": "warmup"}, []string{"stage", "decode"}},
		{"absent stage", map[string]any{"input": "a.json.gz", "stage": "extend"}, []string{"no extend stage", "decode"}},
		{"table", map[string]any{"input": "a.json.gz", "tables": []string{"timeline"}}, []string{"table", "kernels"}},
		{"top_k negative", map[string]any{"input": "a.json.gz", "top_k": -1}, []string{"top_k"}},
		{"top_k huge", map[string]any{"input": "a.json.gz", "top_k": 5000}, []string{"top_k", "200"}},
		{"unknown argument", map[string]any{"input": "a.json.gz", "topk": 3}, []string{"topk"}},
		{"wrong type", map[string]any{"input": 3}, []string{"input"}},
		{"missing file", map[string]any{"input": "nope.json.gz"}, []string{"does not exist", e.srv.roots.operator[0]}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(t, "analyze_trace", c.args), c.want...)
		})
	}
}

func TestAnalyzeTraceEngineErrors(t *testing.T) {
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": makeDoc("a", []string{"decode"}, 1, 1, 1)}, nil)
	e.engine.err = analyzer.ErrNotImplemented
	wantError(t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}), "cannot analyse traces yet")

	e.engine.err = errors.New("invalid JSON at byte 12")
	wantError(t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}), "analyze_trace failed", "invalid JSON at byte 12", "a.json.gz")

	// An error that names the trace already is not wrapped again.
	p := filepath.Join(e.srv.roots.operator[0], "a.json.gz")
	e.engine.err = fmt.Errorf("load %s: %w: it starts with \"#\"", p, trace.ErrNotTrace)
	res := e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"})
	wantError(t, res, e.engine.err.Error(), "Kineto")
	if n := strings.Count(resultText(res), p); n != 1 {
		t.Errorf("the path appears %d times in %q", n, resultText(res))
	}

	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("load a.json.gz: %w at byte offset 7", trace.ErrInvalidJSON), "damaged or still being written"},
		{fmt.Errorf("load a.json.gz: gzip: %w", trace.ErrTruncated), "partial: true"},
		{fmt.Errorf("load a.json.gz: %w", trace.ErrNotTrace), "Kineto"},
		{fmt.Errorf("discover dir: %w", trace.ErrNoTraces), ".json.gz traces"},
	} {
		e.engine.err = c.err
		wantError(t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}), c.err.Error(), c.want)
	}

	e.engine.err = nil
	e.engine.panicMsg = "index out of range"
	wantError(t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}), "crashed", "index out of range", "report")

	// Errors are not cached: once the engine works the trace analyses.
	e.engine.panicMsg = ""
	decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}))
}

func TestCacheSecondCallIsHit(t *testing.T) {
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": makeDoc("a", []string{"decode"}, 5, 1, 1)}, nil)
	first := decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}))
	second := decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": filepath.Join(e.root, "a.json.gz"), "top_k": 2}))
	decode[KernelSitesOutput](t, e.call(t, "kernel_sites", map[string]any{"input": "a.json.gz", "kernel": "kernel_01"}))
	if first.Cached || !second.Cached {
		t.Errorf("cached flags %v, %v; want false, true", first.Cached, second.Cached)
	}
	if n := e.engine.calls.Load(); n != 1 {
		t.Fatalf("engine called %d times, want 1", n)
	}
	// A changed file (new size and mtime) is analysed again.
	p := filepath.Join(e.root, "a.json.gz")
	if err := os.WriteFile(p, []byte(`{"traceEvents":[ ]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(p, future, future)
	decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz"}))
	if n := e.engine.calls.Load(); n != 2 {
		t.Fatalf("engine called %d times after the file changed, want 2", n)
	}
	// Another framework is another analysis.
	decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz", "framework": "vllm"}))
	if n := e.engine.calls.Load(); n != 3 {
		t.Fatalf("engine called %d times for a new framework, want 3", n)
	}
}

func TestCacheSingleFlight(t *testing.T) {
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": makeDoc("a", []string{"decode"}, 5, 1, 1)}, nil)
	e.engine.delay = 200 * time.Millisecond
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := mcp.CallToolRequest{}
			req.Params.Name = "analyze_trace"
			req.Params.Arguments = map[string]any{"input": "a.json.gz"}
			res, err := e.cl.CallTool(context.Background(), req)
			if err != nil {
				errs <- err.Error()
			} else if res.IsError {
				errs <- resultText(res)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if n := e.engine.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent calls analysed the trace %d times, want 1", n)
	}
}

func TestCacheEvictsWithinBudget(t *testing.T) {
	docs := map[string]*analyzer.Document{}
	for _, n := range []string{"a", "b", "c"} {
		docs[n+".json"] = makeDoc(n, []string{"decode"}, 50, 2, 4)
	}
	one := estimateDocSize(docs["a.json"])
	e := newTestEnv(t, docs, func(c *Config) { c.CacheBytes = 2*one + one/2 })
	for _, n := range []string{"a", "b", "c", "a"} {
		decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": n + ".json"}))
	}
	st := e.srv.cache.stats()
	if st.Entries != 2 || st.Bytes > st.Budget {
		t.Fatalf("cache holds %d entries, %d of %d bytes; want 2 within budget", st.Entries, st.Bytes, st.Budget)
	}
	if n := e.engine.calls.Load(); n != 4 {
		t.Fatalf("engine calls %d, want 4 (a was evicted by c)", n)
	}
	// c and a are cached now; b was evicted.
	decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": "c.json"}))
	if n := e.engine.calls.Load(); n != 4 {
		t.Fatalf("c should be cached")
	}
	// A document larger than the whole budget is answered but not kept.
	small := newTestEnv(t, docs, func(c *Config) { c.CacheBytes = one / 2 })
	decode[AnalyzeTraceOutput](t, small.call(t, "analyze_trace", map[string]any{"input": "a.json"}))
	if st := small.srv.cache.stats(); st.Entries != 0 {
		t.Fatalf("an over-budget document was cached")
	}
}

func TestProgressNotifications(t *testing.T) {
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": makeDoc("a", []string{"decode"}, 2, 1, 1)}, nil)
	e.engine.progressSteps = 4
	var mu sync.Mutex
	var got []float64
	e.cl.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if n.Params.AdditionalFields["progressToken"] != "tok-1" {
			t.Errorf("progress token %v", n.Params.AdditionalFields["progressToken"])
		}
		if p, ok := n.Params.AdditionalFields["progress"].(int64); ok {
			got = append(got, float64(p))
		} else if p, ok := n.Params.AdditionalFields["progress"].(float64); ok {
			got = append(got, p)
		}
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "analyze_trace"
	req.Params.Arguments = map[string]any{"input": "a.json.gz"}
	req.Params.Meta = &mcp.Meta{ProgressToken: "tok-1"}
	res, err := e.cl.CallTool(context.Background(), req)
	if err != nil || res.IsError {
		t.Fatalf("call: %v %s", err, resultText(res))
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 4 {
		t.Fatalf("got %d progress notifications %v, want 4", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("progress not increasing: %v", got)
		}
	}
	// Without a token, no progress is sent.
	before := len(got)
	mu.Unlock()
	decode[AnalyzeTraceOutput](t, e.call(t, "analyze_trace", map[string]any{"input": "a.json.gz", "framework": "sglang"}))
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(got) != before {
		t.Fatalf("progress sent without a progress token")
	}
}

func TestCancellationStopsTheAnalysis(t *testing.T) {
	e := newTestEnv(t, map[string]*analyzer.Document{"a.json.gz": makeDoc("a", []string{"decode"}, 2, 1, 1)}, nil)
	stopped := make(chan error, 1)
	e.engine.docs = nil
	e.srv.deps.Analyze = func(ctx context.Context, _ analyzer.Options) (*analyzer.Document, error) {
		<-ctx.Done()
		stopped <- ctx.Err()
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "analyze_trace"
	req.Params.Arguments = map[string]any{"input": "a.json.gz"}
	res, err := e.cl.CallTool(ctx, req)
	if err == nil && !res.IsError {
		t.Fatal("a cancelled call succeeded")
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("engine stopped with %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the engine kept running after the only caller gave up")
	}
}
